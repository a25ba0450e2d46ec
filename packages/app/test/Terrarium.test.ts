/**
 * The Terrarium service over the in-memory adapters, with doubles wrapped around the ports where a
 * test needs another writer, a failing projector or a stream that never stops changing. (The same
 * service over PGlite and PostgreSQL is run by the library and CLI end-to-end tests.)
 */
import { ProjectionError, Projections, ProjectionStorageFailure } from "@terrarium/domain"
import {
  CanonicalHash,
  type Definition,
  Environment,
  EventCodec,
  EventStore,
  EventStoreError,
  Registered,
  WrongExpectedVersion
} from "@terrarium/domain"
import { assert, layer } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Logger, Result } from "effect"
import { TestClock } from "effect/testing"
import { decodeDefinitionInput, decodePackageSpec } from "../src/Input.ts"
import { layerPortsMemory } from "./support/MemoryPorts.ts"
import { make, type TerrariumError } from "../src/Terrarium.ts"

// The in-memory adapters (the same contracts as the SQL ones), one set for the file; each test has
// its own environment names, and its own workspace where it lists a workspace. The clock is the
// real one (a lost race really waits); the contention test brings its own TestClock.
const ports = layerPortsMemory

const withPip = (...pip: Array<string>): Effect.Effect<Definition, TerrariumError> =>
  decodeDefinitionInput({
    python: {
      userManagedDependencies: false,
      interpreterPath: "python",
      conda: { channels: ["conda-forge"], conda: [], pip }
    }
  })

/**
 * Appends `name`'s Defined and Registered events as another process would: past this service.
 * `registeredUnder` makes the Registered event say it was hashed by another algorithm version.
 */
const appendElsewhere = (
  workspace: string,
  name: string,
  definition: Definition,
  registeredUnder?: { readonly hashAlgorithm: number; readonly canonicalHash: string }
) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const canonicalHash = yield* CanonicalHash.hash(definition)
    const command = new Environment.Create({ workspace, name, curated: name.startsWith("AzureML-"), definition, canonicalHash })
    const decided = Result.getOrThrow(Environment.decide(command, Environment.initialState))
    const events = registeredUnder === undefined
      ? decided
      : decided.map((e) => (e._tag === "Registered" ? new Registered({ ...e, ...registeredUnder }) : e))
    const meta = { actor: "someone-else", correlationId: crypto.randomUUID(), causationId: null }
    yield* store.append(Environment.environmentStream(workspace, name), 0, events.map((e) => EventCodec.encode(e, meta, crypto.randomUUID())))
    return canonicalHash
  })

