/**
 * The stored build context in an export: a version registered from a folder is exported, after
 * the folder is gone, with the context's files (bytes, execute bits, links), and imported again
 * to the same canonical hash. Links that lead out of the context are not written, and said; so is
 * a context the registry does not have. The folder writer makes links last and writes through none.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, layer } from "@effect/vitest"
import { type BuildContext, type BuildContextEntry, buildContextDigest, CanonicalHash, type Definition, emptyDefinition } from "@terrarium/domain"
import { Effect, Layer, Result } from "effect"
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { readBuildContext } from "../../src/build-context/BuildContext.ts"
import { type DefinitionExport, type ExportFormat, exportDefinition, unstatedDifferences } from "../../src/exporters/DefinitionExport.ts"
import { writeExport } from "../../src/exporters/ExportFolder.ts"
import { importEnvironmentFile, parseAzureMLEnvironment } from "../../src/importers/index.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)
const scratch = mkdtempSync(join(tmpdir(), "terrarium-export-context-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))
let n = 0
const folder = () => join(scratch, String(n++))

const DOCKERFILE = "FROM python:3.11-slim\nCOPY . /app\nCMD [\"/app/current\"]\n"
const BINARY = new Uint8Array([0, 1, 2, 0xfe, 0xff, 10, 13])

/** A v2 environment whose build context has an executable, a binary file and two relative links. */
const registeredFromFolder = () =>
  Effect.gen(function*() {
    const source = folder()
    mkdirSync(join(source, "docker", "bin"), { recursive: true })
    writeFileSync(join(source, "environment.yml"), "name: ctx\nversion: \"1\"\nbuild:\n  path: docker\n  dockerfile_path: Dockerfile\n")
    writeFileSync(join(source, "docker", "Dockerfile"), DOCKERFILE)
    writeFileSync(join(source, "docker", "bin", "run.sh"), "#!/bin/sh\necho run\n")
    chmodSync(join(source, "docker", "bin", "run.sh"), 0o755)
    writeFileSync(join(source, "docker", "data.bin"), BINARY)
    symlinkSync("bin/run.sh", join(source, "docker", "current"))
    symlinkSync("bin", join(source, "docker", "tools"))
    const imported = yield* importEnvironmentFile(join(source, "environment.yml"))
    const context = yield* readBuildContext(imported.source.buildContext!, "Dockerfile")
    // What the registry has: the definition and the stored context; the folder is gone.
    rmSync(source, { recursive: true })
    return { definition: imported.definition, context: context! }
  })

/** What `environment create` does with the entry of each format (the dockerfile format: --dockerfile with --build-context OUT). */
const reimport = (format: ExportFormat, out: string, exported: DefinitionExport) =>
  format === "dockerfile"
    ? parseAzureMLEnvironment(join(out, "(command line)"), `build: {path: ${JSON.stringify(out)}, dockerfile_path: ${JSON.stringify(exported.entry)}}\n`)
    : importEnvironmentFile(exported.entry === "." ? out : join(out, exported.entry))

const exportAndReimport = (definition: Definition, context: BuildContext | undefined, format: ExportFormat) =>
  Effect.gen(function*() {
    const exported = Result.getOrThrow(exportDefinition({ name: "ctx", version: "1", definition, context }, format))
    const out = folder()
    yield* writeExport(out, exported)
    const again = (yield* reimport(format, out, exported)).definition
    return { exported, again, out }
  })

const fields = (e: DefinitionExport) => e.leftOut.map((o) => o.field)
const hashOf = (d: Definition) => CanonicalHash.hash(d)
const contextDigestOf = (d: Definition) => (d.docker.base.kind === "dockerfile" ? d.docker.base.contextDigest : undefined)

/** A definition built from `dockerfile` in a context of `entries`, with their digest. */
const withEntries = (entries: ReadonlyArray<BuildContextEntry>) =>
  Effect.gen(function*() {
    const { digest } = yield* buildContextDigest(entries, "sha256:")
    const definition: Definition = {
      ...emptyDefinition,
      python: { userManagedDependencies: true, interpreterPath: "python" },
      docker: { ...emptyDefinition.docker, base: { kind: "dockerfile", dockerfile: DOCKERFILE, context: "docker", dockerfilePath: "Dockerfile", contextDigest: digest } }
    }
    return { definition, context: { digest, entries } satisfies BuildContext }
  })

