/**
 * The `ImageBuilder` port on a Docker engine, through dockerode.
 *
 * One build: check the engine answers; solve the conda part (rattler); make sure the base image
 * is on the engine (never pulling from a registry the definition does not name); build the
 * user's Dockerfile from exactly the stored context entries, if the definition has one; build
 * the generated recipe (`DockerRecipe.ts`) on top; run the image with no network to read back
 * what it holds and to import the packages asked for; only then tag it. A build that fails or is
 * interrupted therefore never leaves the requested tag behind.
 *
 * The engine is `DOCKER_HOST` (`unix://…` or `tcp://…`), else the system socket
 * `unix:///var/run/docker.sock`. `scripts/services/docker.sh ensure` starts the project's own
 * engine and prints the `DOCKER_HOST` to use. Builds use the classic builder, with the host's
 * network when a step downloads packages (the only network such an engine has:
 * `--bridge=none`), else none; the image check runs with none.
 *
 * @since 0.2.0
 */
import {
  BaseImageNotFound,
  type BuildContext,
  type BuildProgress,
  type BuiltImage,
  buildContextDigest,
  type Definition,
  ImageBuilder,
  type ImageBuildRequest,
  ImageBuilderError,
  type ImageRegistryError,
  ImportCheckFailed,
  type ImageInfo,
  PipUnresolvable,
  type ResolvedCondaPackage,
  type ResolvedPipPackage,
  type PushTarget,
  type RegistryRepository,
  RegistryTransferFailed,
  StepFailed,
  UnbuildableRequest
} from "@terrarium/domain"
import type Docker from "dockerode"
import { Config, Effect, Layer, Option, Redacted, Stream } from "effect"
import { Tar } from "effect/encoding"
import { Readable } from "node:stream"
import { resolveSecretReference } from "../../secrets/SecretReferences.ts"
import { BuildOutput, type BuildMessage, LOG_TAIL_LINES } from "./BuildOutput.ts"
import { defaultDockerCli, runPrivateWheelStage } from "./BuildKitStage.ts"
import { solveConda } from "./CondaSolve.ts"
import { DEFAULT_DOCKER_HOST, demultiplex, makeEngine, statusCode } from "./DockerEngine.ts"
import { pullImage, pushImage } from "./DockerPush.ts"
import { dockerfileBaseImages, isImageReference, makeRecipe, quoteForMessage, type Recipe } from "./DockerRecipe.ts"

/**
 * @since 0.2.0
 * @category options
 */
export interface DockerImageBuilderOptions {
  /** The engine: `unix://PATH` or `tcp://HOST:PORT`. */
  readonly host: string
  /**
   * Registries (`host[:port]`) a missing base image may be pulled from without credentials,
   * besides the definition's own `docker.baseImageRegistry` (pulled with its credentials).
   */
  readonly pullRegistries?: ReadonlyArray<string> | undefined
  /** The docker client that builds the private-wheel step with BuildKit (default `defaultDockerCli()`). */
  readonly dockerCli?: string | undefined
}

const fail = (reason: ImageBuilderError["reason"]) => Effect.fail(new ImageBuilderError({ reason }))
const unbuildable = (detail: string) => fail(new UnbuildableRequest({ detail }))

/** The registry part of a reference (`host[:port]`), or `undefined` for the default registry. */
const registryOf = (reference: string): string | undefined => {
  const slash = reference.indexOf("/")
  if (slash < 0) return undefined
  const first = reference.slice(0, slash)
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : undefined
}

const stripScheme = (address: string): string => address.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "")

/** `repo:tag` → its two parts (`latest` when no tag). */
const splitTag = (image: string): { readonly repo: string; readonly tag: string } => {
  const colon = image.lastIndexOf(":")
  return colon > image.lastIndexOf("/") ? { repo: image.slice(0, colon), tag: image.slice(colon + 1) } : { repo: image, tag: "latest" }
}

