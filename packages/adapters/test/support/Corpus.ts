/**
 * The shared corpus (`../shared/corpus` beside the repository), as the tests that walk its
 * environments see it: every file that is an environment of a known kind (the azureml-examples
 * files MANIFEST.tsv lists; the curated spec.yaml, conda and requirements files). The other files
 * and the fate of each are corpus.test.ts's.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"

export const corpusRoot = fileURLToPath(new URL("../../../../../shared/corpus/", import.meta.url))

const walk = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]))

/** The environment files of the corpus, as `/`-separated paths relative to it, sorted. */
export const corpusEnvironments = (): Array<string> => {
  const manifest = new Set(
    readFileSync(join(corpusRoot, "azureml-examples/MANIFEST.tsv"), "utf8").trim().split("\n").slice(1)
      .map((line) => `azureml-examples/${line.split("\t")[0]}`)
  )
  return walk(corpusRoot)
    .map((file) => relative(corpusRoot, file).split(sep).join("/"))
    .filter((path) => manifest.has(path) || /^curated\/assets\/.+\/(?:spec\.yaml|context\/conda_dependencies\.yaml|context\/requirements\.txt)$/.test(path))
    .sort()
}