layer(ports, { timeout: 60_000, excludeTestServices: true })("Terrarium service", (it) => {
  it.effect("reads of the read models include what other processes appended", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "reader" })
      const workspace = "elsewhere"
      const hash = yield* appendElsewhere(workspace, "AzureML-elsewhere", yield* withPip("numpy==2.0.0"))

      const envs = yield* t.environments({ workspace })
      assert.deepStrictEqual(envs.map((e) => [e.name, e.latestVersion]), [["AzureML-elsewhere", "1"]])
      const versions = yield* t.versions({ workspace, name: "AzureML-elsewhere" })
      assert.deepStrictEqual(versions.map((v) => [v.version, v.createdBy]), [["1", "someone-else"]])
      const audit = yield* t.audit({ workspace, name: "AzureML-elsewhere" })
      assert.deepStrictEqual(audit.map((a) => a.eventType), ["Defined", "Registered"])
      const catalog = yield* t.curatedCatalog
      assert.deepStrictEqual(catalog.map((c) => c.name), ["AzureML-elsewhere"])
      const cached = yield* t.cacheLookup(hash)
      assert.deepStrictEqual(cached.map((c) => [c.name, c.version]), [["AzureML-elsewhere", "1"]])
    }), { timeout: 60_000 })

  it.effect("create and draft find a version registered under another hash algorithm by its content", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "upgraded" })
      const definition = yield* withPip("legacy==1.0")
      // As an earlier release would have written it: another algorithm, so another digest.
      yield* appendElsewhere("default", "legacy", definition, { hashAlgorithm: 0, canonicalHash: `sha256:${"0".repeat(64)}` })
      const again = yield* t.create({ workspace: "default", name: "legacy", definition })
      assert.deepStrictEqual([again.version, again.created], ["1", false])
      const draft = yield* t.draft({ workspace: "default", name: "legacy" })
      assert.strictEqual(draft.registeredAs, "1")
    }), { timeout: 60_000 })

  it.effect("a projection failure after a committed append is a warning; the command succeeds and the next read catches up", () =>
    Effect.gen(function*() {
      const real = yield* Projections
      let failures = 1
      const failingOnce = Projections.of({
        ...real,
        catchUp: Effect.suspend(() =>
          failures-- > 0
            ? Effect.fail(new ProjectionError({ reason: new ProjectionStorageFailure({ operation: "apply", cause: new Error("disk full") }) }))
            : real.catchUp
        )
      })
      const warnings: Array<string> = []
      const collect = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).join(" "))
      })
      const t = yield* make({ actor: "writer" }).pipe(Effect.provideService(Projections, failingOnce))

      const created = yield* t.create({ workspace: "default", name: "tiny", definition: yield* withPip("requests==2.32.3") }).pipe(
        Effect.provide(Logger.layer([collect]))
      )
      assert.deepStrictEqual([created.version, created.created], ["1", true])
      assert.strictEqual(warnings.length, 1)
      assert.match(warnings[0]!, /environment 'default\/tiny' was changed, but the read models could not be brought up to date \(projection apply failed: disk full\); the next read will catch them up/)
      assert.deepStrictEqual((yield* t.versions({ workspace: "default", name: "tiny" })).map((v) => v.version), ["1"])
    }), { timeout: 60_000 })

  it.effect("a reference such as @latest is resolved again when the command lost a race", () =>
    Effect.gen(function*() {
      const real = yield* EventStore
      // Runs once, right before the next append: another writer registering a new version.
      let rival: Effect.Effect<unknown, TerrariumError> | undefined
      const racing = EventStore.of({
        ...real,
        append: (stream, expected, events) =>
          Effect.suspend(() => {
            const first = rival ?? Effect.void
            rival = undefined
            return Effect.andThen(Effect.orDie(first), real.append(stream, expected, events))
          })
      })
      const t = yield* make({ actor: "labeller" }).pipe(Effect.provideService(EventStore, racing))
      const other = yield* make({ actor: "rival" })
      const workspace = "default"
      yield* t.create({ workspace, name: "race", definition: yield* withPip("a==1") })
      yield* t.create({ workspace, name: "race", definition: yield* withPip("a==2") })

      rival = other.create({ workspace, name: "race", definition: yield* withPip("a==3") })
      const labelled = yield* t.label({ workspace, ref: { name: "race", label: "latest" }, label: "prod" })
      assert.strictEqual(labelled.version, "3")
      const prod = yield* t.show({ workspace, ref: { name: "race", label: "prod" } })
      assert.strictEqual(prod.version, "3")
    }), { timeout: 60_000 })

  it.effect("a stream that changes before every attempt: jittered waits of at most ~250 ms, then StreamContended", () =>
    Effect.gen(function*() {
      const real = yield* EventStore
      const attempts: Array<number> = []
      const firstAttempt = yield* Deferred.make<void>()
      const alwaysMoved = EventStore.of({
        ...real,
        readStream: () => Effect.succeed([]),
        append: (stream, expected) =>
          Clock.currentTimeMillis.pipe(
            Effect.tap((now) => Effect.sync(() => attempts.push(now))),
            Effect.andThen(Deferred.succeed(firstAttempt, undefined)),
            Effect.andThen(Effect.fail(new EventStoreError({
              reason: new WrongExpectedVersion({ workspace: stream.workspace, stream: stream.stream, expected, actual: 1 })
            })))
          )
      })
      const t = yield* make({ actor: "loser" }).pipe(Effect.provideService(EventStore, alwaysMoved))
      const definition = yield* withPip("b==1")

      const error = yield* Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Effect.flip(t.create({ workspace: "default", name: "busy", definition })))
        // Hashing the definition is asynchronous: move the clock once the command waits on it.
        yield* Deferred.await(firstAttempt)
        yield* TestClock.adjust("31 seconds")
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(TestClock.layer()))

      assert.strictEqual(error._tag, "StreamContended")
      assert.match(error.message, /^environment 'default\/busy' is contended: other writers changed it before every attempt for 30s; nothing was changed, try again$/)
      const waits = attempts.slice(1).map((at, i) => at - attempts[i]!)
      assert.isAtMost(Math.max(...waits), 300, "each wait is capped (250 ms, +20% jitter)")
      assert.isAtMost(attempts.at(-1)! - attempts[0]!, 30_000 + 300, "the retries end when the budget is spent")
      assert.isAbove(attempts.length, 80, "a capped wait keeps trying while the budget lasts")
      const capped = waits.filter((w) => w >= 150)
      assert.isAbove(new Set(capped).size, capped.length / 2, "capped waits are jittered, not in lockstep")
    }), { timeout: 60_000 })

  it.effect("input that breaks a naming rule is an InvalidInput naming the field; nothing is appended", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const t = yield* make({ actor: "typo" })
      const definition = yield* withPip("c==1")
      const cases: ReadonlyArray<readonly [string, Effect.Effect<unknown, TerrariumError>, string]> = [
        ["name", t.create({ workspace: "default", name: "my env", definition }),
          `name "my env": an environment name starts with a letter or digit and has up to 255 letters, digits, '-', '_' or '.'`],
        ["workspace", t.create({ workspace: "Team", name: "ok", definition }),
          `workspace "Team": a workspace name is 1-63 lower-case letters, digits, '-' or '_'`],
        ["workspace", t.environments({ workspace: "Team" }),
          `workspace "Team": a workspace name is 1-63 lower-case letters, digits, '-' or '_'`],
        ["version", t.create({ workspace: "default", name: "ok", definition, version: "v 2" }),
          `version "v 2": a version is 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit`]
      ]
      for (const [field, attempt, message] of cases) {
        const error = yield* Effect.flip(attempt)
        assert.deepStrictEqual([error._tag, (error as { field?: string }).field, error.message], ["InvalidInput", field, message])
      }
      yield* t.create({ workspace: "default", name: "ok", definition })
      const head = yield* store.head
      const label = yield* Effect.flip(t.label({ workspace: "default", ref: { name: "ok", version: "1" }, label: "Prod" }))
      assert.strictEqual(label.message, `label "Prod": a label is 1-63 lower-case letters, digits, '-' or '_', starting with a letter`)
      const register = yield* Effect.flip(t.register({ workspace: "default", name: "ok", version: "v 2" }))
      assert.strictEqual(register._tag, "InvalidInput")
      assert.strictEqual(yield* store.head, head)
    }), { timeout: 60_000 })

  it.effect("diff reads an environment's stream once for two of its versions, and each stream once for two environments", () =>
    Effect.gen(function*() {
      const real = yield* EventStore
      const reads: Array<string> = []
      const counting = EventStore.of({
        ...real,
        readStream: (stream, options) =>
          Effect.suspend(() => {
            reads.push(stream.stream)
            return real.readStream(stream, options)
          })
      })
      const t = yield* make({ actor: "differ" }).pipe(Effect.provideService(EventStore, counting))
      yield* t.create({ workspace: "default", name: "diffed", definition: yield* withPip("e==1") })
      yield* t.create({ workspace: "default", name: "diffed", definition: yield* withPip("e==2") })
      yield* t.create({ workspace: "default", name: "other-diffed", definition: yield* withPip("e==3") })

      const streamOf = (name: string) => Environment.environmentStream("default", name).stream
      reads.length = 0
      const within = yield* t.diff({ workspace: "default", from: { name: "diffed", version: "1" }, to: { name: "diffed", version: "2" } })
      assert.deepStrictEqual([within.from.version, within.to.version, reads], ["1", "2", [streamOf("diffed")]])
      reads.length = 0
      const across = yield* t.diff({ workspace: "default", from: { name: "diffed", version: "2" }, to: { name: "other-diffed", version: "1" } })
      assert.deepStrictEqual([across.from.name, across.to.name, reads], ["diffed", "other-diffed", [streamOf("diffed"), streamOf("other-diffed")]])
    }), { timeout: 60_000 })

  it.effect("a draft change that breaks a rule is an InvalidInput even when the environment does not exist", () =>
    Effect.gen(function*() {
      const t = yield* make({ actor: "typo" })
      const numpy = yield* decodePackageSpec("conda", "numpy")
      // The value is checked before the stream is read: the caller learns what to fix first,
      // rather than creating the environment only to be told the value was wrong all along.
      const error = yield* Effect.flip(t.addPackage({ workspace: "default", name: "never-made", spec: { ...numpy, name: "Num Py" } }))
      assert.deepStrictEqual([error._tag, (error as { field?: string }).field], ["InvalidInput", "spec.name"])
      const missing = yield* Effect.flip(t.addPackage({ workspace: "default", name: "never-made", spec: numpy }))
      assert.strictEqual(missing._tag, "EnvironmentError")
    }), { timeout: 60_000 })

  it.effect("each call has its own correlation id (or the one given); an event after another in one command is caused by it", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const t = yield* make({ actor: "service" })
      yield* t.create({ workspace: "default", name: "traced", definition: yield* withPip("d==1") })
      yield* t.create({ workspace: "default", name: "traced", definition: yield* withPip("d==2"), actor: "alice", correlationId: "req-42" })
      yield* t.setVariable({ workspace: "default", name: "traced", variable: "MODE", value: "fast" })

      const events = yield* store.readStream(Environment.environmentStream("default", "traced"))
      assert.deepStrictEqual(events.map((e) => e.type), ["Defined", "Registered", "Redefined", "Registered", "VariableSet"])
      const [defined, registered, redefined, reregistered, variable] = events.map((e) => e.metadata)
      assert.strictEqual(defined!.causationId, null)
      assert.strictEqual(registered!.causationId, events[0]!.id)
      assert.strictEqual(registered!.correlationId, defined!.correlationId)
      assert.deepStrictEqual([redefined!.actor, redefined!.correlationId, redefined!.causationId], ["alice", "req-42", null])
      assert.deepStrictEqual([reregistered!.actor, reregistered!.correlationId, reregistered!.causationId], ["alice", "req-42", events[2]!.id])
      assert.deepStrictEqual([variable!.actor, variable!.causationId], ["service", null])
      assert.strictEqual(new Set([defined!.correlationId, "req-42", variable!.correlationId]).size, 3)
    }), { timeout: 60_000 })
})
