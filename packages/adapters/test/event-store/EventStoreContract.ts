/**
 * The event store contract: what every `EventStore` adapter must do, whatever it is built on,
 * run by each adapter's test file (`eventStoreContract(name, layer)`) over a Layer that provides
 * the port alone. What only an SQL store can be asked (raw SQL on the table, its triggers, the
 * append lock) is in SqlEventStoreChecks.ts.
 *
 * Tests share one store (the layer is built once per suite), so each uses its own workspace and
 * stream names and measures positions relative to the head it saw first. They use the live
 * clock: subscriptions poll and the concurrency tests need real parallelism.
 */
import { assert, layer } from "@effect/vitest"
import {
  EventStore,
  type EventStoreError,
  type NewEvent,
  type RecordedEvent,
  type StreamRef
} from "@terrarium/domain"
import { Deferred, Effect, Fiber, type Layer, Option, Ref, Stream } from "effect"
import { EventStoreInstances } from "../support/EventStoreInstances.ts"

let counter = 0
/** A workspace no other test uses. */
export const freshWorkspace = () => `ws-${process.pid}-${++counter}-${crypto.randomUUID().slice(0, 8)}`

export const event = (type: string, data: unknown, metadata: Partial<NewEvent["metadata"]> = {}): NewEvent => ({
  id: crypto.randomUUID(),
  type,
  schemaVersion: 1,
  data,
  metadata: { actor: "tester", correlationId: crypto.randomUUID(), causationId: null, ...metadata }
})

export const reasonOf = (e: EventStoreError) => e.reason

/** Events that cannot be stored as JSON, each with what the error must say about it. */
const unstorableEvents = (): ReadonlyArray<{ readonly what: string; readonly bad: NewEvent; readonly says: RegExp }> => {
  const circular: Record<string, unknown> = { name: "loop" }
  circular["self"] = circular
  return [
    { what: "a BigInt", bad: event("Unstorable", { size: 10n }), says: /data is not JSON: .*BigInt/ },
    { what: "a circular object", bad: event("Unstorable", { nested: circular }), says: /data is not JSON: .*circular/i },
    {
      what: "a throwing toJSON",
      bad: event("Unstorable", { toJSON: () => { throw new Error("no JSON for this") } }),
      says: /data is not JSON: no JSON for this/
    },
    { what: "a function", bad: event("Unstorable", () => "not data"), says: /data is not JSON: a function/ },
    {
      what: "metadata with a BigInt",
      bad: event("Unstorable", {}, { actor: 7n as unknown as string }),
      says: /metadata is not JSON: .*BigInt/
    },
    // JSON, but not what PostgreSQL can store: refused by every store alike, before anything is sent.
    { what: "a NUL character", bad: event("Unstorable", { path: "a\u0000b" }), says: /data holds the NUL character/ },
    { what: "half a surrogate pair", bad: event("Unstorable", { text: "\ud800" }), says: /data holds half of a surrogate pair/ },
    { what: "a NUL in metadata", bad: event("Unstorable", {}, { actor: "x\u0000" }), says: /metadata holds the NUL character/ },
    { what: "a schema version past 32 bits", bad: { ...event("Unstorable", {}), schemaVersion: 2 ** 31 }, says: /schemaVersion must be an integer of 32 bits/ }
  ]
}

/** Assert that `positions` are consecutive integers starting at `from`. */
export const assertDense = (positions: ReadonlyArray<number>, from: number) => {
  for (const [i, p] of positions.entries()) {
    if (p !== from + i) assert.fail(`position ${i} is ${p}, expected ${from + i} (hole or duplicate)`)
  }
}

/**
 * The stores the concurrency tests spread their writers over: the layer's `EventStoreInstances`
 * if it provides them (independent instances over one log, as separate processes would be),
 * else the one store.
 */
const storeInstances = Effect.gen(function* () {
  const instances = yield* Effect.serviceOption(EventStoreInstances)
  return Option.isSome(instances) ? instances.value : [yield* EventStore]
})

/**
 * Runs the contract against `storeLayer`, which provides the port (and optionally
 * `EventStoreInstances`).
 */
