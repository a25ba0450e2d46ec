/**
 * A PEP 503 package index on 127.0.0.1 serving tiny wheels built for the test, so that image
 * builds never reach a public index.
 *
 * Wheels are built with Debian's `/usr/bin/python3` (python3-wheel, setuptools; installed by
 * `scripts/services/docker.sh ensure`), one `pip wheel --no-build-isolation --no-deps --no-index`
 * per version (two versions of one project in one call do not resolve). Each wheel holds one
 * module (`module`, default: the name with `-` as `_`) whose `VERSION` is the wheel's version;
 * `body` replaces the module's text (e.g. one that raises on import).
 *
 * Usage: `const index = await startPackageIndex([{ name: "demo-a", version: "1.0" }])`, then
 * `pipOptions.indexUrl = index.url` (`http://127.0.0.1:PORT/simple/`); `index.close()` at the end.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { serveDirectory, type StaticServer } from "./StaticServer.ts"

export interface WheelSpec {
  readonly name: string
  readonly version: string
  readonly module?: string
  readonly body?: string
  /** Its dependencies (`install_requires`), e.g. `["demo-a==1.0"]`. */
  readonly requires?: ReadonlyArray<string>
}

export interface PackageIndex {
  /** The index URL to give pip (`--index-url`), ending in `/simple/`. */
  readonly url: string
  readonly server: StaticServer
  /** Builds and publishes more wheels. */
  readonly add: (wheels: ReadonlyArray<WheelSpec>) => Promise<void>
  readonly close: () => Promise<void>
}

const run = promisify(execFile)
const normalize = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-")
const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;")

const buildWheel = async (work: string, wheels: string, spec: WheelSpec): Promise<void> => {
  const module = spec.module ?? spec.name.replace(/-/g, "_")
  const project = join(work, "projects", `${spec.name}-${spec.version}`)
  mkdirSync(project, { recursive: true })
  writeFileSync(
    join(project, "setup.py"),
    `from setuptools import setup\nsetup(name=${JSON.stringify(spec.name)}, version=${JSON.stringify(spec.version)}, py_modules=[${JSON.stringify(module)}], install_requires=${JSON.stringify(spec.requires ?? [])})\n`
  )
  writeFileSync(join(project, `${module}.py`), spec.body ?? `VERSION = ${JSON.stringify(spec.version)}\n`)
  await run("/usr/bin/python3", ["-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps", "--no-index", "-w", wheels, project], {
    cwd: work,
    env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" }
  })
  rmSync(project, { recursive: true, force: true })
}

/**
 * Wheels built as files, outside any index (private wheels to upload): their paths, in a new
 * temporary folder that `remove` deletes.
 */
export const buildWheelFiles = async (
  specs: ReadonlyArray<WheelSpec>
): Promise<{ readonly files: ReadonlyArray<string>; readonly remove: () => void }> => {
  const root = mkdtempSync(join(tmpdir(), "terrarium-wheels-"))
  const out = join(root, "out")
  mkdirSync(out)
  for (const spec of specs) await buildWheel(root, out, spec)
  return { files: readdirSync(out).sort().map((f) => join(out, f)), remove: () => rmSync(root, { recursive: true, force: true }) }
}

export const startPackageIndex = async (initial: ReadonlyArray<WheelSpec>): Promise<PackageIndex> => {
  const root = mkdtempSync(join(tmpdir(), "terrarium-index-"))
  const wheels = join(root, "files")
  mkdirSync(wheels)
  const add = async (specs: ReadonlyArray<WheelSpec>) => {
    // Two at a time: the machine has two cores, and each call starts a Python.
    for (let i = 0; i < specs.length; i += 2) {
      await Promise.all(specs.slice(i, i + 2).map((spec) => buildWheel(root, wheels, spec)))
    }
  }
  await add(initial)
  const projects = () => {
    const byProject = new Map<string, Array<string>>()
    for (const file of readdirSync(wheels).filter((f) => f.endsWith(".whl"))) {
      const project = normalize(file.split("-")[0]!)
      byProject.set(project, [...(byProject.get(project) ?? []), file])
    }
    return byProject
  }
  const server = await serveDirectory(root, (path) => {
    if (path === "/simple/" || path === "/simple") {
      const links = [...projects().keys()].sort().map((p) => `<a href="${escape(p)}/">${escape(p)}</a>`)
      return `<!DOCTYPE html><html><body>${links.join("\n")}</body></html>`
    }
    const match = /^\/simple\/([^/]+)\/?$/.exec(path)
    if (match === null) return undefined
    const files = projects().get(normalize(match[1]!))
    if (files === undefined) return undefined
    const links = files.sort().map((file) => {
      const sha256 = createHash("sha256").update(readFileSync(join(wheels, file))).digest("hex")
      return `<a href="../../files/${escape(file)}#sha256=${sha256}" data-requires-python="&gt;=3">${escape(file)}</a>`
    })
    return `<!DOCTYPE html><html><body>${links.join("\n")}</body></html>`
  })
  return {
    url: `${server.url}/simple/`,
    server,
    add,
    close: async () => {
      await server.close()
      rmSync(root, { recursive: true, force: true })
    }
  }
}
