/**
 * The image builder in memory, for the application's unit tests: no engine, builds that take
 * the time and end the way a test scripts them, progress as a real build reports it (a `Step`
 * per step, `Log` lines), and images that a test can make vanish (`prune`) or an engine that it
 * can stop (`engineDown`). It keeps the port's promises: one call is one build, an interrupted
 * build tags nothing, `inspect` says `undefined` for an image that is not there.
 *
 * The images it holds are in this process unless it is given a shelf shared with others
 * (`directoryShelf`): processes that share one engine then agree on which images exist, so an
 * image is missing only when it was never built or was pruned, as on a real engine.
 *
 * @since 0.2.0
 */
import {
  type BuildProgress,
  type BuiltImage,
  EngineFailure,
  EngineUnavailable,
  ImageBuilder,
  ImageBuilderError,
  type ImageBuildRequest,
  type ImageInfo,
  ImageRegistryError,
  type PushTarget,
  type RegistryRepository,
  RegistryNotFound,
  RegistryTransferFailed,
  RegistryUnauthorized,
  RegistryUnavailable,
  type ResolvedLock
} from "@terrarium/domain"
import { Duration, Effect, Layer } from "effect"
import { createHash } from "node:crypto"

/**
 * How one build goes: its steps (names), how many of the first are cached, how long each step
 * takes, what it resolves, or the reason it fails with after `failAtStep` steps.
 *
 * @since 0.2.0
 * @category models
 */
export interface ScriptedBuild {
  readonly steps?: ReadonlyArray<string>
  readonly cachedSteps?: number
  readonly stepDuration?: Duration.Input
  readonly resolved?: ResolvedLock
  readonly fail?: ImageBuilderError["reason"]
  readonly failAtStep?: number
}

/**
 * Where an engine keeps the images it holds (an engine's image store).
 *
 * @since 0.2.0
 * @category models
 */
export interface ImageShelf {
  readonly get: (image: string) => ImageInfo | undefined
  readonly set: (info: ImageInfo) => void
  readonly delete: (image: string) => void
}

/** The images of this process only. */
const processShelf = (): ImageShelf => {
  const images = new Map<string, ImageInfo>()
  return {
    get: (image) => images.get(image),
    set: (info) => void images.set(info.image, info),
    delete: (image) => void images.delete(image)
  }
}

/** @since 0.2.0 @category models */
export interface MemoryImageBuilderOptions {
  /** The script of the `n`th build (from 1) of a request; default: three quick steps, nothing resolved. */
  readonly script?: (request: ImageBuildRequest, n: number) => ScriptedBuild
  /** Where the images are kept; default: in this process. */
  readonly shelf?: ImageShelf
}

const DEFAULT_STEPS = ["FROM base", "RUN pip install", "LABEL terrarium.hash"]

/**
 * What a test sees of the builder and can change: the builds started and finished, the images
 * there are, and whether the engine answers.
 *
 * @since 0.2.0
 * @category models
 */
export class MemoryEngine {
  /** Every request passed to `build`, in call order. */
  readonly requests: Array<ImageBuildRequest> = []
  /** Builds that ran to completion (tagged their image). */
  completed = 0
  /** Builds interrupted before their end. */
  interrupted = 0
  readonly images: ImageShelf
  engineDown = false
  /**
   * What a build records as its base image (`baseImageDigest`): an image id by default (a local
   * base); a test sets `host/repo@sha256:…` for a base from a registry, and changes it to move
   * the base, as a push of a new image under the base's tag does.
   */
  baseImageDigest = "sha256:" + "b".repeat(64)
  script: NonNullable<MemoryImageBuilderOptions["script"]>
  /**
   * The registries' images, by `registry/repository@digest` (a registry in memory: a push puts
   * the image there, a pull takes it back by digest).
   */
  readonly registryImages = new Map<string, ImageInfo>()
  /** Registries (`host[:port]`) that do not answer. */
  readonly registriesDown = new Set<string>()
  /** Registries that refuse every credential. */
  readonly registriesRefusing = new Set<string>()
  /** Pushes and pulls that succeeded. */
  pushes = 0
  pulls = 0

  constructor(options: MemoryImageBuilderOptions = {}) {
    this.script = options.script ?? (() => ({}))
    this.images = options.shelf ?? processShelf()
  }

  /** Removes an image behind Terrarium's back (`docker image rm` by hand). */
  prune(image: string): void {
    this.images.delete(image)
  }

  /** @internal A new image id, unique across the processes that may share a shelf. */
  nextImageId(): string {
    return `sha256:${crypto.randomUUID().replaceAll("-", "")}${crypto.randomUUID().replaceAll("-", "")}`
  }
}

const down = () =>
  new ImageBuilderError({ reason: new EngineUnavailable({ host: "memory", cause: new Error("the memory engine is stopped") }) })

/** An image the engine holds under some name, by its image id (an engine finds images by id too). */
const findById = (engine: MemoryEngine, imageId: string): ImageInfo | undefined => {
  for (const request of engine.requests) {
    const info = engine.images.get(request.image)
    if (info?.imageId === imageId) return info
  }
  return undefined
}

/** The digest a push of `imageId` gets: its content is the image, so the same image gets the same digest. */
const digestOf = (imageId: string) => `sha256:${createHash("sha256").update(`manifest of ${imageId}`).digest("hex")}`

