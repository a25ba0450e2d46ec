/**
 * The generator of the curated catalog (run by `scripts/curated-catalog.ts`; kept here, in the
 * app package, for the libraries it imports). It derives the curated catalog that ships with Terrarium from the curated environments of
 * azureml-assets (the corpus's `curated/` folder: `INDEX.tsv`, each environment's `asset.yaml`,
 * `spec.yaml`, `environment.yaml` and the dependency files of its build context).
 *
 *   node scripts/curated-catalog.ts [CORPUS_CURATED_DIR]         # writes the catalog
 *   node scripts/curated-catalog.ts --check [CORPUS_CURATED_DIR] # fails if it would change
 *
 * The corpus folder defaults to `../shared/corpus/curated` beside the repository. Its output is
 * committed (`packages/app/catalog/curated-catalog.json` and the release marker
 * `packages/app/src/catalog/CuratedRelease.ts`); nothing reads the corpus at run time, and
 * `packages/app/test/CuratedCatalogData.test.ts` checks that the committed files are what this
 * script makes, so they cannot drift from it silently.
 *
 * Versions are added, never rewritten: the catalog keeps every version it ever shipped, and an
 * environment whose derived definition hashes to none of its versions gets the next number.
 * What a curated definition holds, and what it cannot (the Dockerfiles are not in the corpus),
 * is described in docs/curated-catalog.md.
 */
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { parse } from "yaml"
import { curatedTemplateValues, importEnvironmentFile } from "@terrarium/adapters"
import { CanonicalHash, type Definition } from "@terrarium/domain"

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url))
export const catalogFile = join(repoRoot, "packages/app/catalog/curated-catalog.json")
export const releaseFile = join(repoRoot, "packages/app/src/catalog/CuratedRelease.ts")
export const defaultCorpus = join(repoRoot, "../shared/corpus/curated")

/** The name a curated environment has in Terrarium: AzureML's legacy `AzureML-` spelling. */
const curatedName = (assetName: string): string => `AzureML-${assetName}`

export interface CatalogEntry {
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
  readonly definition: Definition
}

export interface CatalogData {
  readonly format: 1
  readonly release: string
  readonly source: { readonly repository: string; readonly commit: string }
  readonly environments: ReadonlyArray<CatalogEntry>
}

interface IndexRow {
  readonly name: string
  readonly specPath: string
  readonly baseImage: string
  readonly dependencyFile: string
}

const readIndex = (corpus: string): ReadonlyArray<IndexRow> => {
  const [header, ...rows] = readFileSync(join(corpus, "INDEX.tsv"), "utf8").split("\n").filter((line) => line.trim() !== "")
  if (header?.split("\t").slice(0, 4).join(",") !== "name,spec_path,base_image,dependency_file_path") {
    throw new Error(`${join(corpus, "INDEX.tsv")}: unexpected columns ${header}`)
  }
  return rows.map((line) => {
    const [name = "", specPath = "", baseImage = "", dependencyFile = ""] = line.split("\t")
    // A constraints file the dependency file refers to (`-c`) is listed after it, after a comma.
    return { name, specPath, baseImage, dependencyFile: dependencyFile.split(",")[0]?.trim() ?? "" }
  })
}

/** The azureml-assets commit the corpus was taken at, from the corpus's README (its table of sources). */
const sourceCommit = (corpus: string): string => {
  const readme = join(corpus, "../README.md")
  const match = existsSync(readme) ? /\|\s*`curated\/`\s*\|\s*([^|]+?)\s*\|\s*`([0-9a-f]{40})`/.exec(readFileSync(readme, "utf8")) : null
  if (match === null) throw new Error(`${readme}: no row for curated/ with a 40-digit commit`)
  return match[2]!
}

/**
 * The image the final stage of the Dockerfile starts `FROM` (INDEX.tsv lists every stage's, in
 * order). azureml-assets writes the tag as `{{latest-image-tag…}}`, which its publishing pipeline
 * resolves to the newest tag when it builds; `latest` is what that means without the pipeline.
 */
export const baseImageOf = (fromLines: string): string => {
  const last = fromLines.split(" ; ").at(-1)?.trim() ?? ""
  return last.replace(/:\{\{latest-image-tag.*\}\}$/, ":latest")
}

