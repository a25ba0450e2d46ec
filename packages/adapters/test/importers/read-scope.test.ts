/**
 * What a definition may read, against real directories: every file an environment file names
 * (a conda file, an `-r` include, a `-c` constraints file, a Dockerfile, a build context) must be
 * inside the environment file's folder tree (a Dockerfile inside its build context), judged on the
 * real path, whichever way it is named: relative, absolute, through `..`, through a symbolic link
 * or a linked folder. `allowOutside` widens it. Only regular files are read, told by their type
 * (a FIFO, a socket, a device, a `/proc` pseudo-file), and no file past the size limit.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { type ImportError, importEnvironmentFile, type ImportOptions } from "../../src/importers/index.ts"

const localDisk = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)

// Real paths, so that what the messages name can be compared (the temporary folder may be a link).
const root = realpathSync(mkdtempSync(join(tmpdir(), "terrarium-scope-")))
const servers: Array<Server> = []
afterAll(() => {
  for (const server of servers) server.close()
  rmSync(root, { recursive: true, force: true })
})
let made = 0

/** A secret beside every project, outside its folder: no import may read it. */
const SECRET = "SECRET_TOKEN_abc123"

type Files = Record<string, string | { readonly symlink: string }>

/**
 * A fresh folder holding `outside/` (a secret, a conda file, a requirements file and a Dockerfile,
 * all valid, so that only the rule can refuse them) and `project/` with `files` (text, or a link;
 * given the `outside` folder when links point into it).
 */
const layout = (files: Files | ((outside: string) => Files)) => {
  const dir = join(root, String(made++))
  const write = (path: string, content: string | { readonly symlink: string }) => {
    const file = join(dir, path)
    mkdirSync(dirname(file), { recursive: true })
    if (typeof content === "string") writeFileSync(file, content)
    else symlinkSync(content.symlink, file)
  }
  write("outside/secret.txt", `${SECRET}\n`)
  write("outside/conda.yml", "dependencies:\n  - python=3.11\n")
  write("outside/requirements.txt", "numpy==1.26.4\n")
  write("outside/Dockerfile", "FROM python:3.11\n")
  write("outside/context/Dockerfile", "FROM python:3.11\n")
  const outside = join(dir, "outside")
  mkdirSync(join(dir, "project"))
  for (const [path, content] of Object.entries(typeof files === "function" ? files(outside) : files)) write(join("project", path), content)
  return { dir, project: join(dir, "project"), outside }
}

const importIn = (file: string, options: ImportOptions = {}) => importEnvironmentFile(file, options)

/** The refusal names the file and line that refer, the field, where it resolved to, and how to allow it. */
const assertOutside = (error: ImportError, at: { file: string; line: number; field: string }, resolved: string) => {
  assert.strictEqual(error._tag, "ImportError")
  assert.strictEqual(error.file, at.file)
  assert.strictEqual(error.line, at.line)
  assert.isTrue(error.message.startsWith(`${at.file}:${at.line}: `), error.message)
  assert.include(error.message, at.field)
  assert.include(error.message, `which is ${resolved}, outside`)
  assert.include(error.message, `--allow-outside ${dirname(resolved)}`)
  assert.include(error.message, "allowOutside")
  assert.notInclude(error.message, SECRET)
}

