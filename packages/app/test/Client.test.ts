/**
 * The Promise facade's boundary: what a JavaScript caller may pass, unchecked by any compiler.
 * A definition may leave out sections and fields (they take their defaults); anything else that
 * is not a definition, or not an argument of the right type, rejects with `InvalidInput` naming
 * the field, and appends nothing.
 */
import { type Definition, emptyDefinition, emptyPipOptions } from "@terrarium/domain"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { createTerrarium, type TerrariumClient } from "../src/Client.ts"
import { decodeDefinitionInput } from "../src/Input.ts"
import type { InvalidInput } from "../src/InvalidInput.ts"

/** What a JavaScript caller may write: anything at all. */
type Untyped = any

const rejection = (attempt: () => Promise<unknown>, what: string): Promise<InvalidInput> =>
  attempt().then(() => assert.fail(`${what}: expected a rejection`), (e: unknown) => e as InvalidInput)

describe("createTerrarium: input from a caller without types", () => {
  let t: TerrariumClient
  beforeAll(async () => {
    t = await createTerrarium({ dataDir: "memory://", actor: "client-test" })
  }, 60_000)
  afterAll(() => t.close())

  it("a definition that leaves out fields registers as the same definition given in full", { timeout: 60_000 }, async () => {
    const partial: Untyped = { python: { userManagedDependencies: false, conda: { channels: [], conda: [], pip: [] } } }
    const full: Definition = {
      ...emptyDefinition,
      python: {
        userManagedDependencies: false,
        interpreterPath: "python",
        conda: { channels: [], conda: [], pip: [], pipOptions: emptyPipOptions }
      }
    }
    const a = await t.create({ name: "partial", definition: partial })
    const b = await t.create({ name: "full", definition: full })
    assert.strictEqual(a.canonicalHash, b.canonicalHash)
    assert.deepStrictEqual((await t.show("partial")).definition, full)
    assert.deepStrictEqual((await t.show("full")).definition, full)
    // Given in full under the first name, it is the version already registered.
    const again = await t.create({ name: "partial", definition: full })
    assert.deepStrictEqual([again.version, again.created], ["1", false])
  })

  it("update changes a version's description and tags; create of the same content says what it did not apply", { timeout: 60_000 }, async () => {
    const definition = { ...emptyDefinition, description: "first", tags: { stage: "dev" } }
    const created = await t.create({ name: "described", definition })
    const again = await t.create({ name: "described", definition: { ...definition, description: "second" } })
    assert.deepStrictEqual([again.created, again.metadataNotApplied], [false, { description: "second", tags: { stage: "dev" } }])
    const updated = await t.update("described:1", { description: "second", tags: { owner: "ml" }, removeTags: ["stage"], actor: "alice" })
    assert.deepStrictEqual([updated.canonicalHash, updated.definition.description, updated.definition.tags], [
      created.canonicalHash, "second", { owner: "ml" }
    ])
    const trail = await t.audit("described")
    assert.deepStrictEqual([trail.at(-1)!.eventType, trail.at(-1)!.actor], ["MetadataUpdated", "alice"])
    assert.strictEqual((await t.show("described:1", { asOf: trail.at(-1)!.position - 1 })).definition.description, "first")
    const nothing = await rejection(() => t.update("described:1", {}), "no change")
    assert.deepStrictEqual([nothing._tag, nothing.field], ["InvalidInput", "description"])
    const wrongType = await rejection(() => t.update("described:1", { tags: "owner=ml" } as Untyped), "tags not a record")
    assert.strictEqual(wrongType._tag, "InvalidInput")
    assert.strictEqual((await t.audit("described")).length, trail.length, "nothing appended")
  })

  it("a section given in part keeps the defaults of the fields it leaves out", { timeout: 60_000 }, async () => {
    await t.create({ name: "gpu", definition: { docker: { gpuSupport: true, platform: { arch: "arm64" } } } as Untyped })
    const shown = await t.show("gpu")
    assert.deepStrictEqual(shown.definition, {
      ...emptyDefinition,
      docker: { ...emptyDefinition.docker, gpuSupport: true, platform: { os: "linux", arch: "arm64" } }
    })
  })

  it("a definition that is not one rejects with InvalidInput naming the field, appending nothing", { timeout: 60_000 }, async () => {
    const workspace = "refused"
    const cases: ReadonlyArray<readonly [string, Untyped, string, string]> = [
      [
        "a misspelt section",
        { python: { userManagedDependencies: false, conda: { channels: [], dependencies: [], pip: [] } } },
        "definition.python.conda.dependencies",
        "definition.python.conda.dependencies: no such field"
      ],
      ["an unknown key", { dockerfile: "FROM scratch" }, "definition.dockerfile", `definition.dockerfile "FROM scratch": no such field`],
      [
        "a wrong type",
        { python: { conda: { channels: [], conda: [], pip: "numpy" } } },
        "definition.python.conda.pip",
        `definition.python.conda.pip "numpy": Expected array | undefined`
      ],
      [
        "a wrong type in a list",
        { python: { conda: { pip: ["requests", 3] } } },
        "definition.python.conda.pip[1]",
        `definition.python.conda.pip[1]: Expected string | { readonly "kind": "pip", ... }`
      ],
      ["no object at all", "lol", "definition", `definition "lol": Expected object | undefined`],
      [
        "a field left undefined that has no default",
        { description: undefined },
        "definition.description",
        "definition.description: Expected string"
      ]
    ]
    for (const [what, definition, field, message] of cases) {
      const error = await rejection(() => t.create({ workspace, name: "refused", definition }), what)
      assert.deepStrictEqual([error._tag, error.field, error.message], ["InvalidInput", field, message], what)
    }
    assert.deepStrictEqual(await t.environments({ workspace }), [])
  })

  it("every call's arguments of the wrong type reject with InvalidInput naming them, appending nothing", { timeout: 60_000 }, async () => {
    const workspace = "wrong-types"
    await t.create({ workspace, name: "base" })
    const cases: ReadonlyArray<readonly [string, () => Promise<unknown>, string, string]> = [
      ["create: a name not text", () => t.create({ workspace, name: 42 as Untyped }), "name", "name: Expected string"],
      ["create: no input", () => t.create(undefined as Untyped), "input", "input: Expected object"],
      [
        "create: a misspelt definition, which would otherwise register the default one",
        () => t.create({ workspace, name: "x", defintion: { python: { conda: { pip: ["numpy"] } } } } as Untyped),
        "defintion",
        "defintion: no such field"
      ],
      [
        // Curated environments come only from the catalog that ships with Terrarium.
        "create: curated is not for callers",
        () => t.create({ workspace, name: "x", curated: true } as Untyped),
        "curated",
        "curated: no such field"
      ],
      [
        "addPackage: a spec not text",
        () => t.addPackage("base", { pip: 3 } as Untyped, { workspace }),
        "spec.pip",
        "spec.pip: Expected string"
      ],
      [
        "addPackage: a spec as bare text",
        () => t.addPackage("base", "numpy" as Untyped, { workspace }),
        "spec",
        `spec "numpy": a package is given as { pip: text } or { conda: text }`
      ],
      [
        "addPackage: a spec naming two managers",
        () => t.addPackage("base", { pip: "numpy", conda: "numpy" } as Untyped, { workspace }),
        "spec.conda",
        `spec.conda "numpy": no such field`
      ],
      [
        "removePackage: a name not text",
        () => t.removePackage(null as Untyped, { pip: "numpy" }, { workspace }),
        "name",
        "name: Expected string"
      ],
      [
        "setVariable: a value not text",
        () => t.setVariable("base", "OMP_NUM_THREADS", 4 as Untyped, { workspace }),
        "value",
        "value: Expected string"
      ],
      [
        "setVariable: a workspace not text",
        () => t.setVariable("base", "OMP_NUM_THREADS", "4", { workspace: 7 as Untyped }),
        "workspace",
        "workspace: Expected string | undefined"
      ],
      [
        "setVariable: options not an object",
        () => t.setVariable("base", "OMP_NUM_THREADS", "4", workspace as Untyped),
        "options",
        `options "wrong-types": Expected object | undefined`
      ],
      [
        "register: a version not text",
        () => t.register("base", { workspace, version: 2 as Untyped }),
        "version",
        "version: Expected string | undefined"
      ],
      ["show: a reference not text", () => t.show(undefined as Untyped, { workspace }), "ref", "ref: Expected string"],
      [
        "show: an asOf of no kind it takes",
        () => t.show("base", { workspace, asOf: true as Untyped }),
        "asOf",
        "asOf: Expected a log position (a number), a Date or text"
      ],
      [
        "versions: includeArchived not a flag",
        () => t.versions("base", { workspace, includeArchived: "yes" as Untyped }),
        "includeArchived",
        `includeArchived "yes": Expected boolean | undefined`
      ],
      ["diff: a reference not text", () => t.diff("base:1", 2 as Untyped, { workspace }), "to", "to: Expected string"],
      ["label: a label not text", () => t.label("base:1", null as Untyped, { workspace }), "label", "label: Expected string"],
      ["audit: a name not text", () => t.audit({} as Untyped, { workspace }), "name", "name: Expected string"],
      ["createFromFile: no file", () => t.createFromFile(undefined as Untyped, { workspace }), "file", "file: Expected string"],
      ["createFromFile: a name not text", () => t.createFromFile("env.yml", { workspace, name: 5 as Untyped }), "name", "name: Expected string | undefined"],
      ["clone: no source", () => t.clone(undefined as Untyped, "copy", { workspace }), "source", "source: Expected string"],
      ["clone: a new name not text", () => t.clone("base", 7 as Untyped, { workspace }), "name", "name: Expected string"],
      ["clone: a source workspace not text", () => t.clone("base", "copy", { workspace, sourceWorkspace: 1 as Untyped }), "sourceWorkspace", "sourceWorkspace: Expected string | undefined"],
      ["syncCurated: force not a flag", () => t.syncCurated({ force: "yes" as Untyped }), "force", `force "yes": Expected boolean | undefined`]
    ]
    for (const [what, attempt, field, message] of cases) {
      const error = await rejection(attempt, what)
      assert.deepStrictEqual([error._tag, error.field, error.message], ["InvalidInput", field, message], what)
    }
    const [base, ...others] = await t.environments({ workspace })
    assert.deepStrictEqual([base?.name, base?.versionCount, others], ["base", 1, []])
    assert.deepStrictEqual((await t.audit("base", { workspace })).map((a) => a.eventType), ["Defined", "Registered"])
  })
})