/**
 * What a build records of its base image: the registry digest of the base's own repository
 * (`host/repo@sha256:…`; an image pushed to several repositories has one per repository), else
 * any, else the engine's image id (a base without a registry).
 */
const repoDigestOf = (info: Docker.ImageInspectInfo, image: string): string => {
  const repository = splitTag(image.split("@")[0]!).repo
  const digests = info.RepoDigests ?? []
  return digests.find((d) => d.startsWith(`${repository}@`)) ?? digests[0] ?? info.Id
}

/** A secret reference (`env:NAME`, `file:PATH`) resolved at the moment of use. */
const resolveSecret = (reference: string): Effect.Effect<Redacted.Redacted<string>, ImageBuilderError> =>
  resolveSecretReference(reference).pipe(Effect.flatMap(Option.match({
    onSome: Effect.succeed,
    onNone: () =>
      unbuildable(
        reference.startsWith("env:")
          ? `the registry credential ${reference} is not set`
          : reference.startsWith("file:")
          ? `the registry credential ${reference} cannot be read`
          : `the registry credential ${reference} cannot be resolved by the Docker builder (env: and file: only)`
      )
  })))

/** The engine's own words for a refused request (dockerode puts the answer's JSON `message` in `json`). */
const describeEngineAnswer = (cause: unknown): string => {
  const json = (cause as { json?: { message?: unknown } }).json
  if (typeof json?.message === "string") return json.message
  return cause instanceof Error ? cause.message : String(cause)
}

/** What goes into a build's tar: a file, or a symbolic link of a stored context (`linkTarget`). */
interface TarredFile {
  readonly path: string
  readonly content: string | Uint8Array
  readonly executable?: boolean
  readonly linkTarget?: string | undefined
}

/**
 * A tar of the build context, deterministic (owner 0, mtime 0). A link is packed as a link, as
 * `docker build` sends one from a folder, so that `COPY` copies the link itself.
 */
const tarOf = (files: ReadonlyArray<TarredFile>) =>
  Stream.fromIterable(files.map((f) =>
    f.linkTarget !== undefined
      ? Tar.symlink(f.path, f.linkTarget, { mode: 0o777 })
      : Tar.file(f.path, f.content, { mode: f.executable === true ? 0o755 : 0o644 })
  )).pipe(
    Stream.pipeThroughChannel(Tar.encode()),
    Stream.runCollect,
    Effect.map((chunks) => Buffer.concat(chunks)),
    Effect.mapError((cause) => new ImageBuilderError({ reason: new UnbuildableRequest({ detail: `the build context cannot be packed: ${cause.message}` }) }))
  )

/** The lines of a failed pip run that name the requirement that did not resolve. */
const UNRESOLVED = [/No matching distribution found for (.+)$/, /Could not find a version that satisfies the requirement (\S+)/]

/**
 * The stored context, checked against its digest and the definition's: the files sent are the
 * files that were digested, or nothing is built.
 */
const checkContext = (definition: Definition, context: BuildContext | undefined) =>
  Effect.gen(function* () {
    const base = definition.docker.base
    if (base.kind !== "dockerfile") return []
    if (context === undefined) {
      if (base.context !== undefined || base.contextDigest !== undefined) {
        return yield* unbuildable("the definition's build context was not given to the builder (it is stored at registration)")
      }
      return []
    }
    // Digested as the store digests it: files by content and execute bit, links by target.
    const { digest } = yield* buildContextDigest(context.entries, context.digest).pipe(
      Effect.catchTag("BuildContextStoreError", (error) => unbuildable(`the build context is malformed: ${error.message}`))
    )
    if (digest !== context.digest) {
      return yield* unbuildable(`the build context's files have digest ${digest}, not the ${context.digest} they were stored with`)
    }
    if (base.contextDigest !== undefined && base.contextDigest !== digest) {
      return yield* unbuildable(`the build context has digest ${digest}, but the definition was registered with ${base.contextDigest}`)
    }
    return context.entries
  })