layer(localDisk)("what a definition may read", (it) => {
  describe("conda_file of an AzureML environment", () => {
    it.effect("inside the folder tree, named relatively, absolutely or through a .. that stays inside: read", () =>
      Effect.gen(function*() {
        for (const reference of ["env/conda.yml", "./env/../env/conda.yml", "ABSOLUTE"]) {
          const { project } = layout({ "env/conda.yml": "dependencies:\n  - python=3.10\n" })
          const named = reference === "ABSOLUTE" ? join(project, "env/conda.yml") : reference
          writeFileSync(join(project, "env.yml"), `name: e\nimage: python:3.11\nconda_file: ${named}\n`)
          const env = yield* importIn(join(project, "env.yml"))
          assert.strictEqual(env.definition.python.conda?.conda[0]?.version, "3.10.*", reference)
        }
      }))

    it.effect("outside, named through .., absolutely, by a link or through a linked folder: refused at its line", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<(outside: string) => readonly [string, Files]> = [
          () => ["../outside/conda.yml", {}],
          (outside) => [join(outside, "conda.yml"), {}],
          (outside) => ["link.yml", { "link.yml": { symlink: join(outside, "conda.yml") } }],
          (outside) => ["linked/conda.yml", { linked: { symlink: outside } }],
          (outside) => ["inside/linked/conda.yml", { "inside/linked": { symlink: outside } }]
        ]
        for (const make of cases) {
          let reference = ""
          const { project, outside } = layout((outside) => {
            const [named, files] = make(outside)
            reference = named
            return files
          })
          writeFileSync(join(project, "env.yml"), `name: e\nimage: python:3.11\nconda_file: ${reference}\n`)
          const error = yield* importIn(join(project, "env.yml")).pipe(Effect.flip)
          assertOutside(error, { file: join(project, "env.yml"), line: 3, field: "conda_file" }, join(outside, "conda.yml"))
          assert.strictEqual(error.field, "conda_file")
        }
      }))

    it.effect("allowOutside widens the rule to the folders it names, and only to them", () =>
      Effect.gen(function*() {
        const { project, outside } = layout({ "env.yml": "name: e\nimage: python:3.11\nconda_file: ../outside/conda.yml\n" })
        const env = yield* importIn(join(project, "env.yml"), { allowOutside: [outside] })
        assert.strictEqual(env.definition.python.conda?.conda[0]?.version, "3.11.*")
        mkdirSync(join(root, `elsewhere-${made}`))
        const elsewhere = yield* importIn(join(project, "env.yml"), { allowOutside: [join(root, `elsewhere-${made}`)] }).pipe(Effect.flip)
        assert.include(elsewhere.message, "outside the environment file's folder")
        const missing = yield* importIn(join(project, "env.yml"), { allowOutside: [join(root, "no-such-folder")] }).pipe(Effect.flip)
        assert.include(missing.message, "must exist")
      }))
  })

  describe("the Dockerfile and the build context", () => {
    it.effect("dockerfile_path leaving the build context is refused, and the file's text is nowhere", () =>
      Effect.gen(function*() {
        const { project, outside } = layout({ "ctx/app.py": "print(1)\n" })
        const depth = project.split("/").length
        const up = "../".repeat(depth + 2)
        for (const [dockerfilePath, resolved] of [
          [`${up}${join(outside, "secret.txt").slice(1)}`, join(outside, "secret.txt")],
          ["../../outside/Dockerfile", join(outside, "Dockerfile")],
          ["../env.yml", join(project, "env.yml")]
        ] as const) {
          writeFileSync(join(project, "env.yml"), `name: e\nbuild:\n  path: ctx\n  dockerfile_path: ${dockerfilePath}\n`)
          const error = yield* importIn(join(project, "env.yml")).pipe(Effect.flip)
          assertOutside(error, { file: join(project, "env.yml"), line: 4, field: "build.dockerfile_path" }, resolved)
          assert.include(error.message, "outside the build context")
        }
      }))

    it.effect("a Dockerfile that is a link out of the context, or in a linked folder, is refused", () =>
      Effect.gen(function*() {
        for (const [files, dockerfilePath] of [
          [(outside: string): Files => ({ "ctx/Dockerfile": { symlink: join(outside, "Dockerfile") } }), "Dockerfile"],
          [(outside: string): Files => ({ "ctx/docker": { symlink: outside } }), "docker/Dockerfile"]
        ] as const) {
          const { project, outside } = layout((outside) => ({
            ...files(outside),
            "env.yml": `name: e\nbuild:\n  path: ctx\n  dockerfile_path: ${dockerfilePath}\n`
          }))
          const error = yield* importIn(join(project, "env.yml")).pipe(Effect.flip)
          assertOutside(error, { file: join(project, "env.yml"), line: 4, field: "build.dockerfile_path" }, join(outside, "Dockerfile"))
        }
      }))

    it.effect("a build context outside the folder tree is refused, whether named by .., absolutely or through a link", () =>
      Effect.gen(function*() {
        for (const make of [
          (): readonly [string, Files] => ["../outside/context", {}],
          (outside: string): readonly [string, Files] => [join(outside, "context"), {}],
          (outside: string): readonly [string, Files] => ["ctx", { ctx: { symlink: join(outside, "context") } }]
        ]) {
          const { project, outside } = layout((outside) => {
            const [path, files] = make(outside)
            return { ...files, "env.yml": `name: e\nbuild:\n  path: ${path}\n` }
          })
          const error = yield* importIn(join(project, "env.yml")).pipe(Effect.flip)
          assertOutside(error, { file: join(project, "env.yml"), line: 3, field: "build.path" }, join(outside, "context"))
        }
        // Allowed, it is read as before.
        const { project, outside } = layout({ "env.yml": "name: e\nbuild:\n  path: ../outside/context\n" })
        const env = yield* importIn(join(project, "env.yml"), { allowOutside: [outside] })
        assert.strictEqual(env.definition.docker.base.kind === "dockerfile" && env.definition.docker.base.dockerfile, "FROM python:3.11\n")
      }))
  })

  describe("-r and -c in requirements files, conda pip lists, MLflow and ARM templates", () => {
    const formats = [
      ["requirements.txt", (line: string) => `numpy\n${line}\n`, 2],
      ["conda.yml", (line: string) => `dependencies:\n  - pip\n  - pip:\n    - ${line}\n`, 4],
      ["python_env.yaml", (line: string) => `python: 3.11\ndependencies:\n  - ${line}\n`, 3],
      ["template.json", (line: string) =>
        JSON.stringify({
          resources: [{
            type: "Microsoft.MachineLearningServices/workspaces/environments/versions",
            name: "ws/e/1",
            properties: { condaFile: `dependencies:\n  - pip\n  - pip:\n    - ${line}\n` }
          }]
        }), 4]
    ] as const

    it.effect("an include or constraints file inside the tree is read, however it is named", () =>
      Effect.gen(function*() {
        for (const [name, text] of formats) {
          for (const option of ["-r", "-c"]) {
            const { project } = layout({ "deps/more.txt": "pandas==2.2.2\n", "sub/.keep": "" })
            for (const reference of ["deps/more.txt", "sub/../deps/more.txt", join(project, "deps/more.txt")]) {
              writeFileSync(join(project, name), text(`${option} ${reference}`))
              const env = yield* importIn(join(project, name))
              const conda = env.definition.python.conda
              if (option === "-r") assert.isTrue(conda?.pip.some((r) => r.name === "pandas"), `${name} ${reference}`)
              else assert.isDefined(conda?.pipOptions.constraintDigests?.[reference], `${name} ${reference}`)
            }
          }
        }
      }))

    it.effect("outside the tree, through .., absolutely, by a link or a linked folder: refused, naming the line", () =>
      Effect.gen(function*() {
        for (const [name, text, line] of formats) {
          for (const option of ["-r", "-c"]) {
            const cases: ReadonlyArray<(outside: string) => readonly [string, Files]> = [
              () => ["../outside/requirements.txt", {}],
              (outside) => [join(outside, "requirements.txt"), {}],
              (outside) => ["req.txt", { "req.txt": { symlink: join(outside, "requirements.txt") } }],
              (outside) => ["deps/requirements.txt", { deps: { symlink: outside } }]
            ]
            for (const make of cases) {
              let reference = ""
              const { project, outside } = layout((outside) => {
                const [named, files] = make(outside)
                reference = named
                return files
              })
              writeFileSync(join(project, name), text(`${option} ${reference}`))
              const error = yield* importIn(join(project, name)).pipe(Effect.flip)
              const file = name === "template.json" ? `${join(project, name)} (properties.condaFile)` : join(project, name)
              assertOutside(error, { file, line, field: option }, join(outside, "requirements.txt"))
            }
          }
        }
      }))

    it.effect("an include of an include is held to the first file's folder tree", () =>
      Effect.gen(function*() {
        const { project, outside } = layout({ "requirements.txt": "-r deps/a.txt\n", "deps/a.txt": "numpy\n-r ../../outside/requirements.txt\n" })
        const error = yield* importIn(join(project, "requirements.txt")).pipe(Effect.flip)
        assertOutside(error, { file: join(project, "deps/a.txt"), line: 2, field: "-r" }, join(outside, "requirements.txt"))
      }))
  })

  describe("only regular files, by type", () => {
    it.effect("a FIFO, a socket, a device or a /proc pseudo-file is refused, named or included", () =>
      Effect.gen(function*() {
        const { project } = layout({ "requirements.txt": "numpy\n" })
        execFileSync("mkfifo", [join(project, "fifo")])
        const socket = join(project, "sock")
        yield* Effect.callback<void>((resume) => {
          const server = createServer()
          servers.push(server)
          server.listen(socket, () => resume(Effect.void))
        })
        for (const [target, type, allow] of [
          [join(project, "fifo"), "a FIFO (named pipe)", []],
          [socket, "a socket", []],
          ["/dev/null", "a character device", ["/dev"]],
          ["/dev/zero", "a character device", ["/dev"]],
          [join(project, "deps"), "a directory", []]
        ] as const) {
          mkdirSync(join(project, "deps"), { recursive: true })
          writeFileSync(join(project, "requirements.txt"), `numpy\n-r ${target}\n`)
          const included = yield* importIn(join(project, "requirements.txt"), { allowOutside: [...allow] }).pipe(Effect.flip)
          assert.include(included.message, `is ${type}; only regular files are read`, target)
          assert.strictEqual(included.line, 2)
          if (type !== "a directory") {
            const named = yield* importIn(target, { kind: "pip-requirements" }).pipe(Effect.flip)
            assert.include(named.message, `is ${type}; only regular files are read`, target)
          }
        }
        // A /proc file is a "regular file" whose size says 0: what it holds is not read.
        writeFileSync(join(project, "requirements.txt"), "numpy\n-r /proc/self/environ\n")
        const environ = yield* importIn(join(project, "requirements.txt"), { allowOutside: ["/proc"] }).pipe(Effect.flip)
        assert.include(environ.message, "pseudo-file")
        assert.strictEqual(environ.line, 2)
        const named = yield* importIn("/proc/self/environ", { kind: "pip-requirements" }).pipe(Effect.flip)
        assert.include(named.message, "pseudo-file")
      }))
  })

  describe("limits", () => {
    it.effect("a file past the size limit is refused, naming the limit and how to raise it", () =>
      Effect.gen(function*() {
        const { project } = layout({ "requirements.txt": "numpy\n-r big.txt\n", "big.txt": `${"x".repeat(2000)}\n` })
        const included = yield* importIn(join(project, "requirements.txt"), { maxFileBytes: 1000 }).pipe(Effect.flip)
        assert.strictEqual(included.line, 2)
        assert.include(included.message, "larger than the limit of 1000 bytes")
        assert.include(included.message, "TERRARIUM_MAX_FILE_BYTES")
        const named = yield* importIn(join(project, "big.txt"), { maxFileBytes: 1000 }).pipe(Effect.flip)
        assert.include(named.message, "larger than the limit of 1000 bytes")
        // Raised, it is read.
        const raised = yield* importIn(join(project, "big.txt"), { maxFileBytes: 4000 })
        assert.strictEqual(raised.definition.python.conda?.pip.length, 1)
        // The environment variable sets it too.
        const byVariable = yield* importIn(join(project, "big.txt")).pipe(
          Effect.flip,
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { TERRARIUM_MAX_FILE_BYTES: "1500" } })))
        )
        assert.include(byVariable.message, "larger than the limit of 1500 bytes")
      }))

    it.effect("-r includes nest no deeper than the limit", () =>
      Effect.gen(function*() {
        const { project } = layout({
          "requirements.txt": "-r a.txt\n",
          "a.txt": "-r b.txt\n",
          "b.txt": "-r c.txt\n",
          "c.txt": "-r d.txt\n",
          "d.txt": "numpy\n"
        })
        const env = yield* importIn(join(project, "requirements.txt"), { maxIncludeDepth: 4 })
        assert.deepStrictEqual(env.definition.python.conda?.pip.map((r) => r.name), ["numpy"])
        const error = yield* importIn(join(project, "requirements.txt"), { maxIncludeDepth: 3 }).pipe(Effect.flip)
        assert.strictEqual(error.file, join(project, "c.txt"))
        assert.strictEqual(error.line, 1)
        assert.include(error.message, "deeper than the limit of 3")
        assert.include(error.message, "TERRARIUM_MAX_INCLUDE_DEPTH")
      }))
  })
})