describe("createTerrarium: the curated catalog", () => {
  let t: TerrariumClient
  beforeAll(async () => {
    t = await createTerrarium({ dataDir: "memory://", actor: "client-test", curatedCatalog: true })
  }, 120_000)
  afterAll(() => t.close())

  it("is published when it opens; clone, addPackage and register customise a curated environment", { timeout: 120_000 }, async () => {
    const catalog = await t.curatedCatalog()
    assert.strictEqual(catalog.length, 62)
    assert.isFalse((await t.syncCurated()).published, "already published when the client opened")
    const source = catalog.find((r) => r.name === "AzureML-lightgbm-3.3")!
    const clone = await t.clone("AzureML-lightgbm-3.3", "my-lightgbm")
    assert.deepStrictEqual([clone.clonedFrom.name, clone.clonedFrom.version, clone.clonedFrom.canonicalHash], [source.name, source.latestVersion, source.canonicalHash])
    await t.addPackage("my-lightgbm", { pip: "rich==13.7.1" })
    const registered = await t.register("my-lightgbm")
    assert.notStrictEqual(registered.canonicalHash, source.canonicalHash)
    const error = await t.addPackage("AzureML-lightgbm-3.3", { pip: "rich" }).then(() => undefined, (e: unknown) => e as { _tag: string; reason: { _tag: string } })
    assert.deepStrictEqual([error?._tag, error?.reason._tag], ["EnvironmentError", "CuratedReadOnly"])
  })
})