const layer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

/** The definition of one curated environment, from its spec.yaml, its dependency file and its base image. */
const deriveDefinition = (corpus: string, row: IndexRow, commit: string) =>
  Effect.gen(function*() {
    const spec = join(corpus, row.specPath)
    const templateValues = yield* curatedTemplateValues(spec)
    const described = yield* importEnvironmentFile(spec, { templateValues })
    const python = row.dependencyFile === ""
      ? described.definition.python
      : (yield* importEnvironmentFile(join(corpus, row.dependencyFile))).definition.python
    const published = (parse(readFileSync(join(dirname(spec), "environment.yaml"), "utf8")) as { image: { name: string } }).image.name
    const definition: Definition = {
      ...described.definition,
      python: { ...python, userManagedDependencies: false },
      docker: { ...described.definition.docker, base: { kind: "image", image: baseImageOf(row.baseImage) } },
      properties: {
        ...described.definition.properties,
        "azureml.assets.commit": commit,
        "azureml.assets.spec": row.specPath,
        "azureml.assets.dockerfile-from": row.baseImage,
        "azureml.assets.published-image": `mcr.microsoft.com/${published}`
      }
    }
    const canonicalHash = yield* CanonicalHash.hash(definition)
    return { name: curatedName(row.name), definition, canonicalHash }
  })

/**
 * The catalog for the corpus, given the catalog shipped before (whose versions it keeps).
 */
export const generateCatalog = (corpus: string, previous: CatalogData | undefined): Promise<CatalogData> =>
  Effect.runPromise(Effect.gen(function*() {
    const commit = sourceCommit(corpus)
    const derived = yield* Effect.forEach(readIndex(corpus), (row) => deriveDefinition(corpus, row, commit))
    // The versions shipped before stay as they are; only their hashes are computed again, under the
    // current hash algorithm (a hash means nothing outside its algorithm: docs/canonical-hash.md).
    const environments: Array<CatalogEntry> = yield* Effect.forEach(previous?.environments ?? [], (entry) =>
      Effect.map(CanonicalHash.hash(entry.definition), (canonicalHash) => ({ ...entry, canonicalHash })))
    for (const env of derived) {
      const versions = environments.filter((e) => e.name === env.name)
      if (versions.some((v) => v.canonicalHash === env.canonicalHash)) continue
      const next = versions.reduce((max, v) => Math.max(max, Number(v.version)), 0) + 1
      environments.push({ name: env.name, version: String(next), canonicalHash: env.canonicalHash, definition: env.definition })
    }
    environments.sort((a, b) => a.name.localeCompare(b.name, "en") || Number(a.version) - Number(b.version))
    return {
      format: 1,
      release: `azureml-assets-${commit.slice(0, 12)}`,
      source: { repository: "github.com/Azure/azureml-assets", commit },
      environments
    } satisfies CatalogData
  }).pipe(Effect.provide(layer)))

export const catalogText = (catalog: CatalogData): string => `${JSON.stringify(catalog, null, 1)}\n`

/** The release marker: the catalog's release and the digest of its file, checked on every start. */
export const releaseText = (catalog: CatalogData): string => {
  const digest = `sha256:${createHash("sha256").update(catalogText(catalog)).digest("hex")}`
  return `/**
 * The release of the curated catalog that ships with this Terrarium (\`packages/app/catalog/\`),
 * written by \`scripts/curated-catalog.ts\` with the catalog: do not edit. Every start compares it
 * with the last release published into the database, and reads the catalog only when they differ.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 @category catalog */
export const CURATED_RELEASE = ${JSON.stringify(catalog.release)}

/** The SHA-256 digest of the catalog file. @since 0.1.0 @category catalog */
export const CURATED_DIGEST = ${JSON.stringify(digest)}

/** How many versions the catalog holds. @since 0.1.0 @category catalog */
export const CURATED_VERSIONS = ${catalog.environments.length}
`
}

export const committedCatalog = (): CatalogData | undefined =>
  existsSync(catalogFile) ? JSON.parse(readFileSync(catalogFile, "utf8")) as CatalogData : undefined

