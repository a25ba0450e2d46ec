/**
 * The Docker image builder on the project's own Docker daemon (scripts/services/docker.sh, started if
 * down; DOCKER_HOST selects another): the contract, then what only Docker shows (the image's
 * environment, labels and files, the generated Dockerfile's layers, leftover containers).
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { emptyDefinition, ImageBuilder, type PipRequirement } from "@terrarium/domain"
import Docker from "dockerode"
import { ConfigProvider, Deferred, Effect, Fiber, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { BuildOutput } from "../../src/image-builder/docker/BuildOutput.ts"
import * as DockerImageBuilder from "../../src/image-builder/docker/DockerImageBuilder.ts"
import { connectionOptions } from "../../src/image-builder/docker/DockerEngine.ts"
import { dockerfileBaseImages, makeRecipe } from "../../src/image-builder/docker/DockerRecipe.ts"
import { type CondaChannel, startCondaChannel } from "../../../../test/support/CondaChannel.ts"
import { testDockerEngine } from "../../../../test/support/DockerEngine.ts"
import { type PackageIndex, startPackageIndex } from "../../../../test/support/PackageIndex.ts"
import { buildRequest, imageBuilderContract, recorder, storedContext } from "./ImageBuilderContract.ts"

const engine = testDockerEngine()
const builderLayer = DockerImageBuilder.layerWith({ host: engine.dockerHost })
const docker = new Docker(connectionOptions(engine.dockerHost))

imageBuilderContract("docker", {
  layer: builderLayer,
  unreachable: DockerImageBuilder.layerWith({ host: "unix:///nonexistent/terrarium-dead-docker.sock" }),
  baseImage: engine.baseImage
})

const pip = (name: string, specifier: string): PipRequirement => ({ kind: "pip", name, extras: [], specifier, text: `${name}${specifier}` })

describe("DockerImageBuilder.layer", () => {
  it.effect("takes its engine from DOCKER_HOST, and says so when nothing answers there", () =>
    Effect.gen(function* () {
      const builder = yield* ImageBuilder
      assert.strictEqual(builder.engine, "unix:///nonexistent/from-docker-host.sock")
      const error = yield* builder.ping.pipe(Effect.flip)
      assert.strictEqual(error.reason._tag, "EngineUnavailable")
      assert.include(error.message, "unix:///nonexistent/from-docker-host.sock")
    }).pipe(
      Effect.provide(DockerImageBuilder.layer),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { DOCKER_HOST: "unix:///nonexistent/from-docker-host.sock" } })))
    ))

  it.effect("refuses a DOCKER_HOST it cannot read, naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Layer.build(DockerImageBuilder.layerWith({ host: "ssh://somewhere" })))
      assert.strictEqual(error.reason._tag, "EngineUnavailable")
      assert.include(error.message, "ssh://somewhere")
    }).pipe(Effect.scoped))
})

describe("DockerRecipe", () => {
  it("puts no definition value in the Dockerfile text: pip and conda go through context files", () => {
    const hostile = `x"; $(id) \\ \n RUN id`
    const definition = {
      ...emptyDefinition,
      variables: { SAFE_NAME: hostile },
      python: {
        userManagedDependencies: false,
        interpreterPath: "python",
        conda: {
          channels: [hostile],
          conda: [],
          pip: [pip("demo-a", `==1.0`), { ...pip("demo-b", ""), marker: hostile }],
          pipOptions: { indexUrl: hostile, extraIndexUrls: [hostile], findLinks: [], constraints: [], flags: [hostile] }
        }
      }
    }
    const recipe = makeRecipe(definition, "terrarium-test/python-base:bookworm", [
      { name: "demo-conda-a", version: "1.0", build: "0", channel: hostile, url: hostile }
    ])
    assert.isTrue(recipe._tag === "Success")
    if (recipe._tag !== "Success") return
    const text = recipe.success.dockerfile
    for (const fragment of ["$(id)", "RUN id", "demo-a", "demo-conda-a"]) assert.notInclude(text, fragment)
    assert.include(text, "ENV SAFE_NAME=${TERRARIUM_VARIABLE_0}")
    assert.strictEqual(recipe.success.buildArgs["TERRARIUM_VARIABLE_0"], hostile)
    // The layers, in cache order: conda part, the pip part's virtual environment, its files, its run.
    assert.deepStrictEqual(text.trim().split("\n").map((l) => l.split(" ")[0]), ["FROM", "COPY", "RUN", "RUN", "COPY", "RUN", "ENV", "ARG", "ENV"])
  })

  it("refuses what a Dockerfile cannot carry, naming it", () => {
    const bad = makeRecipe({ ...emptyDefinition, variables: { "A B": "1" } }, "terrarium-test/python-base:bookworm", [])
    assert.isTrue(bad._tag === "Failure" && bad.failure.includes(`"A B"`))
    const badBase = makeRecipe(emptyDefinition, "base\nRUN id", [])
    assert.isTrue(badBase._tag === "Failure" && badBase.failure.includes("not a valid image reference"))
  })

  it("finds the images a user's Dockerfile starts from, but not stages, scratch or build arguments", () => {
    assert.deepStrictEqual(
      dockerfileBaseImages("FROM --platform=linux/amd64 a/b:1 AS build\nfrom build\nFROM scratch\nFROM $BASE\nFROM c AS d\nFROM d\n"),
      ["a/b:1", "c"]
    )
  })
})

describe("BuildOutput", () => {
  it("reports each step once, cached or not, and keeps the failing step's log", () => {
    const output = new BuildOutput({ stepOffset: 0, extraSteps: 0 })
    const events = [
      { stream: "Step 1/3 : FROM base\n" },
      { stream: " ---> 1234\n" },
      { stream: "Step 2/3 : COPY a b\n ---> Using cache\n ---> 5678\n" },
      { stream: "Step 3/3 : RUN x\n" },
      { stream: " ---> Running in abc\n" },
      { stream: "partial " },
      { stream: "line\n" },
      { error: "The command returned a non-zero code: 1", errorDetail: { message: "The command returned a non-zero code: 1" } }
    ].flatMap((m) => output.push(m))
    assert.deepStrictEqual(events, [
      { _tag: "Step", index: 1, total: 3, name: "FROM base", cached: false },
      { _tag: "Step", index: 2, total: 3, name: "COPY a b", cached: true },
      { _tag: "Step", index: 3, total: 3, name: "RUN x", cached: false },
      { _tag: "Log", line: "partial line" }
    ])
    assert.strictEqual(output.cachedSteps, 1)
    assert.strictEqual(output.currentStep, "Step 3/3 : RUN x")
    assert.deepStrictEqual(output.logTail, ["partial line"])
    assert.include(output.error ?? "", "non-zero")
  })
})

describe("DockerImageBuilder on Docker", () => {
  let index: PackageIndex
  let channel: CondaChannel
  const images: Array<string> = []
  beforeAll(async () => {
    ;[index, channel] = await Promise.all([
      startPackageIndex([{ name: "demo-env", version: "1.0" }]),
      startCondaChannel([{ name: "demo-conda-env", version: "1.0" }])
    ])
  }, 120_000)
  afterAll(async () => {
    await Promise.all([index?.close(), channel?.close(), ...images.map((i) => docker.getImage(i).remove().catch(() => undefined))])
  })

  const definition = (variables: Record<string, string>) => ({
    ...emptyDefinition,
    docker: { ...emptyDefinition.docker, base: { kind: "image" as const, image: engine.baseImage } },
    variables,
    python: {
      userManagedDependencies: false,
      interpreterPath: "python",
      conda: {
        channels: [channel.url],
        conda: [{ kind: "conda" as const, name: "demo-conda-env", version: "", build: "", text: "demo-conda-env" }],
        pip: [pip("demo-env", "==1.0")],
        pipOptions: { indexUrl: index.url, extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }
      }
    }
  })

  layer(builderLayer, { excludeTestServices: true, timeout: "300 seconds" })("the built image", (it) => {
    it.effect("holds the variables byte for byte, the labels, the conda files with their prefix rewritten, and the pip package on PATH", () =>
      Effect.gen(function* () {
        const builder = yield* ImageBuilder
        const variables = { QUOTES: `a'b"c`, SUBSHELL: "$(id) `id` ${HOME}", NEWLINE: "one\ntwo", BACKSLASH: "\\\\n\\", LONG: "y".repeat(50_000) }
        const request = buildRequest(definition(variables))
        images.push(request.image)
        const { progress } = recorder()
        const result = yield* builder.build(request, progress)
        // FROM, conda COPY + RUN, venv, pip COPY + RUN, PATH, ARG + ENV per variable, the hash LABEL.
        assert.strictEqual(result.totalSteps, 1 + 2 + 3 + 1 + 2 * Object.keys(variables).length + 1)
        const info = yield* Effect.promise(() => docker.getImage(request.image).inspect())
        const env = new Map((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]))
        for (const [name, value] of Object.entries(variables)) assert.strictEqual(env.get(name), value, name)
        assert.strictEqual(info.Config.Labels?.["terrarium.hash"], request.hash)
        const run = (cmd: Array<string>) =>
          Effect.promise(async () => {
            const container = await docker.createContainer({ Image: request.image, Entrypoint: cmd, HostConfig: { NetworkMode: "none" } })
            await container.start()
            await container.wait()
            const logs = await container.logs({ stdout: true, stderr: true })
            await container.remove({ force: true })
            return Buffer.from(logs).subarray(8).toString("utf8")
          })
        assert.include(yield* run(["cat", "/opt/terrarium/conda/etc/demo-conda-env/prefix.txt"]), "prefix=/opt/terrarium/conda\n")
        assert.include(yield* run(["python", "-c", "import demo_env; print(demo_env.VERSION)"]), "1.0")
      }))

    it.effect("a Dockerfile definition with pip packages and variables gets the generated part on top", () =>
      Effect.gen(function* () {
        const builder = yield* ImageBuilder
        const context = yield* storedContext({
          "docker/Dockerfile": `FROM ${engine.baseImage}\nCOPY ["marker.txt", "/marker.txt"]\n`,
          "marker.txt": "from the context\n"
        })
        const base = definition({ FROM_VARIABLES: "yes" })
        const request = buildRequest(
          {
            ...base,
            docker: { ...base.docker, base: { kind: "dockerfile", context: ".", dockerfilePath: "docker/Dockerfile", contextDigest: context.digest } }
          },
          { context }
        )
        images.push(request.image)
        const { events, progress } = recorder()
        const result = yield* builder.build(request, progress)
        const steps = events.filter((e) => e._tag === "Step")
        // The user's two steps, then the generated part (FROM the user's image, conda, pip, PATH, one variable, the label).
        assert.strictEqual(result.totalSteps, 2 + 1 + 2 + 3 + 1 + 2 + 1)
        assert.deepStrictEqual(steps.map((s) => s.index), Array.from({ length: result.totalSteps }, (_, i) => i + 1))
        assert.isTrue(steps.every((s) => s.total === result.totalSteps))
        assert.deepInclude(result.resolved.pip, { name: "demo-env", version: "1.0" })
        assert.strictEqual(result.resolved.conda[0]?.name, "demo-conda-env")
        const info = yield* Effect.promise(() => docker.getImage(request.image).inspect())
        assert.include(info.Config.Env ?? [], "FROM_VARIABLES=yes")
      }))

    it.effect("a context's symbolic link and execute bit reach the image as they were digested; a retargeted link is refused", () =>
      Effect.gen(function* () {
        const builder = yield* ImageBuilder
        // The checks run in the build's one RUN step: the build fails unless the link is a link.
        const context = yield* storedContext(
          {
            "Dockerfile": `FROM ${engine.baseImage}\nCOPY . /ctx\nRUN ["sh", "-c", "test -L /ctx/current && test \\"$(readlink /ctx/current)\\" = bin/run.sh && test -x /ctx/current && /ctx/current"]\n`,
            "bin/run.sh": "#!/bin/sh\necho linked-and-executable\n"
          },
          { executable: ["bin/run.sh"], links: { current: "bin/run.sh" } }
        )
        const definition = { ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile" as const, context: ".", contextDigest: context.digest } } }
        const request = buildRequest(definition, { context })
        images.push(request.image)
        const { events, progress } = recorder()
        yield* builder.build(request, progress)
        assert.isTrue(events.some((e) => e._tag === "Log" && e.line.includes("linked-and-executable")))
        // The same files with the link pointing elsewhere: another digest, so nothing is built.
        const retargeted = { ...context, entries: context.entries.map((e) => (e.linkTarget === undefined ? e : { ...e, linkTarget: "bin" })) }
        const error = yield* builder.build(buildRequest(definition, { context: retargeted }), () => Effect.void).pipe(Effect.flip)
        assert.strictEqual(error.reason._tag, "UnbuildableRequest")
        assert.include(error.message, "digest")
      }))

    it.effect("a Dockerfile the engine cannot parse fails as a step, naming the problem", () =>
      Effect.gen(function* () {
        const builder = yield* ImageBuilder
        const context = yield* storedContext({ "Dockerfile": `FROM ${engine.baseImage}\nFROMM nothing\n` })
        const request = buildRequest(
          { ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", context: ".", contextDigest: context.digest } } },
          { context }
        )
        const error = yield* builder.build(request, () => Effect.void).pipe(Effect.flip)
        assert.strictEqual(error.reason._tag, "StepFailed")
        assert.include(error.message, "FROMM")
      }))

    it.effect("an interrupted build leaves no container behind", () =>
      Effect.gen(function* () {
        const builder = yield* ImageBuilder
        const marker = `terrarium-interrupt-${Date.now()}`
        const context = yield* storedContext({
          "Dockerfile": `FROM ${engine.baseImage}\nRUN ["python3", "-c", "import time; print('${marker}', flush=True); time.sleep(120)"]\n`
        })
        const request = buildRequest(
          { ...emptyDefinition, docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", context: ".", contextDigest: context.digest } } },
          { context, noCache: true }
        )
        const running = yield* Deferred.make<void>()
        const fiber = yield* builder.build(request, (event) =>
          event._tag === "Log" && event.line.includes(marker) ? Deferred.succeed(running, undefined).pipe(Effect.asVoid) : Effect.void
        ).pipe(Effect.forkChild)
        yield* Deferred.await(running)
        yield* Fiber.interrupt(fiber)
        const left = () =>
          Effect.promise(() => docker.listContainers({ all: true })).pipe(
            Effect.map((containers) => containers.filter((c) => c.Command.includes(marker)))
          )
        // The engine cancels the build when its client goes, and removes the step's container.
        let remaining = yield* left()
        for (let i = 0; i < 50 && remaining.length > 0; i++) {
          yield* Effect.sleep("200 millis")
          remaining = yield* left()
        }
        assert.deepStrictEqual(remaining.map((c) => c.Command), [])
        assert.isUndefined(yield* builder.inspect(request.image))
      }))
  })
})