describe("decodeDefinitionInput", () => {
  it.effect("an empty definition is the default one", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* decodeDefinitionInput({}), emptyDefinition)
      assert.deepStrictEqual(yield* decodeDefinitionInput(undefined), emptyDefinition)
    }))

  it.effect("specs given as text are parsed; one that does not parse is named by its index", () =>
    Effect.gen(function*() {
      const definition = yield* decodeDefinitionInput({ python: { conda: { conda: ["conda-forge::Python=3.11"], pip: ["NumPy >= 1.26"] } } })
      assert.deepStrictEqual(definition.python.conda?.conda.map((c) => [c.channel, c.name, c.version]), [["conda-forge", "python", "3.11.*"]])
      assert.deepStrictEqual(definition.python.conda?.pip.map((p) => [p.name, p.specifier]), [["numpy", ">=1.26"]])
      const error = yield* decodeDefinitionInput({ python: { conda: { conda: ["python", "=>"] } } }).pipe(Effect.flip)
      assert.deepStrictEqual([error._tag, error.field], ["InvalidInput", "definition.python.conda.conda[1]"])
    }))
})

describe("createTerrarium: what the CLI's commands do, the library does", () => {
  let t: TerrariumClient
  const dir = mkdtempSync(join(tmpdir(), "terrarium-client-"))
  beforeAll(async () => {
    t = await createTerrarium({ dataDir: "memory://", actor: "client-test", buildContextDir: join(dir, "contexts") })
  }, 60_000)
  afterAll(async () => {
    await t.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it("cancelBuild, as environment build --cancel: nothing queued or running is NothingToCancel; a bad reference is InvalidInput", { timeout: 60_000 }, async () => {
    await t.create({ name: "never-built", definition: { docker: { base: { kind: "image", image: "python:3.11" } } } })
    const none = await rejection(() => t.cancelBuild("never-built:1"), "nothing to cancel") as unknown as { _tag: string; message: string }
    assert.strictEqual(none._tag, "NothingToCancel")
    assert.match(none.message, /no build of terrarium\/env:[0-9a-f]{16} is queued or running/)
    const wrong = await rejection(() => t.cancelBuild(5 as Untyped), "a reference not text")
    assert.strictEqual(wrong._tag, "InvalidInput")
  })

  it("refreshImages, as image refresh: nothing built is nothing to check; a named unbuilt version fails alone; bad input is InvalidInput", { timeout: 60_000 }, async () => {
    await t.create({ name: "unrefreshed", definition: { docker: { base: { kind: "image", image: "127.0.0.1:5999/team/python:1" } } } })
    assert.deepStrictEqual(await t.refreshImages(), [])
    const [named] = await t.refreshImages(["unrefreshed:1"])
    assert.strictEqual(named?.outcome, "failed")
    assert.match(named?.detail ?? "", /no image has been built for unrefreshed:1/)
    const wrong = await rejection(() => t.refreshImages([5] as Untyped), "a reference not text")
    assert.strictEqual(wrong._tag, "InvalidInput")
    const bad = await rejection(() => t.refreshImages(["a b:1"]), "a reference that is none")
    assert.strictEqual(bad._tag, "InvalidReference")
    const workspace = await rejection(() => t.refreshImages(undefined, { workspace: "no such workspace!" }), "a workspace that breaks the rule")
    assert.strictEqual(workspace._tag, "InvalidInput")
  })

  it("build's push option, as environment build --push --registry: a bad registry or option is InvalidInput before anything is built", { timeout: 60_000 }, async () => {
    await t.create({ name: "to-push", definition: { docker: { base: { kind: "image", image: "python:3.11" } } } })
    const bad = await rejection(() => t.build("to-push:1", { push: { registry: "http://127.0.0.1:5000/team" } }), "a URL, not HOST/REPOSITORY")
    assert.strictEqual(bad._tag, "InvalidInput")
    assert.strictEqual(bad.field, "registry")
    assert.include(bad.message, "HOST[:PORT]/REPOSITORY")
    const nowhere = await rejection(() => t.build("to-push:1", { push: true }), "no registry at all")
    assert.include(nowhere.message, "TERRARIUM_REGISTRY")
    const typed = await rejection(() => t.build("to-push:1", { push: "yes" } as Untyped), "push not a flag or an object")
    assert.strictEqual(typed._tag, "InvalidInput")
    assert.deepStrictEqual((await t.audit("to-push")).map((a) => a.eventType), ["Defined", "Registered"], "no build event")
  })

  it("archiveEnvironment and restoreEnvironment act on the whole environment, as environment archive NAME does", { timeout: 60_000 }, async () => {
    await t.create({ name: "whole", definition: { docker: { base: { kind: "image", image: "python:3.11" } } } })
    await t.create({ name: "whole", definition: { docker: { base: { kind: "image", image: "python:3.12" } } } })
    const archived = await t.archiveEnvironment("whole")
    assert.deepStrictEqual([archived.archived, archived.versions], [true, ["1", "2"]])
    assert.notInclude((await t.environments()).map((e) => e.name), "whole")
    assert.isTrue((await t.show("whole:1")).archived)
    const restored = await t.restoreEnvironment("whole")
    assert.deepStrictEqual([restored.archived, restored.versions], [false, ["1", "2"]])
    assert.include((await t.environments()).map((e) => e.name), "whole")
    const again = await rejection(() => t.restoreEnvironment("whole"), "restore twice")
    assert.include(again.message, "not archived")
    const wrong = await rejection(() => t.archiveEnvironment(5 as Untyped), "a name not text")
    assert.deepStrictEqual([wrong._tag, wrong.field], ["InvalidInput", "name"])
  })

  it("createFromFile stores the build context; with the folder gone, buildContext gives back its files, and share carries it", { timeout: 60_000 }, async () => {
    const project = join(dir, "project")
    const files: Record<string, string> = {
      "docker/Dockerfile": "FROM scratch\nCOPY . /app\n",
      "docker/app/main.py": "print('from the folder')\n",
      "docker/run.sh": "#!/bin/sh\nexec python /app/app/main.py\n"
    }
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(project, path)), { recursive: true })
      writeFileSync(join(project, path), text)
    }
    chmodSync(join(project, "docker/run.sh"), 0o755)
    writeFileSync(join(project, "env.yml"), "name: from-folder\nbuild:\n  path: ./docker\n")
    const registered = await t.createFromFile(join(project, "env.yml"))
    rmSync(project, { recursive: true })

    const shown = await t.show("from-folder:1")
    const base = shown.definition.docker.base
    assert.strictEqual(base.kind, "dockerfile")
    const context = await t.buildContext("from-folder:1")
    assert.strictEqual(context?.digest, base.kind === "dockerfile" ? base.contextDigest : undefined)
    const got = Object.fromEntries((context?.entries ?? []).map((e) => [`docker/${e.path}`, new TextDecoder().decode(e.content)]))
    assert.deepStrictEqual(got, files)
    assert.isTrue(context?.entries.find((e) => e.path === "run.sh")?.executable)

    const shared = await t.share("from-folder:1", { toWorkspace: "team-b", shareWithVersion: "7" })
    assert.deepStrictEqual([shared.to.workspace, shared.to.version, shared.to.canonicalHash, shared.buildContext], [
      "team-b", "7", registered.canonicalHash, "stored"
    ])
    assert.deepStrictEqual(await t.buildContext("from-folder:7", { workspace: "team-b" }), context)
    const noWorkspace = await rejection(() => t.share("from-folder:1", {} as Untyped), "share without toWorkspace")
    assert.deepStrictEqual([noWorkspace._tag, noWorkspace.field], ["InvalidInput", "toWorkspace"])
    const badWorkspace = await rejection(() => t.share("from-folder:1", { toWorkspace: "Team B" }), "share to a bad workspace name")
    assert.deepStrictEqual([badWorkspace._tag, badWorkspace.field], ["InvalidInput", "toWorkspace"])
  })
})
