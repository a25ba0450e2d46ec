/**
 * The image builder contract: what every `ImageBuilder` adapter must do on a real engine, run by
 * each adapter's own test file (`imageBuilderContract(name, options)`).
 *
 * It starts its own package index and conda channel on 127.0.0.1 (test/support) with tiny
 * packages; the adapter's test says where its engine is (`layer`), gives a builder pointed at a
 * dead engine (`unreachable`) and a base image with Python 3 the engine has (`baseImage`).
 */
import { assert, describe, layer } from "@effect/vitest"
import {
  type BuildContextEntry,
  buildContextDigest,
  type BuildProgress,
  type Definition,
  emptyDefinition,
  ImageBuilder,
  type ImageBuilderError,
  type PipRequirement
} from "@terrarium/domain"
import { Deferred, Effect, Fiber, type Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import { type CondaChannel, startCondaChannel } from "../../../../test/support/CondaChannel.ts"
import { type PackageIndex, startPackageIndex } from "../../../../test/support/PackageIndex.ts"

export interface ImageBuilderContractOptions {
  readonly layer: Layer.Layer<ImageBuilder, ImageBuilderError>
  /** The same adapter, configured for an engine that does not exist (a dead socket). */
  readonly unreachable: Layer.Layer<ImageBuilder, ImageBuilderError>
  /** A local image with Python 3, pip and venv. */
  readonly baseImage: string
}

const nonce = () => randomBytes(6).toString("hex")
const pip = (name: string, specifier: string, marker?: string): PipRequirement => ({
  kind: "pip",
  name,
  extras: [],
  specifier,
  ...(marker !== undefined ? { marker } : {}),
  text: `${name}${specifier}`
})

/** A build request for `definition`, tagged with a fresh name under `terrarium-test/contract`. */
export const buildRequest = (
  definition: Definition,
  extra: {
    readonly context?: { digest: string; entries: ReadonlyArray<BuildContextEntry> }
    readonly noCache?: boolean
    readonly hash?: string
  } = {}
) => ({
  hash: extra.hash ?? `sha256:${createHash("sha256").update(JSON.stringify(definition)).update(nonce()).digest("hex")}`,
  image: `terrarium-test/contract:${nonce()}`,
  definition,
  context: extra.context,
  noCache: extra.noCache ?? false
})

/**
 * A context whose digest is computed the way registration does (the store's digest): `files` by
 * path and text, `executable` the paths with an execute bit, `links` symbolic links by path and target.
 */
export const storedContext = (
  files: Record<string, string>,
  options: { readonly executable?: ReadonlyArray<string>; readonly links?: Record<string, string> } = {}
) =>
  Effect.gen(function* () {
    const entries: Array<BuildContextEntry> = [
      ...Object.entries(files).map(([path, text]) => ({
        path,
        executable: options.executable?.includes(path) ?? false,
        content: new TextEncoder().encode(text)
      })),
      ...Object.entries(options.links ?? {}).map(([path, linkTarget]) => ({ path, executable: false, content: new Uint8Array(), linkTarget }))
    ]
    const { digest } = yield* buildContextDigest(entries, "sha256:").pipe(Effect.orDie)
    return { digest, entries }
  })

/** Collects the progress of a build. */
export const recorder = () => {
  const events: Array<BuildProgress> = []
  return { events, progress: (event: BuildProgress) => Effect.sync(() => void events.push(event)) }
}

export const imageBuilderContract = (name: string, options: ImageBuilderContractOptions) =>
  describe(`ImageBuilder contract: ${name}`, () => {
    let index: PackageIndex
    let channel: CondaChannel
    const built: Array<string> = []

    beforeAll(async () => {
      ;[index, channel] = await Promise.all([
        startPackageIndex([
          { name: "demo-a", version: "1.0" },
          { name: "demo-a", version: "2.0" },
          { name: "demo-b", version: "1.0" },
          { name: "demo-broken", version: "1.0", body: "raise RuntimeError('demo-broken refuses to import')\n" }
        ]),
        startCondaChannel([
          { name: "demo-conda-a", version: "1.0" },
          { name: "demo-conda-b", version: "1.0", depends: ["demo-conda-a >=1.0"] }
        ])
      ])
    }, 120_000)
    afterAll(async () => {
      await Promise.all([index?.close(), channel?.close()])
    })

    const onBase = (patch: Partial<Definition> = {}): Definition => ({
      ...emptyDefinition,
      docker: { ...emptyDefinition.docker, base: { kind: "image", image: options.baseImage } },
      ...patch
    })
    const withPackages = (packages: {
      readonly pip?: ReadonlyArray<PipRequirement>
      readonly conda?: ReadonlyArray<string>
      readonly userManaged?: boolean
      readonly variables?: Record<string, string>
    }): Definition =>
      onBase({
        variables: packages.variables ?? {},
        python: {
          userManagedDependencies: packages.userManaged ?? false,
          interpreterPath: "python",
          conda: {
            channels: [channel.url],
            conda: (packages.conda ?? []).map((n) => ({ kind: "conda" as const, name: n, version: ">=1.0", build: "", text: n })),
            pip: packages.pip ?? [],
            pipOptions: { indexUrl: index.url, extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }
          }
        }
      })

    const build = (definition: Definition, extra?: Parameters<typeof buildRequest>[1]) =>
      Effect.gen(function* () {
        const builder = yield* ImageBuilder
        const request = buildRequest(definition, extra)
        built.push(request.image)
        const { events, progress } = recorder()
        const result = yield* builder.build(request, progress)
        return { result, events, request }
      })
    const buildFailure = (definition: Definition, extra?: Parameters<typeof buildRequest>[1]) =>
      build(definition, extra).pipe(Effect.flip, Effect.map((e) => e.reason))

    layer(options.layer, { excludeTestServices: true, timeout: "600 seconds" })("on a running engine", (it) => {
      afterAll(async () => {
        // Leave no image of the contract behind.
        await Effect.runPromise(Effect.gen(function* () {
          const builder = yield* ImageBuilder
          yield* Effect.forEach(built, (image) => builder.remove(image).pipe(Effect.ignore), { discard: true })
        }).pipe(Effect.provide(options.layer), Effect.ignore))
      })

      it.effect("answers a ping and names its engine", () =>
        Effect.gen(function* () {
          const builder = yield* ImageBuilder
          yield* builder.ping
          assert.isNotEmpty(builder.engine)
        }))

      it.effect("builds a base image with one pip package from the index, reads it back and tags it", () =>
        Effect.gen(function* () {
          const { result, events, request } = yield* build(withPackages({ pip: [pip("demo-a", "==1.0")] }))
          assert.strictEqual(result.image, request.image)
          assert.match(result.imageId, /^sha256:[0-9a-f]{64}$/)
          assert.isAbove(result.sizeBytes, 0)
          assert.deepInclude(result.resolved.pip, { name: "demo-a", version: "1.0" })
          assert.deepStrictEqual(result.resolved.conda, [])
          assert.isNotNull(result.baseImageDigest)
          assert.isAbove(result.totalSteps, 0)
          assert.isTrue(events.some((e) => e._tag === "Step"))
          assert.isTrue(events.some((e) => e._tag === "Log"))
          const info = yield* (yield* ImageBuilder).inspect(request.image)
          assert.deepStrictEqual(info, { image: request.image, imageId: result.imageId, sizeBytes: result.sizeBytes })
          assert.isTrue(index.server.requests.some((path) => path.startsWith("/files/demo_a-1.0")))
        }))

      it.effect("solves the conda part against the definition's channel and records the explicit lock", () =>
        Effect.gen(function* () {
          const { result } = yield* build(withPackages({ conda: ["demo-conda-b"] }))
          const names = result.resolved.conda.map((p) => `${p.name}=${p.version}=${p.build}`)
          assert.deepStrictEqual(names, ["demo-conda-a=1.0=0", "demo-conda-b=1.0=0"])
          for (const p of result.resolved.conda) {
            assert.strictEqual(p.channel, channel.url)
            assert.isTrue(p.url.startsWith(`${channel.url}/noarch/`))
            assert.match(p.sha256 ?? "", /^[0-9a-f]{64}$/)
          }
        }))

      it.effect("user-managed: uses the base image's Python and installs nothing", () =>
        Effect.gen(function* () {
          const before = index.server.requests.length
          const { result } = yield* build(withPackages({ pip: [pip("demo-b", "==1.0")], conda: ["demo-conda-a"], userManaged: true }))
          assert.isFalse(result.resolved.pip.some((p) => p.name === "demo-b"))
          assert.deepStrictEqual(result.resolved.conda, [])
          assert.strictEqual(index.server.requests.length, before)
        }))

      it.effect("a change to one pip package reuses every layer below the pip part", () =>
        Effect.gen(function* () {
          // The marker is always true; its nonce makes the second build new to the engine's cache.
          const first = yield* build(withPackages({ conda: ["demo-conda-a"], pip: [pip("demo-a", "==1.0"), pip("demo-b", "==1.0")] }))
          const second = yield* build(withPackages({
            conda: ["demo-conda-a"],
            pip: [pip("demo-a", "==2.0"), pip("demo-b", "==1.0", `platform_release != "${nonce()}"`)]
          }))
          assert.deepInclude(second.result.resolved.pip, { name: "demo-a", version: "2.0" })
          assert.strictEqual(second.result.totalSteps, first.result.totalSteps)
          const steps = second.events.filter((e): e is Extract<BuildProgress, { _tag: "Step" }> => e._tag === "Step")
          assert.strictEqual(steps.length, second.result.totalSteps)
          // Cached: every step after FROM up to the pip part; then nothing.
          const firstFresh = steps.findIndex((s, i) => i > 0 && !s.cached)
          assert.isAbove(firstFresh, 2, "the conda part's steps were reused")
          assert.isTrue(steps.slice(1, firstFresh).every((s) => s.cached))
          assert.isTrue(steps.slice(firstFresh).every((s) => !s.cached))
          assert.strictEqual(second.result.cachedSteps, firstFresh - 1)
          // The same definition (and hash) again: every step after FROM is reused, the image too.
          const again = yield* build(
            withPackages({ conda: ["demo-conda-a"], pip: [pip("demo-a", "==1.0"), pip("demo-b", "==1.0")] }),
            { hash: first.request.hash }
          )
          assert.strictEqual(again.result.cachedSteps, again.result.totalSteps - 1)
          assert.strictEqual(again.result.imageId, first.result.imageId)
        }))

      it.effect("builds a Dockerfile definition from exactly the stored context", () =>
        Effect.gen(function* () {
          const context = yield* storedContext({
            "Dockerfile": `FROM ${options.baseImage}\nCOPY ["hello.txt", "/hello.txt"]\n`,
            "hello.txt": "hello\n"
          })
          const definition = onBase({
            docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", context: "./ctx", contextDigest: context.digest } }
          })
          const { result } = yield* build(definition, { context })
          assert.match(result.imageId, /^sha256:/)
          // One byte more than was digested: nothing is built.
          const tampered = { digest: context.digest, entries: context.entries.map((e) => e.path === "hello.txt" ? { ...e, content: new TextEncoder().encode("hello!\n") } : e) }
          const reason = yield* buildFailure(definition, { context: tampered })
          assert.strictEqual(reason._tag, "UnbuildableRequest")
        }))

      it.effect("hostile values reach the image intact or fail clearly, and nothing runs that was not asked for", () =>
        Effect.gen(function* () {
          const canary = `${index.server.url}/pwned`
          const payload = `$(python3 -c "import urllib.request; urllib.request.urlopen('${canary}')")`
          const hostile = {
            QUOTES: `it's "quoted" \`back\``,
            SUBSHELL: payload,
            NEWLINE: `first\nRUN python3 -c "print(1)"\nsecond`,
            BACKSLASH: "C:\\path\\ \\\n\\$HOME",
            LONG: "x".repeat(60_000)
          }
          const { result } = yield* build(withPackages({ pip: [pip("demo-a", "==1.0")], variables: hostile }))
          assert.match(result.imageId, /^sha256:/)
          // A requirement and a pip flag that would run something if a shell ever saw them.
          const badRequirement = yield* buildFailure(withPackages({ pip: [pip(`demo-a; ${payload}`, "")] }))
          assert.oneOf(badRequirement._tag, ["StepFailed", "PipUnresolvable"])
          const badName = yield* buildFailure(withPackages({ variables: { [`A=1\nRUN ${payload}`]: "x" } }))
          assert.strictEqual(badName._tag, "UnbuildableRequest")
          const badBase = yield* buildFailure(onBase({ docker: { ...emptyDefinition.docker, base: { kind: "image", image: `${options.baseImage}\nRUN ${payload}` } } }))
          assert.strictEqual(badBase._tag, "BaseImageNotFound")
          assert.isFalse(index.server.requests.includes("/pwned"), "a definition's value was run by a shell")
        }))

      it.effect("a base image that is neither local nor in a configured registry fails fast", () =>
        Effect.gen(function* () {
          const started = Date.now()
          const reason = yield* buildFailure(onBase({ docker: { ...emptyDefinition.docker, base: { kind: "image", image: `terrarium-test/absent-${nonce()}:1` } } }))
          assert.strictEqual(reason._tag, "BaseImageNotFound")
          assert.include(reason.message, "absent-")
          assert.isBelow(Date.now() - started, 10_000)
        }))

      it.effect("a failing RUN fails with the step and the last lines of its log", () =>
        Effect.gen(function* () {
          const context = yield* storedContext({
            "Dockerfile": `FROM ${options.baseImage}\nRUN ["python3", "-c", "import sys; print('before the failure'); sys.exit(3)"]\n`
          })
          const reason = yield* buildFailure(
            onBase({ docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", context: ".", contextDigest: context.digest } } }),
            { context, noCache: true }
          )
          assert.strictEqual(reason._tag, "StepFailed")
          if (reason._tag !== "StepFailed") return
          assert.include(reason.step, "RUN")
          assert.isTrue(reason.logTail.some((line) => line.includes("before the failure")))
        }))

      it.effect("a pip requirement that does not resolve names the requirement and the index", () =>
        Effect.gen(function* () {
          const reason = yield* buildFailure(withPackages({ pip: [pip("demo-a", "==9.9")] }))
          assert.strictEqual(reason._tag, "PipUnresolvable")
          if (reason._tag !== "PipUnresolvable") return
          assert.include(reason.requirement, "demo-a")
          assert.strictEqual(reason.index, index.url)
        }))

      it.effect("a conda spec that does not solve names the packages and the channels", () =>
        Effect.gen(function* () {
          const reason = yield* buildFailure(withPackages({ conda: ["demo-conda-missing"] }))
          assert.strictEqual(reason._tag, "CondaUnsolvable")
          if (reason._tag !== "CondaUnsolvable") return
          assert.isTrue(reason.specs.some((s) => s.includes("demo-conda-missing")))
          assert.deepStrictEqual(reason.channels, [channel.url])
        }))

      it.effect("a package that does not import fails the build, and the image is not tagged", () =>
        Effect.gen(function* () {
          const builder = yield* ImageBuilder
          const request = buildRequest(withPackages({ pip: [pip("demo-broken", "==1.0")] }))
          const error = yield* builder.build(request, () => Effect.void).pipe(Effect.flip)
          assert.strictEqual(error.reason._tag, "ImportCheckFailed")
          if (error.reason._tag === "ImportCheckFailed") {
            assert.strictEqual(error.reason.module, "demo_broken")
            assert.isTrue(error.reason.logTail.some((l) => l.includes("refuses to import")))
          }
          assert.isUndefined(yield* builder.inspect(request.image))
        }))

      it.effect("inspect of a removed image is undefined; removing it again is no error", () =>
        Effect.gen(function* () {
          const builder = yield* ImageBuilder
          const { request } = yield* build(onBase())
          assert.isDefined(yield* builder.inspect(request.image))
          yield* builder.remove(request.image)
          assert.isUndefined(yield* builder.inspect(request.image))
          yield* builder.remove(request.image)
        }))

      it.effect("tag names an image (by name or by id) so that it stays named when its own name is removed or moves", () =>
        Effect.gen(function* () {
          const builder = yield* ImageBuilder
          const { request, result } = yield* build(onBase())
          const byName = `${request.image}-kept-by-name`
          const byId = `${request.image}-kept-by-id`
          built.push(byName, byId)
          yield* builder.tag(request.image, byName)
          yield* builder.tag(result.imageId, byId)
          yield* builder.remove(request.image)
          assert.isUndefined(yield* builder.inspect(request.image))
          assert.strictEqual((yield* builder.inspect(byName))?.imageId, result.imageId)
          assert.strictEqual((yield* builder.inspect(byId))?.imageId, result.imageId)
          const missing = yield* builder.tag(`${request.image}-never-built`, `${request.image}-nothing`).pipe(Effect.flip)
          assert.strictEqual(missing._tag, "ImageBuilderError")
        }))

      it.effect("an interrupted build leaves no tagged image", () =>
        Effect.gen(function* () {
          const builder = yield* ImageBuilder
          const context = yield* storedContext({
            "Dockerfile": `FROM ${options.baseImage}\nRUN ["python3", "-c", "import time; print('sleeping', flush=True); time.sleep(60)"]\n`
          })
          const request = buildRequest(
            onBase({ docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", context: ".", contextDigest: context.digest } } }),
            { context, noCache: true }
          )
          const running = yield* Deferred.make<void>()
          const fiber = yield* builder.build(request, (event) =>
            event._tag === "Log" && event.line.includes("sleeping") ? Deferred.succeed(running, undefined).pipe(Effect.asVoid) : Effect.void
          ).pipe(Effect.forkChild)
          yield* Deferred.await(running)
          const started = Date.now()
          yield* Fiber.interrupt(fiber)
          assert.isBelow(Date.now() - started, 15_000)
          assert.isUndefined(yield* builder.inspect(request.image))
        }))
    })

    layer(options.unreachable, { excludeTestServices: true, timeout: "60 seconds" })("on an unreachable engine", (it) => {
      it.effect("fails quickly with EngineUnavailable naming where it looked", () =>
        Effect.gen(function* () {
          const builder = yield* ImageBuilder
          const started = Date.now()
          const ping = yield* builder.ping.pipe(Effect.flip)
          assert.strictEqual(ping.reason._tag, "EngineUnavailable")
          assert.isTrue(ping.isRetryable)
          assert.include(ping.message, builder.engine)
          const failed = yield* builder.build(buildRequest(onBase()), () => Effect.void).pipe(Effect.flip)
          assert.strictEqual(failed.reason._tag, "EngineUnavailable")
          assert.isBelow(Date.now() - started, 6_000)
        }))
    })
  })