const transfer = (engine: MemoryEngine, operation: "push" | "pull", reference: string, registry: string) =>
  Effect.suspend(() => {
    const refused = (error: ImageRegistryError["reason"]) =>
      Effect.fail(new ImageBuilderError({ reason: new RegistryTransferFailed({ operation, reference, error: new ImageRegistryError({ reason: error }) }) }))
    if (engine.engineDown) return Effect.fail(down())
    if (engine.registriesDown.has(registry)) return refused(new RegistryUnavailable({ registry, detail: "the registry does not answer" }))
    if (engine.registriesRefusing.has(registry)) return refused(new RegistryUnauthorized({ registry, detail: "the engine's login was refused" }))
    return Effect.void
  })

const make = (engine: MemoryEngine) =>
  ImageBuilder.of({
    engine: "memory",
    ping: Effect.suspend(() => (engine.engineDown ? Effect.fail(down()) : Effect.void)),
    build: (request, progress) =>
      Effect.gen(function*() {
        if (engine.engineDown) return yield* Effect.fail(down())
        engine.requests.push(request)
        const n = engine.requests.filter((r) => r.hash === request.hash).length
        const script = engine.script(request, n)
        const steps = script.steps ?? DEFAULT_STEPS
        const cached = request.noCache ? 0 : Math.min(script.cachedSteps ?? 0, steps.length)
        const report = (event: BuildProgress) => progress(event)
        for (const [i, name] of steps.entries()) {
          if (script.fail !== undefined && i === (script.failAtStep ?? 0)) {
            yield* report({ _tag: "Log", line: `step ${i + 1} failed` })
            return yield* Effect.fail(new ImageBuilderError({ reason: script.fail }))
          }
          yield* report({ _tag: "Step", index: i + 1, total: steps.length, name, cached: i < cached })
          yield* report({ _tag: "Log", line: `${i < cached ? "CACHED " : ""}${name}` })
          if (i >= cached) yield* Effect.sleep(script.stepDuration ?? Duration.zero)
        }
        if (script.fail !== undefined) return yield* Effect.fail(new ImageBuilderError({ reason: script.fail }))
        if (engine.engineDown) return yield* Effect.fail(down())
        const info: ImageInfo = { image: request.image, imageId: engine.nextImageId(), sizeBytes: 1024 * steps.length }
        engine.images.set(info)
        engine.completed += 1
        return {
          ...info,
          baseImageDigest: engine.baseImageDigest,
          resolved: script.resolved ?? { conda: [], pip: [] },
          cachedSteps: cached,
          totalSteps: steps.length,
          builderVersion: "memory/1"
        } satisfies BuiltImage
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => void (engine.interrupted += 1)))),
    inspect: (image) =>
      Effect.suspend(() => (engine.engineDown ? Effect.fail(down()) : Effect.succeed(engine.images.get(image)))),
    tag: (image, as) =>
      Effect.suspend(() => {
        if (engine.engineDown) return Effect.fail(down())
        const info = engine.images.get(image) ?? findById(engine, image)
        if (info === undefined) {
          return Effect.fail(new ImageBuilderError({ reason: new EngineFailure({ operation: `tag ${image} as ${as}`, cause: new Error(`No such image: ${image}`) }) }))
        }
        return Effect.sync(() => engine.images.set({ ...info, image: as }))
      }),
    remove: (image) => Effect.suspend(() => (engine.engineDown ? Effect.fail(down()) : Effect.sync(() => void engine.images.delete(image)))),
    push: (image: string, target: PushTarget) =>
      Effect.gen(function*() {
        yield* transfer(engine, "push", `${target.registry}/${target.repository}:${target.tag}`, target.registry)
        const info = engine.images.get(image)
        if (info === undefined) {
          return yield* Effect.fail(new ImageBuilderError({ reason: new EngineFailure({ operation: `push ${image}`, cause: new Error("no such image") }) }))
        }
        const digest = digestOf(info.imageId)
        engine.registryImages.set(`${target.registry}/${target.repository}@${digest}`, info)
        engine.pushes += 1
        return digest
      }),
    pull: (source: RegistryRepository, digest: string, image: string) =>
      Effect.gen(function*() {
        const reference = `${source.registry}/${source.repository}@${digest}`
        yield* transfer(engine, "pull", reference, source.registry)
        const held = engine.registryImages.get(reference)
        if (held === undefined) {
          return yield* Effect.fail(new ImageBuilderError({
            reason: new RegistryTransferFailed({ operation: "pull", reference, error: new ImageRegistryError({ reason: new RegistryNotFound({ reference }) }) })
          }))
        }
        const info: ImageInfo = { ...held, image }
        engine.images.set(info)
        engine.pulls += 1
        return info
      })
  })

/**
 * The in-memory image builder.
 *
 * @since 0.2.0
 */
export const MemoryImageBuilder = {
  /** The builder over an engine a test holds (and looks into). @since 0.2.0 @category layers */
  layerWith: (engine: MemoryEngine): Layer.Layer<ImageBuilder> => Layer.succeed(ImageBuilder, make(engine)),
  /** The builder over a fresh engine. @since 0.2.0 @category layers */
  layer: Layer.suspend(() => Layer.succeed(ImageBuilder, make(new MemoryEngine())))
} as const