/**
 * A builder on the engine at `options.host`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: DockerImageBuilderOptions): Effect.Effect<ImageBuilder["Service"], ImageBuilderError> =>
  Effect.gen(function* () {
    const engine = yield* makeEngine(options.host)
    const { docker, call, host } = engine
    const pullRegistries = new Set((options.pullRegistries ?? []).map(stripScheme))

    const inspectImage = (image: string) =>
      call(`inspect ${image}`, () => docker.getImage(image).inspect()).pipe(
        Effect.map((info) => Option.some(info)),
        Effect.catchIf(
          (e) => e.reason._tag === "EngineFailure" && statusCode(e.reason.cause) === 404,
          () => Effect.succeed(Option.none<Docker.ImageInspectInfo>())
        )
      )

    const pull = (image: string, definition: Definition) =>
      Effect.gen(function* () {
        const registry = definition.docker.baseImageRegistry
        let authconfig: { username: string; password: string; serveraddress: string } | undefined
        if (registry?.username !== undefined && registry.password !== undefined) {
          const username = yield* resolveSecret(registry.username)
          const password = yield* resolveSecret(registry.password)
          // Passed to the engine as the pull's authconfig, never into a Dockerfile or build argument.
          authconfig = { username: Redacted.value(username), password: Redacted.value(password), serveraddress: stripScheme(registry.address) }
        }
        const stream = yield* call(`pull ${image}`, (abortSignal) => docker.pull(image, { authconfig, abortSignal }))
        const messages = yield* call(`pull ${image}`, () =>
          new Promise<Array<BuildMessage>>((resolve, reject) => docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out)))))
        const failed = messages.find((m) => m.error !== undefined)
        if (failed !== undefined) return yield* fail(new BaseImageNotFound({ image, detail: failed.error ?? "pull failed" }))
      }).pipe(
        Effect.catchIf(
          (e) => e.reason._tag === "EngineFailure",
          (e) => fail(new BaseImageNotFound({ image, detail: e.reason.message }))
        )
      )

    /** The base image's inspect data, pulling it only from a registry the definition or the options name. */
    const ensureBaseImage = (image: string, definition: Definition, pullAgain: boolean) =>
      Effect.gen(function* () {
        if (!isImageReference(image)) {
          return yield* fail(new BaseImageNotFound({ image: quoteForMessage(image), detail: "not a valid image reference" }))
        }
        const registry = registryOf(image)
        const named = definition.docker.baseImageRegistry
        const allowed = registry !== undefined &&
          (pullRegistries.has(registry) || (named !== undefined && stripScheme(named.address) === registry))
        const found = yield* inspectImage(image)
        // A refresh pulls again what its registry has moved; a base without a registry stays as it is.
        if (Option.isSome(found) && !(pullAgain && allowed)) return found.value
        if (!allowed) {
          return yield* fail(new BaseImageNotFound({
            image,
            detail: `it is not on the engine at ${host}, and ${registry === undefined ? "it names no registry" : `its registry ${registry} is not configured`}; ` +
              "the builder never pulls from a registry the definition does not name (docker.baseImageRegistry)"
          }))
        }
        yield* pull(image, definition)
        const pulled = yield* inspectImage(image)
        if (Option.isNone(pulled)) return yield* fail(new BaseImageNotFound({ image, detail: "the pull did not produce it" }))
        return pulled.value
      })

    /** One classic-builder build; its progress reported in order; its image id. */
    const runBuild = (
      context: Buffer,
      buildOptions: {
        readonly dockerfile: string
        readonly buildargs: Record<string, string>
        readonly labels: Record<string, string>
        readonly network: "host" | "none"
        readonly noCache: boolean
        /** Images whose layers the build may reuse, instead of the engine's newest matching ones. */
        readonly cacheFrom?: ReadonlyArray<string> | undefined
      },
      output: BuildOutput,
      progress: (event: BuildProgress) => Effect.Effect<void>,
      pipIndex: string
    ) =>
      Effect.gen(function* () {
        const report = (events: ReadonlyArray<BuildProgress>) => Effect.forEach(events, progress, { discard: true })
        yield* Effect.acquireUseRelease(
          call("build", (abortSignal) =>
            docker.buildImage(Readable.from([context]), {
              dockerfile: buildOptions.dockerfile,
              buildargs: buildOptions.buildargs,
              labels: buildOptions.labels,
              networkmode: buildOptions.network,
              nocache: buildOptions.noCache,
              // The engine reads the list as a JSON array (dockerode would send an array as repeated keys).
              ...(buildOptions.cacheFrom === undefined ? {} : { cachefrom: JSON.stringify(buildOptions.cacheFrom) }),
              pull: false,
              rm: true,
              forcerm: true,
              version: "1",
              abortSignal
            })).pipe(
            // The engine refuses a Dockerfile it cannot read before any step runs (HTTP 4xx/5xx).
            Effect.catchIf(
              (e) => e.reason._tag === "EngineFailure" && statusCode(e.reason.cause) !== undefined,
              (e) => fail(new StepFailed({ step: "read the Dockerfile", logTail: [describeEngineAnswer(e.reason.cause)] }))
            )
          ),
          (response) =>
            Stream.fromAsyncIterable(response as unknown as AsyncIterable<Uint8Array>, engine.failure("build")).pipe(
              Stream.decodeText,
              Stream.splitLines,
              Stream.filter((line) => line.trim() !== ""),
              Stream.runForEach((line) => {
                let message: BuildMessage
                try {
                  message = JSON.parse(line) as BuildMessage
                } catch {
                  message = { stream: `${line}\n` }
                }
                return report(output.push(message))
              }),
              Effect.andThen(Effect.suspend(() => report(output.end())))
            ),
          // Closing the answer tells the engine the client is gone: it cancels the build.
          (response) => Effect.sync(() => (response as unknown as Readable).destroy())
        )
        if (output.error !== undefined || output.imageId === undefined) {
          const tail = [...output.logTail]
          if (output.currentStep?.includes("pip/install.py") === true) {
            for (const line of tail) {
              for (const pattern of UNRESOLVED) {
                const match = pattern.exec(line)
                if (match !== null) {
                  return yield* fail(new PipUnresolvable({ requirement: match[1]!.trim(), index: pipIndex, detail: line.trim() }))
                }
              }
            }
          }
          const error = output.error ?? "the engine reported no image"
          return yield* fail(new StepFailed({ step: output.currentStep ?? "build", logTail: [...tail, error].slice(-LOG_TAIL_LINES) }))
        }
        return output.imageId
      })

    /** Runs `argv` in the image with no network; its exit code and output. */
    const runInImage = (imageId: string, argv: ReadonlyArray<string>) =>
      Effect.acquireUseRelease(
        call("create check container", () =>
          docker.createContainer({
            Image: imageId,
            Entrypoint: [...argv],
            Cmd: [],
            NetworkDisabled: true,
            HostConfig: { NetworkMode: "none" },
            Labels: { "terrarium.check": "true" }
          })),
        (container) =>
          Effect.gen(function* () {
            // An image without the program (no Python in a user's image) cannot start it: say so as output.
            const start = yield* call("start check container", () => container.start()).pipe(
              Effect.as(undefined),
              Effect.catchIf((e) => e.reason._tag === "EngineFailure", (e) => Effect.succeed(describeEngineAnswer(e.reason.cause)))
            )
            if (start !== undefined) return { exitCode: 127, stdout: "", stderr: start }
            const exit = yield* call("wait for check container", () => container.wait() as Promise<{ StatusCode: number }>)
            const logs = yield* call("read check output", () => container.logs({ stdout: true, stderr: true, follow: false }) as Promise<Buffer>)
            return { exitCode: exit.StatusCode, ...demultiplex(Buffer.from(logs)) }
          }),
        (container) => call("remove check container", () => container.remove({ force: true })).pipe(Effect.ignore)
      )

    const checkImage = (imageId: string, recipe: Recipe) =>
      Effect.gen(function* () {
        const result = yield* runInImage(imageId, recipe.check({ distributions: recipe.distributions }))
        const lastLine = result.stdout.trim().split("\n").at(-1) ?? ""
        let report: {
          readonly pip: ReadonlyArray<ResolvedPipPackage>
          readonly conda: ReadonlyArray<{ readonly name: string }>
          readonly imports: ReadonlyArray<{ readonly module: string; readonly ok: boolean; readonly error?: string }>
        }
        try {
          report = JSON.parse(lastLine)
        } catch {
          // Nothing was asked for: an image without Python (a user's Dockerfile) holds no pip package.
          if (recipe.distributions.length === 0 && recipe.downloads === false) return { pip: [], conda: [], imports: [] }
          const tail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-LOG_TAIL_LINES)
          return yield* fail(new ImportCheckFailed({ module: "(the image's Python)", logTail: tail }))
        }
        const failed = report.imports.find((i) => !i.ok)
        if (failed !== undefined) {
          return yield* fail(new ImportCheckFailed({ module: failed.module, logTail: (failed.error ?? "").trim().split("\n").slice(-LOG_TAIL_LINES) }))
        }
        return report
      })

    const build = (request: ImageBuildRequest, progress: (event: BuildProgress) => Effect.Effect<void>) =>
      Effect.gen(function* () {
        const definition = request.definition
        if (definition.docker.platform.os !== "linux") {
          return yield* unbuildable(`platform ${definition.docker.platform.os}/${definition.docker.platform.arch} is not built by the Docker builder`)
        }
        if (!isImageReference(request.image) || request.image.startsWith("sha256:")) {
          return yield* unbuildable(`the image name ${quoteForMessage(request.image)} is not a valid image reference`)
        }
        yield* engine.ping
        const version = yield* call("version", () => docker.version())
        // Only the hash: a label that differed between two requests for one hash would defeat the cache.
        const labels = { "terrarium.hash": request.hash }
        const conda = definition.python.userManagedDependencies ? undefined : definition.python.conda
        const lock: ReadonlyArray<ResolvedCondaPackage> = conda === undefined
          ? []
          : yield* solveConda(conda.conda, conda.channels, definition.docker.platform).pipe(
            Effect.mapError((reason) => new ImageBuilderError({ reason }))
          )
        const pipIndex = conda?.pipOptions.indexUrl ?? "the default index"

        const base = definition.docker.base
        let baseImageDigest: string | null = null
        let from: string
        let steps = 0
        let cachedSteps = 0
        const recipeOn = (image: string) =>
          Effect.fromResult(makeRecipe(definition, image, lock)).pipe(Effect.mapError((detail) => new ImageBuilderError({ reason: new UnbuildableRequest({ detail }) })))
        // The generated Dockerfile's instructions and the builder's one LABEL step per label.
        const generatedSteps = (yield* recipeOn("scratch")).dockerfile.trim().split("\n").length + Object.keys(labels).length

        if (base.kind === "image") {
          const info = yield* ensureBaseImage(base.image, definition, request.pullBase === true)
          baseImageDigest = repoDigestOf(info, base.image)
          from = base.image
        } else {
          const entries = yield* checkContext(definition, request.context)
          const paths = new Set(entries.map((e) => e.path))
          let dockerfilePath = base.dockerfilePath ?? "Dockerfile"
          let dockerfileText: string
          const files: Array<TarredFile> = entries.map((e) => ({ ...e }))
          if (base.dockerfile !== undefined) {
            // An inline Dockerfile is part of the definition (hashed there), not of the context.
            dockerfilePath = ".terrarium.Dockerfile"
            while (paths.has(dockerfilePath)) dockerfilePath = `.${dockerfilePath}`
            dockerfileText = base.dockerfile
            files.push({ path: dockerfilePath, content: base.dockerfile, executable: false })
          } else {
            const entry = entries.find((e) => e.path === dockerfilePath)
            if (entry === undefined) return yield* unbuildable(`the build context has no Dockerfile at ${quoteForMessage(dockerfilePath)}`)
            if (entry.linkTarget !== undefined) {
              return yield* unbuildable(`the Dockerfile at ${quoteForMessage(dockerfilePath)} is a symbolic link; name the file it points to as the Dockerfile`)
            }
            dockerfileText = new TextDecoder().decode(entry.content)
          }
          const bases = dockerfileBaseImages(dockerfileText)
          for (const image of bases) {
            const info = yield* ensureBaseImage(image, definition, request.pullBase === true)
            baseImageDigest = repoDigestOf(info, image)
          }
          const needsGenerated = lock.length > 0 || (conda?.pip.length ?? 0) > 0 || Object.keys(definition.variables).length > 0
          // A user's Dockerfile may download anything; the host's network is the only one such an
          // engine has (--bridge=none), so it gets it, as `docker build --network host` would.
          const output = new BuildOutput({ stepOffset: 0, extraSteps: needsGenerated ? generatedSteps : 0 })
          from = yield* runBuild(
            yield* tarOf(files),
            { dockerfile: dockerfilePath, buildargs: {}, labels: needsGenerated ? {} : labels, network: "host", noCache: request.noCache },
            output,
            progress,
            pipIndex
          )
          steps += output.steps
          cachedSteps += output.cachedSteps
          if (!needsGenerated) {
            const recipe = yield* recipeOn(from)
            return yield* finish(request, from, recipe, { steps, cachedSteps, baseImageDigest, lock, version: version.Version })
          }
        }

        const recipe = yield* recipeOn(from)
        const stage = recipe.privateWheels
        // BuildKit names the private-wheel step's base by a tag. It stays: removing the image's
        // last tag would delete it and its untagged parents, the classic builder's cache, and
        // every rebuild would make a new base, so a new private-wheel layer, for the same hash.
        const stageTag = `terrarium-stage/${request.hash.replace(/^sha256:/, "")}:classic`
        // A rebuild of the hash reuses that base's own layers. Left to itself, the classic builder
        // takes, for each step, the newest matching layer on the engine: one `--no-cache` build
        // of any definition on the same base image in between makes a newer `python3 -m venv`
        // layer, so every later step, and then the BuildKit step on top, would be built again.
        const cacheFrom = stage !== undefined && !request.noCache && Option.isSome(yield* inspectImage(stageTag)) ? [stageTag] : undefined
        const output = new BuildOutput({ stepOffset: steps, extraSteps: stage === undefined ? 0 : 1 })
        let imageId = yield* runBuild(
          yield* tarOf([{ path: "Dockerfile", content: recipe.dockerfile }, ...recipe.files]),
          { dockerfile: "Dockerfile", buildargs: { ...recipe.buildArgs }, labels, network: recipe.downloads ? "host" : "none", noCache: request.noCache, cacheFrom },
          output,
          progress,
          pipIndex
        )
        steps += output.steps
        cachedSteps += output.cachedSteps
        if (stage !== undefined) {
          const split = splitTag(stageTag)
          yield* call(`tag ${stageTag}`, () => docker.getImage(imageId).tag({ repo: split.repo, tag: split.tag }))
          const built = yield* runPrivateWheelStage({
            cli: options.dockerCli ?? defaultDockerCli(),
            host,
            from: stageTag,
            stage,
            sources: request.privateWheels ?? [],
            labels,
            noCache: request.noCache,
            stepIndex: steps + 1,
            totalSteps: steps + 1,
            progress
          })
          imageId = built.imageId
          steps += 1
          if (built.cached) cachedSteps += 1
        }
        return yield* finish(request, imageId, recipe, { steps, cachedSteps, baseImageDigest, lock, version: version.Version })
      })

    const finish = (
      request: ImageBuildRequest,
      imageId: string,
      recipe: Recipe,
      done: {
        readonly steps: number
        readonly cachedSteps: number
        readonly baseImageDigest: string | null
        readonly lock: ReadonlyArray<ResolvedCondaPackage>
        readonly version: string
      }
    ): Effect.Effect<BuiltImage, ImageBuilderError> =>
      Effect.gen(function* () {
        const report = yield* checkImage(imageId, recipe)
        const missing = done.lock.find((p) => !report.conda.some((c) => c.name === p.name))
        if (missing !== undefined) {
          return yield* fail(new ImportCheckFailed({ module: `conda package ${missing.name}`, logTail: ["not found in the image's conda-meta"] }))
        }
        const { repo, tag } = splitTag(request.image)
        yield* call(`tag ${request.image}`, () => docker.getImage(imageId).tag({ repo, tag }))
        const info = yield* call(`inspect ${request.image}`, () => docker.getImage(imageId).inspect())
        return {
          image: request.image,
          imageId: info.Id,
          sizeBytes: info.Size,
          baseImageDigest: done.baseImageDigest,
          resolved: { conda: done.lock, pip: report.pip.map((p) => ({ name: p.name, version: p.version })) },
          cachedSteps: done.cachedSteps,
          totalSteps: done.steps,
          builderVersion: `docker/${done.version}`
        }
      })

    const inspect = (image: string) =>
      inspectImage(image).pipe(
        Effect.map(Option.match({
          onNone: (): ImageInfo | undefined => undefined,
          onSome: (info): ImageInfo => ({ image, imageId: info.Id, sizeBytes: info.Size })
        }))
      )

    const remove = (image: string) =>
      call(`remove ${image}`, () => docker.getImage(image).remove()).pipe(
        Effect.asVoid,
        Effect.catchIf((e) => e.reason._tag === "EngineFailure" && statusCode(e.reason.cause) === 404, () => Effect.void)
      )

    const tag = (image: string, as: string) =>
      Effect.suspend(() => {
        if (!isImageReference(as) || as.startsWith("sha256:")) return unbuildable(`${quoteForMessage(as)} is not an image name to tag with`)
        const { repo, tag: name } = splitTag(as)
        return call(`tag ${image} as ${as}`, () => docker.getImage(image).tag({ repo, tag: name })).pipe(Effect.asVoid)
      })

    /** A registry's failure, as the port says it: which transfer, of what, and the registry's reason. */
    const transferFailed = (operation: "push" | "pull", reference: string) => (error: ImageBuilderError | ImageRegistryError) =>
      error._tag === "ImageRegistryError"
        ? new ImageBuilderError({ reason: new RegistryTransferFailed({ operation, reference, error }) })
        : error

    const push = (image: string, target: PushTarget) =>
      pushImage(host, image, target).pipe(Effect.mapError(transferFailed("push", `${target.registry}/${target.repository}:${target.tag}`)))

    const pullByDigest = (source: RegistryRepository, digest: string, image: string) =>
      pullImage(host, source, digest, image).pipe(Effect.mapError(transferFailed("pull", `${source.registry}/${source.repository}@${digest}`)))

    return ImageBuilder.of({ engine: host, ping: engine.ping, build, inspect, tag, remove, push, pull: pullByDigest })
  })

/**
 * A builder on the engine at `options.host`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWith = (options: DockerImageBuilderOptions): Layer.Layer<ImageBuilder, ImageBuilderError> =>
  Layer.effect(ImageBuilder, make(options))

/**
 * A builder on the engine `DOCKER_HOST` names, else the system socket. Building the layer does
 * not contact the engine: `ping` or the first build says whether it answers.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<ImageBuilder, ImageBuilderError> = Layer.effect(
  ImageBuilder,
  Effect.gen(function* () {
    const host = yield* Config.String("DOCKER_HOST").pipe(Config.withDefault(DEFAULT_DOCKER_HOST), Effect.orElseSucceed(() => DEFAULT_DOCKER_HOST))
    return yield* make({ host })
  })
)
