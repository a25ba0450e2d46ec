/**
 * `?asOf=` on the API's environment reads answers as the registry was at that point of the log,
 * in every field: an environment is created, tagged, built, given a second version, archived,
 * restored and described again; the list, the environment, its versions, one version and the
 * timeline read at a position (or a time) between two steps show exactly the state of the
 * earlier step. Over PGlite and PostgreSQL, through the client derived from the API.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient, HttpApiMiddleware } from "effect/http-api"
import { NodeServices } from "@effect/platform-node"
import { Database } from "@terrarium/adapters"
import { Authorization, TerrariumApi } from "../../src/http/Api.ts"
import { type ApiServer, startApiServer } from "./ApiServer.ts"

const testDatabaseUrl = process.env["TERRARIUM_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"

const conda = (pkg: string) => `channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - ${pkg}\n`
const WS = "team-a"
const NAME = "timeline"

/** What a past view must show of the environment at one step. */
interface Step {
  readonly position: number
  readonly description: string
  readonly tags: Record<string, string>
  readonly archived: boolean
  readonly latestVersion: string | null
  readonly versionCount: number
  readonly archivedVersionCount: number
  readonly imageStatus: string
  /** The versions (newest first) and whether each was archived then. */
  readonly versions: ReadonlyArray<readonly [string, boolean]>
}