const file = (path: string, text: string, executable = false): BuildContextEntry => ({ path, executable, content: new TextEncoder().encode(text) })
const link = (path: string, linkTarget: string): BuildContextEntry => ({ path, executable: false, content: new Uint8Array(), linkTarget })

layer(localDisk)("exporters: the stored build context", (it) => {
  it.effect("AzureML v2: the stored context is written, bytes, execute bits and links, and re-imports to the same hash", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* registeredFromFolder()
      assert.isDefined(contextDigestOf(definition))
      const { exported, again, out } = yield* exportAndReimport(definition, context, "azureml-v2")
      assert.deepStrictEqual(exported.leftOut, [])
      assert.strictEqual(yield* hashOf(again), yield* hashOf(definition))
      assert.strictEqual(contextDigestOf(again), contextDigestOf(definition))
      const docker = join(out, "docker")
      assert.deepStrictEqual(readdirSync(docker).sort(), ["Dockerfile", "bin", "current", "data.bin", "tools"])
      assert.deepStrictEqual(new Uint8Array(readFileSync(join(docker, "data.bin"))), BINARY)
      assert.strictEqual(statSync(join(docker, "bin", "run.sh")).mode & 0o100, 0o100)
      assert.strictEqual(statSync(join(docker, "data.bin")).mode & 0o100, 0)
      assert.isTrue(lstatSync(join(docker, "current")).isSymbolicLink())
      assert.strictEqual(readlinkSync(join(docker, "current")), "bin/run.sh")
      assert.strictEqual(readlinkSync(join(docker, "tools")), "bin")
    }))

  it.effect("dockerfile: the export folder holds the stored context, which digests as before; only the context path differs", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* registeredFromFolder()
      const { exported, again } = yield* exportAndReimport(definition, context, "dockerfile")
      assert.strictEqual(contextDigestOf(again), contextDigestOf(definition))
      assert.deepStrictEqual(fields(exported), ["docker.base"])
      assert.deepStrictEqual(unstatedDifferences(definition, again, exported.leftOut), [])
    }))

  it.effect("AzureML v1 holds no context's files, and says so", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* registeredFromFolder()
      const { exported, again } = yield* exportAndReimport(definition, context, "azureml-v1-dir")
      assert.include(fields(exported), "docker.base.contextDigest")
      assert.match(exported.leftOut.find((o) => o.field === "docker.base.contextDigest")!.reason, /v1 importer reads no build context/)
      assert.deepStrictEqual(unstatedDifferences(definition, again, exported.leftOut), [])
    }))

  it.effect("a context the registry does not have (or another digest's) is said to be left out; the hash differs", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* registeredFromFolder()
      for (const given of [undefined, { ...context, digest: `sha256:${"0".repeat(64)}` }]) {
        const { exported, again, out } = yield* exportAndReimport(definition, given, "azureml-v2")
        assert.deepStrictEqual(fields(exported), ["docker.base.contextDigest"])
        assert.match(exported.leftOut[0]!.reason, /not stored in the registry/)
        assert.deepStrictEqual(readdirSync(join(out, "docker")), ["Dockerfile"])
        assert.notStrictEqual(yield* hashOf(again), yield* hashOf(definition))
      }
    }))

  it.effect("links that lead out of the context (absolute, past its root, through another link) are not written, and said", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* withEntries([
        file("Dockerfile", DOCKERFILE),
        link("absolute", "/etc/passwd"),
        link("up", "../outside"),
        link("sub/deep", "../../outside"),
        link("self", "."),
        link("via", "self/.."),
        link("loop-a", "loop-b"),
        link("loop-b", "loop-a"),
        link("inside", "sub/../Dockerfile"),
        link("empty", "")
      ])
      const { exported, again, out } = yield* exportAndReimport(definition, context, "azureml-v2")
      const docker = join(out, "docker")
      assert.deepStrictEqual(readdirSync(docker).sort(), ["Dockerfile", "inside", "self"])
      assert.strictEqual(readlinkSync(join(docker, "self")), ".")
      const statement = exported.leftOut.find((o) => o.field === "docker.base.contextDigest")
      assert.isDefined(statement)
      for (const name of ["absolute", "up", "sub/deep", "via", "loop-a"]) assert.include(statement!.reason, `"${name}"`)
      assert.match(statement!.reason, /and 2 more/)
      assert.isTrue(statement!.buildRelevant)
      assert.deepStrictEqual(unstatedDifferences(definition, again, exported.leftOut), [])
      assert.notStrictEqual(yield* hashOf(again), yield* hashOf(definition))
    }))

  it.effect("an entry below a link (no walk gives one) is not written, so nothing is written through the link", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* withEntries([file("Dockerfile", DOCKERFILE), link("a", "b"), file("a/x", "x")])
      const { exported, out } = yield* exportAndReimport(definition, context, "azureml-v2")
      assert.match(exported.leftOut.find((o) => o.field === "docker.base.contextDigest")!.reason, /"a\/x" \(below a symbolic link\)/)
      assert.isFalse(existsSync(join(out, "docker", "b")))
    }))

  it.effect("a context file where the export writes its own (a context at the export's root) is not written, and said", () =>
    Effect.gen(function*() {
      const entries = [file("Dockerfile", DOCKERFILE), file("environment.yml", "name: original\n"), file("app.py", "print(1)\n")]
      const { definition, context } = yield* withEntries(entries)
      const atRoot: Definition = { ...definition, docker: { ...definition.docker, base: { ...definition.docker.base, context: "." } as Definition["docker"]["base"] } }
      const { exported, out } = yield* exportAndReimport(atRoot, context, "azureml-v2")
      assert.match(exported.leftOut.find((o) => o.field === "docker.base.contextDigest")!.reason, /"environment.yml" \(the export writes its own environment.yml there\)/)
      assert.strictEqual(readFileSync(join(out, "app.py"), "utf8"), "print(1)\n")
      assert.include(readFileSync(join(out, "environment.yml"), "utf8"), "build:")
    }))

  it.effect("a stored Dockerfile whose text is not the definition's: the definition's is written, and said", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* withEntries([file("Dockerfile", "FROM {{latest-image-tag}}\n")])
      const { exported, out } = yield* exportAndReimport(definition, context, "azureml-v2")
      assert.strictEqual(readFileSync(join(out, "docker", "Dockerfile"), "utf8"), DOCKERFILE)
      assert.match(exported.leftOut.find((o) => o.field === "docker.base.contextDigest")!.reason, /definition's Dockerfile text differs/)
    }))

  it.effect("a forced export keeps other files beside the context, but refuses one inside it, which the re-import would digest", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* registeredFromFolder()
      const exported = Result.getOrThrow(exportDefinition({ name: "ctx", version: "1", definition, context }, "azureml-v2"))
      const out = folder()
      mkdirSync(join(out, "docker", "bin"), { recursive: true })
      writeFileSync(join(out, "notes.txt"), "mine\n")
      writeFileSync(join(out, "environment.yml"), "stale\n")
      writeFileSync(join(out, "docker", "bin", "stale.sh"), "stale\n")
      const error = yield* Effect.flip(writeExport(out, exported, { force: true }))
      assert.match(error.message, /docker: holds 1 entries the export does not write \("docker\/bin\/stale.sh"\), which the re-import would digest/)
      assert.strictEqual(readFileSync(join(out, "environment.yml"), "utf8"), "stale\n", "nothing removed either")
      rmSync(join(out, "docker", "bin", "stale.sh"))
      yield* writeExport(out, exported, { force: true })
      assert.strictEqual(readFileSync(join(out, "notes.txt"), "utf8"), "mine\n")
      const again = yield* importEnvironmentFile(join(out, "environment.yml"))
      assert.strictEqual(yield* hashOf(again.definition), yield* hashOf(definition))
    }))

  it.effect("a forced export into a folder whose sub-folder is a link is refused before anything is written", () =>
    Effect.gen(function*() {
      const { definition, context } = yield* registeredFromFolder()
      const out = folder()
      const elsewhere = folder()
      mkdirSync(out)
      mkdirSync(elsewhere)
      writeFileSync(join(elsewhere, "Dockerfile"), "keep\n")
      symlinkSync(elsewhere, join(out, "docker"))
      const exported = Result.getOrThrow(exportDefinition({ name: "ctx", version: "1", definition, context }, "azureml-v2"))
      const error = yield* Effect.flip(writeExport(out, exported, { force: true }))
      assert.match(error.message, /is a symbolic link where the export writes a folder; nothing was written/)
      assert.deepStrictEqual(readdirSync(elsewhere), ["Dockerfile"])
      assert.strictEqual(readFileSync(join(elsewhere, "Dockerfile"), "utf8"), "keep\n")
      assert.deepStrictEqual(readdirSync(out), ["docker"])
    }))
})
