/**
 * A conda channel on 127.0.0.1 serving tiny packages made for the test with Debian's
 * `conda-package-handling` (`cph create`; installed by `scripts/services/docker.sh ensure`).
 *
 * Each package is `noarch: generic`, `.tar.bz2`, holds `share/<name>/VERSION` and a text file
 * `etc/<name>/prefix.txt` written with conda's prefix placeholder (so an install that rewrites
 * prefixes can be checked), and depends on `depends`. The channel has `noarch/repodata.json`
 * (md5, sha256, size of each file) and an empty `linux-64/repodata.json`.
 *
 * Usage: `const channel = await startCondaChannel([{ name: "demo-conda-a", version: "1.0" }])`,
 * then `channels: [channel.url]`; `channel.close()` at the end.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { serveDirectory, type StaticServer } from "./StaticServer.ts"

export interface CondaPackageSpec {
  readonly name: string
  readonly version: string
  readonly depends?: ReadonlyArray<string>
}

export interface CondaChannel {
  /** The channel URL (`http://127.0.0.1:PORT/conda`). */
  readonly url: string
  readonly server: StaticServer
  readonly close: () => Promise<void>
}

/** The placeholder conda packages are built with; installers replace it with the prefix. */
export const CONDA_PREFIX_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"

const run = promisify(execFile)
const hash = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest("hex")

const buildPackage = async (work: string, out: string, spec: CondaPackageSpec) => {
  const dir = join(work, "src", `${spec.name}-${spec.version}`)
  const files: Record<string, string> = {
    [`share/${spec.name}/VERSION`]: `${spec.version}\n`,
    [`etc/${spec.name}/prefix.txt`]: `prefix=${CONDA_PREFIX_PLACEHOLDER}\n`
  }
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true })
    writeFileSync(join(dir, path), content)
  }
  mkdirSync(join(dir, "info"), { recursive: true })
  const index = {
    name: spec.name, version: spec.version, build: "0", build_number: 0, depends: spec.depends ?? [],
    subdir: "noarch", noarch: "generic", arch: null, platform: null, license: "MIT", timestamp: 1700000000000
  }
  writeFileSync(join(dir, "info/index.json"), JSON.stringify(index))
  writeFileSync(join(dir, "info/files"), `${Object.keys(files).join("\n")}\n`)
  writeFileSync(join(dir, "info/has_prefix"), `${CONDA_PREFIX_PLACEHOLDER} text etc/${spec.name}/prefix.txt\n`)
  writeFileSync(join(dir, "info/paths.json"), JSON.stringify({
    paths_version: 1,
    paths: Object.entries(files).map(([path, content]) => ({
      _path: path,
      path_type: "hardlink",
      sha256: hash("sha256", Buffer.from(content)),
      size_in_bytes: Buffer.byteLength(content),
      ...(path.startsWith("etc/") ? { prefix_placeholder: CONDA_PREFIX_PLACEHOLDER, file_mode: "text" } : {})
    }))
  }))
  const fileName = `${spec.name}-${spec.version}-0.tar.bz2`
  await run("cph", ["create", dir, fileName, "--out-folder", out], { cwd: work })
  const data = readFileSync(join(out, fileName))
  return [fileName, { ...index, md5: hash("md5", data), sha256: hash("sha256", data), size: statSync(join(out, fileName)).size }] as const
}

export const startCondaChannel = async (packages: ReadonlyArray<CondaPackageSpec>): Promise<CondaChannel> => {
  const root = mkdtempSync(join(tmpdir(), "terrarium-channel-"))
  const noarch = join(root, "conda", "noarch")
  mkdirSync(noarch, { recursive: true })
  mkdirSync(join(root, "conda", "linux-64"), { recursive: true })
  const records = await Promise.all(packages.map((spec) => buildPackage(root, noarch, spec)))
  writeFileSync(join(noarch, "repodata.json"), JSON.stringify({ info: { subdir: "noarch" }, packages: Object.fromEntries(records), "packages.conda": {}, repodata_version: 1 }))
  writeFileSync(join(root, "conda", "linux-64", "repodata.json"), JSON.stringify({ info: { subdir: "linux-64" }, packages: {}, "packages.conda": {}, repodata_version: 1 }))
  const server = await serveDirectory(root)
  return {
    url: `${server.url}/conda`,
    server,
    close: async () => {
      await server.close()
      rmSync(root, { recursive: true, force: true })
    }
  }
}