const scenario = (kind: string, options: Parameters<typeof startApiServer>[0]) =>
  describe(`asOf over ${kind}`, () => {
    let s: ApiServer
    beforeAll(async () => {
      s = await startApiServer(options)
    }, 120_000)
    afterAll(async () => {
      await s?.close()
      const schema = options?.databaseSchema
      if (schema !== undefined && options?.databaseUrl !== undefined) {
        await Effect.runPromise(Database.use((db) => db.execute("drop schema", `drop schema if exists "${schema}" cascade`, [])).pipe(
          Effect.provide(Database.layerPostgres({ connectionString: options.databaseUrl, schema }).pipe(Layer.provide(NodeServices.layer))),
          Effect.scoped
        ))
      }
    })

    const client = () =>
      HttpApiClient.make(TerrariumApi, { baseUrl: s.baseUrl }).pipe(
        Effect.provide(Layer.mergeAll(
          FetchHttpClient.layer,
          HttpApiMiddleware.layerClient(Authorization, ({ next, request }) => next(HttpClientRequest.bearerToken(request, s.keyA)))
        ))
      )

    it("the list, the environment, its versions and a version show each field as it was then", () =>
      Effect.runPromise(Effect.gen(function*() {
        const c = yield* client()
        const head = Effect.promise(() => s.head())
        const steps: Array<Step> = []
        const params = { ws: WS, name: NAME }
        const body = (pkg: string, description: string) =>
          ({ properties: { image: "python:3.12-slim", condaFile: conda(pkg), description, tags: { team: "ml" } } })

        // Another environment, never changed after: a past list made backward from today's rows
        // keeps its row as it is (see RegistryAsOf.ts); one created after every step is never in it.
        yield* c.versions.create({ params: { ws: WS, name: "steady" }, payload: body("numpy==2.1.0", "steady") })

        // 1. created: version 1, described and tagged
        yield* c.versions.create({ params, payload: body("requests==2.32.3", "first") })
        const first = { description: "first", tags: { team: "ml" }, archived: false, latestVersion: "1", versionCount: 1, archivedVersionCount: 0 }
        steps.push({ position: yield* head, ...first, imageStatus: "NotBuilt", versions: [["1", false]] })
        const afterCreate = new Date()
        yield* Effect.sleep("20 millis")

        // 2. tagged
        yield* c.environments.update({ params, payload: { properties: { tags: { team: "ml", stage: "dev" } } } })
        const tagged = { ...first, tags: { team: "ml", stage: "dev" } }
        steps.push({ position: yield* head, ...tagged, imageStatus: "NotBuilt", versions: [["1", false]] })

        // 3. built (the memory builder): Building while it ran, Built once it was done
        yield* c.builds.start({ params: { ...params, version: "1" }, query: {} })
        let image = yield* c.builds.image({ params: { ...params, version: "1" } })
        for (let i = 0; i < 200 && image.status !== "Built" && image.status !== "Failed"; i++) {
          yield* Effect.sleep("50 millis")
          image = yield* c.builds.image({ params: { ...params, version: "1" } })
        }
        assert.strictEqual(image.status, "Built")
        const trail = (yield* c.audit.events({ params, query: {} })).value
        const started = trail.find((e) => e.eventType === "BuildStarted")!.position
        steps.push({ position: started, ...tagged, imageStatus: "Building", versions: [["1", false]] })
        steps.push({ position: yield* head, ...tagged, imageStatus: "Built", versions: [["1", false]] })

        // 4. a second version (not built): it is latest
        yield* c.versions.create({ params, payload: body("requests==2.32.4", "second") })
        const second = { ...tagged, description: "second", tags: { team: "ml" }, latestVersion: "2", versionCount: 2 }
        steps.push({ position: yield* head, ...second, imageStatus: "NotBuilt", versions: [["2", false], ["1", false]] })

        // 5. archived: every version with it
        yield* c.environments.archive({ params })
        const archived = { ...second, archived: true, latestVersion: null, versionCount: 0, archivedVersionCount: 2 }
        steps.push({ position: yield* head, ...archived, imageStatus: "NotBuilt", versions: [["2", true], ["1", true]] })

        // 6. restored and described again
        yield* c.environments.restore({ params })
        yield* c.environments.update({ params, payload: { properties: { description: "third" } } })
        steps.push({ position: yield* head, ...second, description: "third", imageStatus: "NotBuilt", versions: [["2", false], ["1", false]] })

        yield* c.versions.create({ params: { ws: WS, name: "late" }, payload: body("numpy==2.1.1", "late") })

        const whole = (yield* c.audit.events({ params, query: { limit: "1000" } })).value.map((e) => e.position)
        for (const step of steps) {
          const asOf = String(step.position)
          const what = `as of ${asOf}`
          const all = yield* c.environments.list({ params: { ws: WS }, query: { asOf, listViewType: "All", search: NAME } })
          const got = yield* c.environments.get({ params, query: { asOf } })
          for (const e of [all.value[0]!, got]) {
            assert.strictEqual(e.name, NAME, what)
            assert.strictEqual(e.properties.description, step.description, what)
            assert.deepStrictEqual(e.properties.tags, step.tags, what)
            assert.strictEqual(e.properties.isArchived, step.archived, what)
            assert.strictEqual(e.properties.latestVersion, step.latestVersion, what)
            assert.deepStrictEqual(
              [e.properties.terrarium.versionCount, e.properties.terrarium.archivedVersionCount],
              [step.versionCount, step.archivedVersionCount],
              what
            )
            assert.strictEqual(e.properties.terrarium.imageStatus, step.imageStatus, what)
          }
          const everything = yield* c.environments.list({ params: { ws: WS }, query: { asOf, listViewType: "All" } })
          assert.deepStrictEqual(
            everything.value.map((e) => [e.name, e.properties.description, e.properties.latestVersion]),
            [["steady", "steady", "1"], [NAME, step.description, step.latestVersion]],
            what
          )
          // listViewType filters by what was archived then.
          const active = yield* c.environments.list({ params: { ws: WS }, query: { asOf, search: NAME } })
          const archivedOnly = yield* c.environments.list({ params: { ws: WS }, query: { asOf, listViewType: "ArchivedOnly", search: NAME } })
          assert.deepStrictEqual(
            [active.value.map((e) => e.name), archivedOnly.value.map((e) => e.name)],
            step.archived ? [[], [NAME]] : [[NAME], []],
            what
          )
          // The tag filter asks the tags then.
          const dev = yield* c.environments.list({ params: { ws: WS }, query: { asOf, listViewType: "All", tag: "stage=dev" } })
          assert.deepStrictEqual(dev.value.map((e) => e.name), "stage" in step.tags ? [NAME] : [], what)
          // The versions then, archived or not then, described and tagged as then.
          const versions = yield* c.versions.list({ params, query: { asOf, listViewType: "All" } })
          assert.deepStrictEqual(versions.value.map((v) => [v.name, v.properties.isArchived]), step.versions.map(([v, a]) => [v, a]), what)
          const newest = versions.value[0]!
          assert.strictEqual(newest.properties.description, step.description, what)
          assert.deepStrictEqual(newest.properties.tags, step.tags, what)
          const activeVersions = yield* c.versions.list({ params, query: { asOf } })
          assert.deepStrictEqual(activeVersions.value.map((v) => v.name), step.versions.filter(([, a]) => !a).map(([v]) => v), what)
          // One version then: its description, tags and image then.
          const one = yield* c.versions.get({ params: { ...params, version: newest.name }, query: { asOf } })
          assert.strictEqual(one.properties.description, step.description, what)
          assert.deepStrictEqual(one.properties.tags, step.tags, what)
          assert.strictEqual(one.properties.isArchived, step.archived, what)
          assert.strictEqual(one.properties.terrarium.image?.status, step.imageStatus, what)
          // The timeline then ends at the point.
          const events = (yield* c.audit.events({ params, query: { asOf, limit: "1000" } })).value
          assert.deepStrictEqual(events.map((e) => e.position), whole.filter((p) => p <= step.position), what)
        }

        // A diff as of a point compares the versions as they were then; `latest` is latest then.
        const atSecond = String(steps[4]!.position)
        const diff = yield* c.versions.diff({ params, query: { from: "1", to: "latest", asOf: atSecond } })
        assert.deepStrictEqual([diff.to.name, diff.to.properties.description, diff.from.properties.tags], ["2", "second", { team: "ml", stage: "dev" }])
        const built = yield* c.versions.diff({ params, query: { from: "1", to: "latest", asOf: String(steps[3]!.position) } })
        assert.deepStrictEqual([built.from.name, built.to.name], ["1", "1"])

        // A time names the position of the last event at or before it.
        const atTime = yield* c.environments.get({ params, query: { asOf: afterCreate.toISOString() } })
        assert.deepStrictEqual([atTime.properties.tags, atTime.properties.terrarium.imageStatus], [{ team: "ml" }, "NotBuilt"])

        // Before it was created, it was not there.
        const before = whole[0]! - 1
        const missing = yield* Effect.flip(c.environments.get({ params, query: { asOf: String(before) } }))
        assert.strictEqual((missing as { status?: number }).status, 404)
        const list = yield* c.environments.list({ params: { ws: WS }, query: { asOf: String(before), listViewType: "All", search: NAME } })
        assert.deepStrictEqual(list.value, [])
      })), 60_000)
  })

scenario("PGlite", {})
scenario("PostgreSQL", { databaseUrl: testDatabaseUrl, databaseSchema: `asof_views_${process.pid}_${Date.now()}` })
