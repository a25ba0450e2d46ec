/**
 * The library's image calls: `build(ref)` resolving with the `ImageBuilt` summary (and the log
 * lines through `onLog`), the cache on a second call, `image(ref)`, and `buildLogs(ref)` as an
 * async iterable. The builder is the in-memory one (`TERRARIUM_IMAGE_BUILDER=memory`): the real
 * engine is exercised by test/cli-images.e2e.test.ts.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { createTerrarium, type TerrariumClient } from "../packages/app/src/index.ts"
import { tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-library-images-")
let t: TerrariumClient

describe("the library's image calls", () => {
  beforeAll(async () => {
    process.env["TERRARIUM_HOME"] = home.path
    process.env["TERRARIUM_IMAGE_BUILDER"] = "memory"
    t = await createTerrarium({ dataDir: "memory://" })
    await t.create({ name: "lib", definition: { python: { conda: { pip: ["demo-a"] } } } })
  }, 60_000)
  afterAll(async () => {
    await t?.close()
    home.remove()
  })

  it("build resolves with the ImageBuilt summary, then answers from the cache; image and buildLogs read it back", { timeout: 60_000 }, async () => {
    const lines: Array<string> = []
    const built = await t.build("lib:1", { onLog: (line) => lines.push(line) })
    assert.strictEqual(built.outcome, "built")
    assert.match(built.image, /^terrarium\/env:[0-9a-f]{16}$/)
    assert.isAbove(lines.length, 0)
    const again = await t.build("lib:1")
    assert.strictEqual(again.outcome, "cached")
    assert.strictEqual(again.built.imageId, built.built.imageId)
    assert.strictEqual((await t.image("lib:1")).status, "built")
    const logged: Array<string> = []
    for await (const line of await t.buildLogs("lib:1", { follow: true })) logged.push(line)
    assert.match(logged[0]!, /^build .* \(first\)$/)
    const refused = await t.build("lib:1", { noCache: "yes" } as never).then(() => undefined, (e: unknown) => e as Error)
    assert.match(String(refused?.message), /noCache/)
  })
})