export const eventStoreContract = <E>(name: string, storeLayer: Layer.Layer<EventStore, E>) =>
  layer(storeLayer, { excludeTestServices: true, timeout: "120 seconds" })(`EventStore contract: ${name}`, (it) => {
    it.effect("appends and reads back a stream with versions, positions and the whole envelope", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "env-a" }
        const before = yield* store.head
        const events = [
          event("Defined", { name: "env-a", nested: { list: [1, "two", null, { "é": "ü ✓" }] } }, { actor: "alice" }),
          event("PackageAdded", { spec: "numpy==2.1" }, { causationId: crypto.randomUUID() })
        ]
        const result = yield* store.append(ref, 0, events)
        assert.strictEqual(result.streamVersion, 2)
        assert.isAbove(result.position, before)

        const read = yield* store.readStream(ref)
        assert.strictEqual(read.length, 2)
        for (const [i, recorded] of read.entries()) {
          const sent = events[i]!
          assert.strictEqual(recorded.id, sent.id)
          assert.strictEqual(recorded.type, sent.type)
          assert.strictEqual(recorded.schemaVersion, 1)
          assert.deepStrictEqual(recorded.data, sent.data)
          assert.deepStrictEqual(recorded.metadata, sent.metadata)
          assert.strictEqual(recorded.workspace, ref.workspace)
          assert.strictEqual(recorded.stream, ref.stream)
          assert.strictEqual(recorded.streamVersion, i + 1)
          assert.strictEqual(typeof recorded.position, "number")
          assert.instanceOf(recorded.occurredAt, Date)
        }
        assert.strictEqual(read[1]!.position, result.position)
        assert.strictEqual(read[1]!.position, read[0]!.position + 1)
        assert.deepStrictEqual(yield* store.readStream({ ...ref, stream: "absent" }), [])
      }))

    it.effect("refuses an append at the wrong expected version, saying the actual version", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "env" }
        yield* store.append(ref, 0, [event("A", {}), event("B", {})])

        for (const expected of [0, 1, 5]) {
          const error = yield* store.append(ref, expected, [event("C", {})]).pipe(Effect.flip)
          const reason = reasonOf(error)
          assert.strictEqual(reason._tag, "WrongExpectedVersion")
          if (reason._tag !== "WrongExpectedVersion") return
          assert.strictEqual(reason.actual, 2)
          assert.strictEqual(reason.expected, expected)
          assert.strictEqual(reason.workspace, ref.workspace)
          assert.isTrue(error.isRetryable)
        }
        assert.strictEqual((yield* store.readStream(ref)).length, 2, "a refused append writes nothing")

        assert.strictEqual((yield* store.append(ref, 2, [event("C", {})])).streamVersion, 3)
        assert.strictEqual((yield* store.append(ref, "any", [event("D", {})])).streamVersion, 4)
        assert.strictEqual((yield* store.append({ ...ref, stream: "new" }, "any", [event("A", {})])).streamVersion, 1)
      }))

    it.effect("keeps streams of different workspaces apart", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const a: StreamRef = { workspace: freshWorkspace(), stream: "same-name" }
        const b: StreamRef = { workspace: freshWorkspace(), stream: "same-name" }
        yield* store.append(a, 0, [event("A1", {}), event("A2", {})])
        assert.strictEqual((yield* store.append(b, 0, [event("B1", {})])).streamVersion, 1)
        assert.deepStrictEqual((yield* store.readStream(a)).map((e) => e.type), ["A1", "A2"])
        assert.deepStrictEqual((yield* store.readStream(b)).map((e) => e.type), ["B1"])
      }))

    it.effect("readStream stops at untilPosition", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "s" }
        const first = yield* store.append(ref, 0, [event("A", {}), event("B", {})])
        yield* store.append(ref, 2, [event("C", {})])
        assert.deepStrictEqual((yield* store.readStream(ref, { untilPosition: first.position })).map((e) => e.type), ["A", "B"])
        assert.deepStrictEqual((yield* store.readStream(ref, { untilPosition: first.position - 1 })).map((e) => e.type), ["A"])
      }))

    it.effect("readAll pages through the global order with a small batch size", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        const start = yield* store.head
        const types: Array<string> = []
        for (let i = 0; i < 7; i++) {
          const type = `E${i}`
          types.push(type)
          yield* store.append({ workspace: ws, stream: `s${i % 3}` }, "any", [event(type, { i })])
        }
        const head = yield* store.head
        assert.strictEqual(head, start + 7)

        const all = yield* Stream.runCollect(store.readAll({ after: start, batchSize: 2 }))
        assert.deepStrictEqual(all.map((e) => e.type), types)
        assertDense(all.map((e) => e.position), start + 1)

        const window = yield* Stream.runCollect(store.readAll({ after: start + 2, until: start + 5, batchSize: 2 }))
        assert.deepStrictEqual(window.map((e) => e.position), [start + 3, start + 4, start + 5])

        // `until` defaults to the head when the read starts: later appends are not included.
        const stream = store.readAll({ after: start, batchSize: 1 }).pipe(
          Stream.tap((e) => e.position === start + 1 ? Effect.asVoid(store.append({ workspace: ws, stream: "late" }, 0, [event("Late", {})])) : Effect.void)
        )
        const bounded = yield* Stream.runCollect(stream)
        assert.strictEqual(bounded.length, 7)
        assert.deepStrictEqual(yield* Stream.runCollect(store.readAll({ after: yield* store.head })), [])
      }))

    it.effect("head is the position of the last committed event", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const result = yield* store.append({ workspace: freshWorkspace(), stream: "h" }, 0, [event("A", {}), event("B", {}), event("C", {})])
        assert.strictEqual(yield* store.head, result.position)
      }))

    it.effect("heads gives the head first, then, rising, the head after each later append of every instance on the log", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const instances = yield* storeInstances
        const ws = freshWorkspace()
        const seen: Array<number> = []
        const first = yield* Deferred.make<void>()
        const following = yield* store.heads.pipe(
          Stream.runForEach((head) => Effect.andThen(Effect.sync(() => seen.push(head)), Deferred.succeed(first, undefined))),
          Effect.forkChild
        )
        yield* Deferred.await(first).pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(seen[0], yield* store.head, "the first element is the head")
        // One append through each instance (on PostgreSQL: other pools, as other processes), of
        // one event or two (the SQL store's single and batch statements).
        const positions: Array<number> = []
        for (const [i, instance] of instances.entries()) {
          positions.push((yield* instance.append({ workspace: ws, stream: `s${i}` }, 0, i % 2 === 0 ? [event("A", { i })] : [event("A", { i }), event("B", { i })])).position)
        }
        const last = positions.at(-1)!
        yield* Effect.sleep("5 millis").pipe(Effect.repeat({ until: () => seen.at(-1) === last }), Effect.timeout("10 seconds"))
        yield* Fiber.interrupt(following)
        for (const [i, head] of seen.entries()) if (i > 0) assert.isAbove(head, seen[i - 1]!, `rising: ${seen.join(", ")}`)
        assert.strictEqual(seen.at(-1), yield* store.head)
      }))

    it.effect("heads started after appends gives the head then, and each subscriber its own stream", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        yield* store.append({ workspace: ws, stream: "x" }, 0, [event("A", {})])
        const head = yield* store.head
        const [a, b] = yield* Effect.all([Stream.runHead(store.heads), Stream.runHead(store.heads)], { concurrency: 2 }).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual([Option.getOrUndefined(a), Option.getOrUndefined(b)], [head, head])
      }))

    it.effect("subscribe catches up, then delivers later appends, in order", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "sub" }
        const start = yield* store.head
        yield* store.append(ref, 0, [event("Before1", {}), event("Before2", {})])
        const fiber = yield* store.subscribe({ after: start, batchSize: 2, pollInterval: "10 millis" }).pipe(
          Stream.filter((e) => e.workspace === ref.workspace),
          Stream.take(5),
          Stream.runCollect,
          Effect.forkChild
        )
        yield* Effect.sleep("50 millis")
        yield* store.append(ref, 2, [event("After1", {})])
        yield* Effect.sleep("30 millis")
        yield* store.append(ref, 3, [event("After2", {}), event("After3", {})])
        const seen = yield* Fiber.join(fiber).pipe(Effect.timeout("10 seconds"))
        assert.deepStrictEqual(seen.map((e) => e.type), ["Before1", "Before2", "After1", "After2", "After3"])
        assert.deepStrictEqual(seen.map((e) => e.streamVersion), [1, 2, 3, 4, 5])
      }))

    it.effect("positionAt gives the last position at or before a time", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        assert.strictEqual(yield* store.positionAt(new Date(0)), 0)
        const first = yield* store.append({ workspace: ws, stream: "t" }, 0, [event("A", {})])
        const [recorded] = yield* store.readStream({ workspace: ws, stream: "t" })
        yield* Effect.sleep("20 millis")
        const between = new Date()
        yield* Effect.sleep("20 millis")
        const second = yield* store.append({ workspace: ws, stream: "t" }, 1, [event("B", {})])
        assert.isAtLeast(yield* store.positionAt(recorded!.occurredAt), first.position, "an event is at or before its own time")
        assert.strictEqual(yield* store.positionAt(between), first.position)
        assert.isAtLeast(yield* store.positionAt(new Date(Date.now() + 60_000)), second.position)
      }))

    it.effect("event ids are unique: a duplicate fails alone and writes nothing", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        const original = event("A", {})
        yield* store.append({ workspace: ws, stream: "one" }, 0, [original])
        // Sent concurrently so that they share a group commit: only the duplicate must fail.
        const [dup, ok1, ok2] = yield* Effect.all([
          store.append({ workspace: ws, stream: "two" }, 0, [event("B", {}), { ...event("C", {}), id: original.id }]).pipe(Effect.flip),
          store.append({ workspace: ws, stream: "three" }, 0, [event("D", {})]),
          store.append({ workspace: ws, stream: "four" }, 0, [event("E", {})])
        ], { concurrency: "unbounded" })
        assert.strictEqual(dup.reason._tag, "StorageFailure")
        assert.isFalse(dup.isRetryable)
        assert.deepStrictEqual(yield* store.readStream({ workspace: ws, stream: "two" }), [])
        assert.strictEqual(ok1.streamVersion, 1)
        assert.strictEqual(ok2.streamVersion, 1)
        const bad = yield* store.append({ workspace: ws, stream: "five" }, 0, [{ ...event("F", {}), id: "not-a-uuid" }]).pipe(Effect.flip)
        assert.strictEqual(bad.reason._tag, "StorageFailure")
      }))

    it.effect("concurrent appends to different streams are all written, each checked on its own", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        const start = yield* store.head
        const results = yield* Effect.all(
          Array.from({ length: 60 }, (_, i) =>
            store.append({ workspace: ws, stream: `s${i % 20}` }, i < 20 ? 0 : i < 40 ? "any" : 99, [event(`E${i}`, { i })]).pipe(Effect.result)
          ),
          { concurrency: "unbounded" }
        )
        const failures = results.filter((r) => r._tag === "Failure")
        assert.strictEqual(failures.length, 20, "exactly the appends expecting version 99 fail")
        const all = yield* Stream.runCollect(store.readAll({ after: start }))
        assert.strictEqual(all.length, 40)
        assertDense(all.map((e) => e.position), start + 1)
      }))

    it.effect("concurrent appends to distinct streams, some refused and some of several events: each checked against its own stream", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        const old = (i: number): StreamRef => ({ workspace: ws, stream: `old-${i}` })
        const fresh = (i: number): StreamRef => ({ workspace: ws, stream: `new-${i}` })
        for (let i = 0; i < 10; i++) yield* store.append(old(i), 0, [event("A", { i }), event("B", { i })])
        const start = yield* store.head
        // Sent at once: the first is written alone, the others queue behind it and go out together.
        const [, ...results] = yield* Effect.all([
          store.append({ workspace: ws, stream: "first" }, 0, [event("F", {})]),
          // Even streams at the right version (2), odd ones at a stale one (1).
          ...Array.from({ length: 10 }, (_, i) => store.append(old(i), i % 2 === 0 ? 2 : 1, [event("C", { i }), event("D", { i })])),
          ...Array.from({ length: 10 }, (_, i) => store.append(fresh(i), "any", [event("X", { i }), event("Y", { i }), event("Z", { i })]))
        ].map((append) => Effect.result(append)), { concurrency: "unbounded" })

        for (let i = 0; i < 10; i++) {
          const outcome = results[i]!
          if (i % 2 === 0) {
            assert.strictEqual(outcome._tag, "Success", `old-${i}`)
            if (outcome._tag !== "Success") continue
            const events = yield* store.readStream(old(i))
            assert.deepStrictEqual(events.map((e) => [e.type, e.streamVersion]), [["A", 1], ["B", 2], ["C", 3], ["D", 4]])
            assert.deepStrictEqual(outcome.success, { streamVersion: 4, position: events[3]!.position })
          } else {
            assert.strictEqual(outcome._tag, "Failure", `old-${i}`)
            if (outcome._tag !== "Failure") continue
            assert.deepInclude(reasonOf(outcome.failure), { _tag: "WrongExpectedVersion", expected: 1, actual: 2 })
            assert.strictEqual((yield* store.readStream(old(i))).length, 2, "a refused append writes nothing")
          }
        }
        for (let i = 0; i < 10; i++) {
          const outcome = results[10 + i]!
          assert.strictEqual(outcome._tag, "Success", `new-${i}`)
          if (outcome._tag !== "Success") continue
          const events = yield* store.readStream(fresh(i))
          assert.deepStrictEqual(events.map((e) => [e.type, e.streamVersion]), [["X", 1], ["Y", 2], ["Z", 3]])
          assertDense(events.map((e) => e.position), events[0]!.position)
          assert.deepStrictEqual(outcome.success, { streamVersion: 3, position: events[2]!.position })
        }
        // Refused appends take no positions: 1 + 5 × 2 + 10 × 3 events, dense.
        const all = yield* Stream.runCollect(store.readAll({ after: start }))
        assert.strictEqual(all.length, 41)
        assertDense(all.map((e) => e.position), start + 1)
      }))

    it.effect("callers interrupted mid-append: each append is written whole or not at all, and the store keeps writing", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        const start = yield* store.head
        // Forked together: the first leads (its write in flight), the others queue behind it.
        const fibers = yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => i),
          (i) => Effect.forkChild(store.append({ workspace: ws, stream: `s${i}` }, 0, [event("A", { i }), event("B", { i })]))
        )
        yield* Effect.yieldNow
        yield* Effect.forEach(fibers.filter((_, i) => i % 3 === 0), (f) => Fiber.interrupt(f), { discard: true })
        const kept = yield* Effect.forEach(fibers.filter((_, i) => i % 3 !== 0), (f) => Fiber.join(f).pipe(Effect.timeout("30 seconds")))
        assert.deepStrictEqual(kept.map((r) => r.streamVersion), kept.map(() => 2))
        // Leadership was handed back: a lone append and a concurrent pair still go through.
        assert.strictEqual((yield* store.append({ workspace: ws, stream: "after" }, 0, [event("C", {})]).pipe(Effect.timeout("30 seconds"))).streamVersion, 1)
        yield* Effect.all([
          store.append({ workspace: ws, stream: "after" }, 1, [event("D", {})]),
          store.append({ workspace: ws, stream: "after2" }, 0, [event("E", {})])
        ], { concurrency: "unbounded" }).pipe(Effect.timeout("30 seconds"))
        const all = yield* Stream.runCollect(store.readAll({ after: start }))
        assertDense(all.map((e) => e.position), start + 1)
        const perStream = new Map<string, number>()
        for (const e of all) perStream.set(e.stream, (perStream.get(e.stream) ?? 0) + 1)
        for (const [stream, n] of perStream) {
          if (stream.startsWith("s")) assert.strictEqual(n, 2, `${stream}: an append is all of its events or none`)
        }
        assert.isAtLeast(perStream.size, 20 + 2)
      }))

    it.effect("an append whose data or metadata is not JSON fails alone, naming the event, and the store keeps writing", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        for (const [i, { what, bad, says }] of unstorableEvents().entries()) {
          // Alone (one event: the scalar path) and with a good event before it (the batch path).
          for (const events of [[bad], [event("Fine", {}), bad]]) {
            const ref: StreamRef = { workspace: ws, stream: `bad-${i}-${events.length}` }
            const error = yield* store.append(ref, 0, events).pipe(Effect.flip, Effect.timeout("10 seconds"))
            assert.strictEqual(error.reason._tag, "StorageFailure", what)
            assert.include(error.message, `event ${bad.id} (Unstorable) in ${ref.workspace}/${ref.stream}`, what)
            assert.match(error.message, says, what)
            assert.deepStrictEqual(yield* store.readStream(ref), [], `${what}: nothing written`)
            // Leadership was handed back: the next append is written (a hang fails the timeout).
            const next = yield* store.append({ workspace: ws, stream: `after-${i}-${events.length}` }, 0, [event("A", {})]).pipe(
              Effect.timeout("10 seconds")
            )
            assert.strictEqual(next.streamVersion, 1)
          }
        }
      }))

    it.effect("data reads back as a jsonb column gives it: escapes that only look like NUL kept, keys shorter first", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "jsonb" }
        // A backslash followed by the text u0000 is ordinary text; a whole surrogate pair is one character.
        const data = { zzz: "C:\\u0000dir", a: "😀", bb: { yy: 1, x: [3, 2] } }
        yield* store.append(ref, 0, [event("Kept", data)])
        const [read] = yield* store.readStream(ref)
        assert.deepStrictEqual(read!.data, data)
        assert.deepStrictEqual(Object.keys(read!.data as object), ["a", "bb", "zzz"])
        assert.deepStrictEqual(Object.keys((read!.data as { bb: object }).bb), ["x", "yy"])
      }))

    it.effect("an append whose data is not JSON, queued among others, fails alone; the others are written and nothing hangs", () =>
      Effect.gen(function* () {
        const store = yield* EventStore
        const ws = freshWorkspace()
        const start = yield* store.head
        const unstorable = unstorableEvents()
        // Sent at once: the first leads, the rest queue behind it and go out as batches.
        const appends = [
          { stream: "lead", events: [event("Lead", {})], bad: undefined },
          ...Array.from({ length: 12 }, (_, i) => {
            const bad = i % 3 === 1 ? unstorable[i % unstorable.length]!.bad : undefined
            return { stream: `s${i}`, events: bad === undefined ? [event("Good", { i })] : [event("Good", { i }), bad], bad }
          })
        ]
        const results = yield* Effect.all(
          appends.map((a) => Effect.result(store.append({ workspace: ws, stream: a.stream }, 0, a.events))),
          { concurrency: "unbounded" }
        ).pipe(Effect.timeout("30 seconds"))
        for (const [i, a] of appends.entries()) {
          const outcome = results[i]!
          if (a.bad === undefined) {
            assert.strictEqual(outcome._tag, "Success", a.stream)
            if (outcome._tag === "Success") assert.strictEqual(outcome.success.streamVersion, 1)
          } else {
            assert.strictEqual(outcome._tag, "Failure", a.stream)
            if (outcome._tag === "Failure") assert.include(outcome.failure.message, a.bad.id)
            assert.deepStrictEqual(yield* store.readStream({ workspace: ws, stream: a.stream }), [], `${a.stream}: nothing written`)
          }
        }
        const all = yield* Stream.runCollect(store.readAll({ after: start }))
        assert.strictEqual(all.length, appends.filter((a) => a.bad === undefined).length)
        assertDense(all.map((e) => e.position), start + 1)
        const after = yield* store.append({ workspace: ws, stream: "after" }, 0, [event("A", {})]).pipe(Effect.timeout("10 seconds"))
        assert.strictEqual(after.streamVersion, 1)
      }))

    it.effect("one event at a time on a stream just written: conflicts, 'any' and duplicates as through the log", () =>
      Effect.gen(function* () {
        // The SQL store on PGlite takes a fast path for these (a plain INSERT from the tail it
        // remembers, LogTail.ts); the answers must be those of any other append.
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "hot" }
        const first = yield* store.append(ref, 0, [event("A", {})])
        const second = yield* store.append(ref, 1, [event("B", {})])
        assert.strictEqual(second.streamVersion, 2)
        const conflict = yield* store.append(ref, 1, [event("C", {})]).pipe(Effect.flip)
        assert.deepInclude(reasonOf(conflict), { _tag: "WrongExpectedVersion", expected: 1, actual: 2 })
        const any = yield* store.append(ref, "any", [event("D", {})])
        assert.strictEqual(any.streamVersion, 3)
        const taken = (yield* store.readStream(ref))[0]!.id
        const dup = yield* store.append(ref, 3, [{ ...event("E", {}), id: taken }]).pipe(Effect.flip)
        assert.strictEqual(dup.reason._tag, "StorageFailure")
        const after = yield* store.append(ref, 3, [event("F", {})])
        assert.strictEqual(after.streamVersion, 4)
        const stored = yield* store.readStream(ref)
        assert.deepStrictEqual(stored.map((e) => [e.type, e.streamVersion]), [["A", 1], ["B", 2], ["D", 3], ["F", 4]])
        assert.deepStrictEqual(stored.map((e) => e.position), [first.position, second.position, any.position, after.position])
        for (let i = 1; i < stored.length; i++) {
          assert.isAtLeast(stored[i]!.occurredAt.getTime(), stored[i - 1]!.occurredAt.getTime(), "occurred_at never goes back")
        }
      }))

    it.effect("8 writers racing on one stream: no lost or duplicated event, versions and positions dense", () =>
      Effect.gen(function* () {
        const stores = yield* storeInstances
        const store = yield* EventStore
        const ref: StreamRef = { workspace: freshWorkspace(), stream: "contended" }
        const writers = 8
        const appendsPerWriter = 250
        const start = yield* store.head
        const acknowledged = yield* Ref.make<Array<string>>([])
        const conflicts = yield* Ref.make(0)

        const writer = (w: number) => Effect.gen(function* () {
          const mine = stores[w % stores.length]!
          let version = (yield* mine.readStream(ref)).length
          let done = 0
          while (done < appendsPerWriter) {
            const e = event("Raced", { writer: w, n: done })
            const outcome = yield* mine.append(ref, version, [e]).pipe(Effect.result)
            if (outcome._tag === "Success") {
              version = outcome.success.streamVersion
              done++
              yield* Ref.update(acknowledged, (ids) => (ids.push(e.id), ids))
            } else {
              const reason = outcome.failure.reason
              if (reason._tag !== "WrongExpectedVersion") return yield* Effect.fail(outcome.failure)
              yield* Ref.update(conflicts, (n) => n + 1)
              // The conflict reports the version it found: that is the re-read.
              assert.isAbove(reason.actual, version)
              version = reason.actual
            }
          }
        })
        yield* Effect.all(Array.from({ length: writers }, (_, w) => writer(w)), { concurrency: "unbounded" })

        const total = writers * appendsPerWriter
        const read = yield* store.readStream(ref)
        assert.strictEqual(read.length, total)
        assert.deepStrictEqual(read.map((e) => e.streamVersion), Array.from({ length: total }, (_, i) => i + 1))
        const ids = new Set(read.map((e) => e.id))
        assert.strictEqual(ids.size, total, "no duplicated event")
        const acked = yield* Ref.get(acknowledged)
        assert.strictEqual(acked.length, total)
        for (const id of acked) if (!ids.has(id)) assert.fail(`acknowledged event ${id} is lost`)
        assert.isAbove(yield* Ref.get(conflicts), 0, "the losers of the race got WrongExpectedVersion")

        const all = yield* Stream.runCollect(store.readAll({ after: start, batchSize: 300 }))
        assert.strictEqual(all.length, total)
        assertDense(all.map((e) => e.position), start + 1)
      }))

    it.effect("a subscriber following concurrent writers never sees a hole or a step back", () =>
      Effect.gen(function* () {
        const stores = yield* storeInstances
        const store = yield* EventStore
        const ws = freshWorkspace()
        const writers = 8
        const appendsPerWriter = 150
        const total = writers * appendsPerWriter
        const start = yield* store.head

        const subscriber = yield* store.subscribe({ after: start, batchSize: 37, pollInterval: "1 millis" }).pipe(
          Stream.take(total),
          Stream.map((e: RecordedEvent) => e.position),
          Stream.runCollect,
          Effect.forkChild
        )
        // A polling reader that checks every page it reads continues exactly where it stopped.
        const poller = yield* Effect.gen(function* () {
          let checkpoint = start
          let pages = 0
          while (checkpoint < start + total) {
            const page = yield* Stream.runCollect(store.readAll({ after: checkpoint, batchSize: 50 }))
            assertDense(page.map((e) => e.position), checkpoint + 1)
            checkpoint = page.at(-1)?.position ?? checkpoint
            pages++
          }
          return pages
        }).pipe(Effect.forkChild)

        yield* Effect.all(
          Array.from({ length: writers }, (_, w) =>
            Effect.forEach(Array.from({ length: appendsPerWriter }, (_, i) => i), (i) =>
              stores[w % stores.length]!.append({ workspace: ws, stream: `w${w}` }, i, [event("Tick", { w, i })]),
              { discard: true })
          ),
          { concurrency: "unbounded" }
        )
        const positions = yield* Fiber.join(subscriber).pipe(Effect.timeout("30 seconds"))
        assertDense(positions, start + 1)
        assert.isAbove(yield* Fiber.join(poller).pipe(Effect.timeout("30 seconds")), 1)
      }))
  })

