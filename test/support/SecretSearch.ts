/**
 * Where a secret could leak from an image build, searched for it: every file of every layer of
 * the image as `docker save` exports it (and the image's config and manifest), the image's
 * `docker history --no-trunc` and `docker inspect`, and any texts a test adds (build logs, events).
 * A needle is an exact string or a pattern; the answer lists where each one was found.
 *
 * The client is Debian's `/usr/bin/docker` (the project's engine is 20.10), with `DOCKER_HOST`.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"

export type Needle = string | RegExp

const docker = (dockerHost: string, args: ReadonlyArray<string>, encoding: "utf8" | "buffer" = "utf8") =>
  execFileSync("/usr/bin/docker", [...args], {
    env: { ...process.env, DOCKER_HOST: dockerHost },
    maxBuffer: 256 * 1024 * 1024,
    encoding: encoding === "utf8" ? "utf8" : "buffer"
  })

const contains = (text: string, needle: Needle) => typeof needle === "string" ? text.includes(needle) : needle.test(text)

/** Every regular file under `dir`, recursively (links are not followed). */
const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return filesUnder(path)
    return entry.isFile() ? [path] : []
  })

/** The places in `texts` (name → text) that hold a needle. */
export const searchTexts = (texts: Readonly<Record<string, string>>, needles: ReadonlyArray<Needle>): Array<string> =>
  Object.entries(texts).flatMap(([where, text]) =>
    needles.flatMap((needle, i) => (contains(text, needle) ? [`${where} (needle ${i})`] : [])))

/**
 * Where in the image the needles are: `save:<layer>/<file>`, `save:<file>` (config, manifest),
 * `history`, `inspect`. Empty: nowhere. `layers` says how many layer tars were searched.
 */
export const searchImage = (
  dockerHost: string,
  image: string,
  needles: ReadonlyArray<Needle>,
  /**
   * The image it was built on: its layers (made before the build) are searched as the tars they
   * are, not unpacked file by file, which costs the machine most of the search and finds nothing
   * more in an uncompressed tar, whose files' bytes are stored whole.
   */
  baseImage?: string
): { readonly hits: Array<string>; readonly layers: number; readonly files: number } => {
  const work = mkdtempSync(join(tmpdir(), "terrarium-secret-search-"))
  try {
    const saved = join(work, "image.tar")
    docker(dockerHost, ["save", "-o", saved, image])
    const unpacked = join(work, "image")
    execFileSync("mkdir", ["-p", unpacked])
    execFileSync("tar", ["-xf", saved, "-C", unpacked])
    const baseLayers = new Set<string>(baseImage === undefined
      ? []
      : JSON.parse(docker(dockerHost, ["image", "inspect", "--format", "{{json .RootFS.Layers}}", baseImage]) as string))
    const hits: Array<string> = []
    let layers = 0
    let files = 0
    const search = (label: string, bytes: Buffer) => {
      files += 1
      // latin1 keeps every byte as one character, so an ASCII needle is found in binary files too.
      const text = bytes.toString("latin1")
      needles.forEach((needle, i) => {
        if (contains(text, needle)) hits.push(`save:${label} (needle ${i})`)
      })
    }
    for (const file of filesUnder(unpacked)) {
      const name = relative(unpacked, file)
      search(name, readFileSync(file))
      if (name.endsWith("layer.tar") && statSync(file).size > 0 &&
        !baseLayers.has(`sha256:${createHash("sha256").update(readFileSync(file)).digest("hex")}`)) {
        layers += 1
        const layerDir = join(work, "layers", String(layers))
        execFileSync("mkdir", ["-p", layerDir])
        execFileSync("tar", ["-xf", file, "-C", layerDir])
        for (const inner of filesUnder(layerDir)) search(`${name}/${relative(layerDir, inner)}`, readFileSync(inner))
      }
    }
    const history = docker(dockerHost, ["history", "--no-trunc", "--format", "{{.CreatedBy}}", image]) as string
    const inspect = docker(dockerHost, ["image", "inspect", image]) as string
    hits.push(...searchTexts({ history, inspect }, needles))
    return { hits, layers, files }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
