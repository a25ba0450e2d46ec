/**
 * Every environment of the shared corpus, exported in every format and imported again: the
 * re-import has the same canonical hash, or the export said what it left out, and what it said
 * covers every field where the re-import differs (checked with `Diff`, which agrees with the hash
 * on what is build-relevant). An export that leaves out nothing build-relevant must give the
 * same hash. The corpus files are imported as corpus.test.ts imports them; those that cannot be
 * imported (a held-out conda file, a constraints file, the curated template values) are checked
 * there.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, layer } from "@effect/vitest"
import { CanonicalHash } from "@terrarium/domain"
import { Effect, Layer, Result } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describeLeftOut, EXPORT_FORMATS, type ExportFormat, exportDefinition, unstatedDifferences } from "../../src/exporters/DefinitionExport.ts"
import { writeExport } from "../../src/exporters/ExportFolder.ts"
import { curatedTemplateValues, type ImportedEnvironment, importEnvironmentFile, parseAzureMLEnvironment } from "../../src/importers/index.ts"
import { corpusEnvironments, corpusRoot as corpus } from "../support/Corpus.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const environments = corpusEnvironments()

const scratch = mkdtempSync(join(tmpdir(), "terrarium-export-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let folders = 0

/** What `environment create` does with each format's entry file. */
const reimport = (format: ExportFormat, out: string, entry: string) =>
  format === "dockerfile"
    // `environment create --name N --dockerfile OUT/Dockerfile`: the Dockerfile's folder is the context.
    ? parseAzureMLEnvironment(join(out, "(command line)"), `build: {path: ${JSON.stringify(out)}, dockerfile_path: ${JSON.stringify(entry)}}\n`)
    : importEnvironmentFile(join(out, entry))

const importCorpusFile = (path: string) =>
  Effect.gen(function*() {
    const file = join(corpus, path)
    const templateValues = path.endsWith("/spec.yaml") ? yield* curatedTemplateValues(file) : undefined
    return yield* importEnvironmentFile(file, { templateValues }).pipe(Effect.result)
  })

layer(localDisk, { timeout: 120_000 })("export: every corpus environment, every format, round trip", (it) => {
  it("walks the corpus", () => assert.isAbove(environments.length, 100))

  for (const path of environments) {
    it.effect(path, () =>
      Effect.gen(function*() {
        const imported = yield* importCorpusFile(path)
        // A v2 file whose conda_file is held out of the corpus cannot import (corpus.test.ts checks why).
        if (Result.isFailure(imported)) {
          assert.strictEqual(imported.failure.field, "conda_file", imported.failure.message)
          return
        }
        const original: ImportedEnvironment = imported.success
        const hash = yield* CanonicalHash.hash(original.definition)
        for (const format of EXPORT_FORMATS) {
          const exported = exportDefinition({ name: original.name ?? "corpus", version: original.version ?? "1", definition: original.definition }, format)
          if (Result.isFailure(exported)) {
            // Only a Dockerfile export of a version whose Dockerfile is in a context it never read.
            const base = original.definition.docker.base
            assert.strictEqual(format, "dockerfile")
            assert.isTrue(base.kind === "dockerfile" && base.dockerfile === undefined, exported.failure)
            continue
          }
          const out = join(scratch, String(folders++))
          yield* writeExport(out, exported.success)
          const again = yield* reimport(format, out, exported.success.entry)
          const leftOut = exported.success.leftOut
          const statement = describeLeftOut(leftOut).join("\n")
          assert.deepStrictEqual(
            unstatedDifferences(original.definition, again.definition, leftOut),
            [],
            `${format}: these fields differ after the round trip, and the export did not say it left them out:\n${statement}`
          )
          const hashAgain = yield* CanonicalHash.hash(again.definition)
          if (!leftOut.some((o) => o.buildRelevant)) assert.strictEqual(hashAgain, hash, `${format}: nothing build-relevant left out, same hash`)
          else assert.notStrictEqual(hashAgain, hash, `${format}: the export says it left out ${statement}, yet the hash is the same`)
        }
      }))
  }
})
