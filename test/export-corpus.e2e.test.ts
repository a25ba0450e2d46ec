/**
 * The registry's round trip over the whole shared corpus, through the library on the embedded
 * database: each environment file is registered, its version exported in every format, and the
 * export registered again. Where the export leaves out nothing build-relevant, the registry finds
 * the same canonical hash; where it does leave something out, it said so, the hash differs, and
 * every field where the two registered definitions differ is one the export named. (The adapters'
 * `exporters/round-trip.test.ts` checks the same without a registry; this one goes through it.)
 */
import { describeLeftOut, EXPORT_FORMATS, exportDefinition, unstatedDifferences, writeExport } from "@terrarium/adapters"
import { createTerrarium, type TerrariumClient } from "@terrarium/app"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { writeFileSync } from "node:fs"
import { basename, join } from "node:path"
import { corpusEnvironments, corpusRoot as corpus } from "../packages/adapters/test/support/Corpus.ts"
import { tempDir } from "./support/cli.ts"

// The corpus walk of the adapters' tests: the same environment files.
const environments = corpusEnvironments()

describe("export: the corpus through the registry", () => {
  const dir = tempDir("terrarium-export-corpus-")
  let t: TerrariumClient
  beforeAll(async () => {
    t = await createTerrarium({ dataDir: join(dir.path, "data"), actor: "export-test" })
  }, 120_000)
  afterAll(async () => {
    await t.close()
    dir.remove()
  })

  it("walks the corpus", () => assert.isAbove(environments.length, 100))

  it("registers every environment, exports it in every format, and registers the export again", { timeout: 600_000 }, async () => {
    let registered = 0
    let sameHash = 0
    for (const [i, path] of environments.entries()) {
      const name = `corpus-${i}`
      // Curated spec.yaml files name themselves with templates; the name and version are given here.
      const original = await t.createFromFile(join(corpus, path), { name, version: "1" }).catch((error: Error) => error)
      if (original instanceof Error) {
        // Only a v2 file whose conda_file is held out of the corpus (corpus.test.ts checks which).
        assert.match(original.message, /conda_file/, `${path}: ${original.message}`)
        continue
      }
      registered++
      const shown = await t.show(`${name}:1`)
      for (const format of EXPORT_FORMATS) {
        const exported = exportDefinition({ name, version: "1", definition: shown.definition }, format)
        if (Result.isFailure(exported)) {
          assert.strictEqual(format, "dockerfile", exported.failure)
          continue
        }
        const out = join(dir.path, `${i}-${format}`)
        await Effect.runPromise(writeExport(out, exported.success).pipe(Effect.provide(NodeServices.layer)))
        let file = exported.success.entry === "." ? out : join(out, exported.success.entry)
        if (format === "dockerfile") {
          // What `create --dockerfile OUT/Dockerfile` reads: a build whose context is the export folder.
          file = `${out}.yml`
          writeFileSync(file, `build: {path: ${JSON.stringify(basename(out))}, dockerfile_path: Dockerfile}\n`)
        }
        const again = await t.createFromFile(file, { name: `${name}-${format}`, version: "1" })
        const leftOut = exported.success.leftOut
        const statement = describeLeftOut(leftOut).join("\n")
        if (!leftOut.some((o) => o.buildRelevant)) {
          assert.strictEqual(again.canonicalHash, original.canonicalHash, `${path} as ${format}: nothing left out, the same hash`)
          sameHash++
        } else {
          assert.notStrictEqual(again.canonicalHash, original.canonicalHash, `${path} as ${format}: said it left out\n${statement}`)
        }
        const reshown = await t.show(`${name}-${format}:1`)
        assert.deepStrictEqual(
          unstatedDifferences(shown.definition, reshown.definition, leftOut),
          [],
          `${path} as ${format}: these fields differ, and the export did not say it left them out:\n${statement}`
        )
      }
    }
    assert.isAbove(registered, 100)
    assert.isAbove(sameHash, registered, "most exports re-import to the same hash")
  })
})
