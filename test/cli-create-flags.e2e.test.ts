/**
 * `environment create` flags for the parts of a definition that had none: a Dockerfile and its
 * build context, a user-managed Python and its interpreter, GPU support, shared memory, docker run
 * arguments, a base image registry with credentials by reference. Each one shows in `show -o json`
 * (and in `show`); a bad value is a usage error naming its flag, and nothing is appended.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { json, runCli, tempDir } from "./support/cli.ts"

const home = tempDir("terrarium-create-flags-")
const env = { TERRARIUM_HOME: home.path }
const cli = (...args: Array<string>) => runCli(args, env)
const head = () => json<{ headPosition: number }>(cli("db", "status", "-o", "json")).headPosition

afterAll(() => home.remove())

describe("environment create flags", () => {
  it("an image with user-managed Python, interpreter, GPU, shm size, docker args and a registry by reference", { timeout: 120_000 }, () => {
    json(cli(
      "environment", "create", "--name", "gpu-env", "--image", "nvcr.example/pytorch:24.01",
      "--user-managed", "--interpreter-path", "/opt/conda/bin/python",
      "--gpu", "--shm-size", "8g", "--docker-arg=--ipc=host", "--docker-arg=--ulimit=memlock=-1",
      "--base-image-registry", "nvcr.example", "--registry-username-ref", "env:NVCR_USER", "--registry-password-ref", "keyvault:kv/nvcr",
      "-o", "json"
    ))
    const shown = json(cli("environment", "show", "gpu-env:1", "-o", "json"))
    const d = shown.definition
    assert.deepStrictEqual(d.python, { userManagedDependencies: true, interpreterPath: "/opt/conda/bin/python" })
    assert.strictEqual(d.docker.gpuSupport, true)
    assert.strictEqual(d.docker.shmSize, "8g")
    assert.deepStrictEqual(d.docker.runArguments, ["--ipc=host", "--ulimit=memlock=-1"])
    assert.deepStrictEqual(d.docker.baseImageRegistry, { address: "nvcr.example", username: "env:NVCR_USER", password: "keyvault:kv/nvcr" })
    assert.deepStrictEqual(d.docker.base, { kind: "image", image: "nvcr.example/pytorch:24.01" })

    const text = cli("environment", "show", "gpu-env:1")
    assert.strictEqual(text.status, 0, text.stderr)
    assert.match(text.stdout, /user-managed \(\/opt\/conda\/bin\/python\)/)
    assert.match(text.stdout, /gpu:\s+true/)
    assert.match(text.stdout, /shm size:\s+8g/)
    assert.match(text.stdout, /docker args:\s+--ipc=host --ulimit=memlock=-1/)
    assert.match(text.stdout, /registry:\s+nvcr\.example, user env:NVCR_USER, password keyvault:kv\/nvcr/)
  })

  it("the flags lay over what --file gives", { timeout: 120_000 }, () => {
    const plain = json(cli("environment", "create", "--file", "examples/pydata/environment.yml", "-o", "json"))
    const r = json(cli("environment", "create", "--file", "examples/pydata/environment.yml", "--gpu", "--shm-size", "2g", "-o", "json"))
    assert.notStrictEqual(r.canonicalHash, plain.canonicalHash)
    const d = json(cli("environment", "show", `${r.name}:${r.version}`, "-o", "json")).definition
    assert.deepStrictEqual([d.docker.gpuSupport, d.docker.shmSize], [true, "2g"])
    assert.isDefined(d.python.conda, "the file's conda dependencies are kept")
  })

  it("a Dockerfile, its folder the build context, or --build-context; a conda file on top", { timeout: 120_000 }, () => {
    const dir = join(home.path, "docker")
    mkdirSync(join(dir, "docker"), { recursive: true })
    writeFileSync(join(dir, "docker", "Dockerfile"), "FROM python:3.11-slim\nCOPY app.py /app/\n")
    writeFileSync(join(dir, "docker", "app.py"), "print('hi')\n")
    writeFileSync(join(dir, "conda.yml"), "dependencies:\n  - python=3.11\n  - pip:\n    - requests==2.32.3\n")

    json(cli("environment", "create", "--name", "df", "--dockerfile", join(dir, "docker", "Dockerfile"), "-o", "json"))
    const own = json(cli("environment", "show", "df:1", "-o", "json")).definition.docker.base
    assert.strictEqual(own.kind, "dockerfile")
    assert.strictEqual(own.dockerfile, "FROM python:3.11-slim\nCOPY app.py /app/\n")
    assert.strictEqual(own.dockerfilePath, "Dockerfile")
    assert.strictEqual(own.context, join(dir, "docker"))
    assert.match(own.contextDigest, /^sha256:/)
    assert.match(cli("environment", "show", "df:1").stdout, /dockerfile:\s+Dockerfile/)

    json(cli(
      "environment", "create", "--name", "df", "--dockerfile", join(dir, "docker", "Dockerfile"), "--build-context", dir,
      "--conda-file", join(dir, "conda.yml"), "-o", "json"
    ))
    const wider = json(cli("environment", "show", "df:2", "-o", "json")).definition
    assert.strictEqual(wider.docker.base.context, dir)
    assert.strictEqual(wider.docker.base.dockerfilePath, join("docker", "Dockerfile"))
    assert.notStrictEqual(wider.docker.base.contextDigest, own.contextDigest)
    assert.deepStrictEqual(wider.python.conda.pip.map((p: any) => p.name), ["requests"])
    assert.strictEqual(wider.python.userManagedDependencies, false)
  })

  it("a bad value for each flag is a usage error naming the flag; nothing is appended", { timeout: 300_000 }, () => {
    const dir = join(home.path, "bad")
    mkdirSync(join(dir, "ctx"), { recursive: true })
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n")
    writeFileSync(join(dir, "conda.yml"), "dependencies:\n  - python=3.11\n")
    const image = ["--name", "bad", "--image", "python:3.11"]
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["--dockerfile", ["--name", "bad", "--dockerfile", join(dir, "missing", "Dockerfile")]],
      ["--dockerfile", ["--name", "bad", "--dockerfile", join(dir, "Dockerfile"), "--image", "python:3.11"]],
      ["--build-context", ["--name", "bad", "--dockerfile", join(dir, "Dockerfile"), "--build-context", join(dir, "ctx")]],
      ["--build-context", [...image, "--build-context", dir]],
      ["--user-managed", ["--name", "bad", "--conda-file", join(dir, "conda.yml"), "--user-managed"]],
      ["--interpreter-path", [...image, "--interpreter-path", " "]],
      ["--shm-size", [...image, "--shm-size", "lots"]],
      ["--docker-arg", [...image, "--docker-arg", ""]],
      ["--base-image-registry", [...image, "--base-image-registry", "https://me:hunter2@registry.example"]],
      ["--registry-username-ref", [...image, "--base-image-registry", "registry.example", "--registry-username-ref", "alice"]],
      ["--registry-password-ref", [...image, "--base-image-registry", "registry.example", "--registry-password-ref", "hunter2"]],
      ["--registry-password-ref", [...image, "--registry-password-ref", "env:PW"]]
    ]
    const before = head()
    for (const [flag, args] of cases) {
      const r = cli("environment", "create", ...args)
      assert.strictEqual(r.status, 2, `${args.join(" ")}: exit 2, got ${r.status}:\n${r.stderr}`)
      assert.include(r.stderr, flag, args.join(" "))
      assert.notInclude(r.stderr, "hunter2", "a secret given by value is never echoed")
      assert.strictEqual(r.stdout, "")
    }
    // --gpu takes no value: one given is refused by the parser, not taken as true.
    const gpu = cli("environment", "create", ...image, "--gpu=maybe")
    assert.strictEqual(gpu.status, 2, gpu.stderr)
    assert.include(gpu.stderr, "gpu")
    assert.strictEqual(head(), before)
  })
})
