/**
 * The log store contract: what every `LogStore` adapter must do, run by each adapter's own test
 * file (`logStoreContract(name, layer)`). Each test uses keys of its own, so one store serves all.
 */
import { assert, layer } from "@effect/vitest"
import { LogStore, MAX_LOG_BYTES } from "@terrarium/domain"
import { Effect, Fiber, type Layer, Stream } from "effect"
import { TRUNCATED_LINE } from "../../src/log-store/LogLines.ts"

const reasonOf = <A, E extends { reason: { _tag: string } }>(effect: Effect.Effect<A, E>) =>
  Effect.flip(effect).pipe(Effect.map((e) => e.reason._tag))

export const logStoreContract = <E>(name: string, storeLayer: Layer.Layer<LogStore, E>) =>
  layer(storeLayer, { excludeTestServices: true, timeout: "60 seconds" })(`LogStore contract: ${name}`, (it) => {
    it.effect("keeps appended lines in order, a line with newlines as several, characters untouched", () =>
      Effect.gen(function*() {
        const logs = yield* LogStore
        yield* logs.append("builds/a/1", ["step 1/3", "quote \" $(rm -rf /) \\ \u001b[31mred"])
        yield* logs.append("builds/a/1", ["two\nlines", "", "ünïcode ✓"])
        const lines = yield* Stream.runCollect(logs.read("builds/a/1"))
        assert.deepStrictEqual(lines, ["step 1/3", "quote \" $(rm -rf /) \\ \u001b[31mred", "two", "lines", "", "ünïcode ✓"])
        assert.deepStrictEqual(yield* logs.status("builds/a/1"), { exists: true, sealed: false })
      }))

    it.effect("a log never written is LogNotFound; a key that is not one is InvalidLogKey, on every operation", () =>
      Effect.gen(function*() {
        const logs = yield* LogStore
        assert.strictEqual(yield* reasonOf(Stream.runCollect(logs.read("builds/none"))), "LogNotFound")
        assert.deepStrictEqual(yield* logs.status("builds/none"), { exists: false, sealed: false })
        for (const key of ["", "../escape", "a/../../b", "/abs", "a//b", "UPPER", "a b", "x".repeat(513)]) {
          assert.strictEqual(yield* reasonOf(logs.append(key, ["x"])), "InvalidLogKey", key)
          assert.strictEqual(yield* reasonOf(logs.seal(key)), "InvalidLogKey", key)
          assert.strictEqual(yield* reasonOf(Stream.runCollect(logs.read(key))), "InvalidLogKey", key)
          assert.strictEqual(yield* reasonOf(logs.status(key)), "InvalidLogKey", key)
        }
      }))

    it.effect("a sealed log refuses appends, and sealing twice is no error", () =>
      Effect.gen(function*() {
        const logs = yield* LogStore
        yield* logs.append("builds/b/1", ["done"])
        yield* logs.seal("builds/b/1")
        yield* logs.seal("builds/b/1")
        assert.strictEqual(yield* reasonOf(logs.append("builds/b/1", ["late"])), "LogSealed")
        assert.deepStrictEqual(yield* Stream.runCollect(logs.read("builds/b/1", { follow: true })), ["done"])
        // Sealing a log never written makes it, empty.
        yield* logs.seal("builds/b/empty")
        assert.deepStrictEqual(yield* Stream.runCollect(logs.read("builds/b/empty", { follow: true })), [])
      }))

    it.effect("a follower gets the lines so far, then each new one, and ends when the log is sealed", () =>
      Effect.gen(function*() {
        const logs = yield* LogStore
        yield* logs.append("builds/c/1", ["first"])
        const follower = yield* Effect.forkChild(Stream.runCollect(logs.read("builds/c/1", { follow: true })))
        yield* Effect.sleep("150 millis")
        yield* logs.append("builds/c/1", ["second"])
        yield* Effect.sleep("150 millis")
        yield* logs.append("builds/c/1", ["third", "fourth"])
        assert.isUndefined(follower.pollUnsafe(), "the follower must not end before the seal")
        yield* logs.seal("builds/c/1")
        assert.deepStrictEqual(yield* Fiber.join(follower), ["first", "second", "third", "fourth"])
        // Without follow, a read is what is there now, sealed or not.
        yield* logs.append("builds/c/2", ["only"])
        assert.deepStrictEqual(yield* Stream.runCollect(logs.read("builds/c/2")), ["only"])
      }))

    it.effect("a log past MAX_LOG_BYTES keeps its start and one line saying the rest was dropped", () =>
      Effect.gen(function*() {
        const logs = yield* LogStore
        const line = "x".repeat(1_048_575) // with its newline, exactly 1 MiB
        for (let i = 0; i < MAX_LOG_BYTES / 1_048_576 + 2; i++) yield* logs.append("builds/d/1", [line])
        const lines = yield* Stream.runCollect(logs.read("builds/d/1"))
        // The last MiB does not fit beside the line that says the log was truncated.
        assert.strictEqual(lines.length, MAX_LOG_BYTES / 1_048_576)
        assert.strictEqual(lines.at(-1), TRUNCATED_LINE)
        assert.isTrue(lines.slice(0, -1).every((l) => l === line))
      }))
  })
