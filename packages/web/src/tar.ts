/**
 * A POSIX ustar archive of files, made in the browser: how the page uploads a build context (the
 * files a user picked, or the one Dockerfile typed in the editor). Regular files only, mode 0644,
 * time 0, so the same files always make the same archive.
 */

export interface TarEntry {
  readonly path: string
  readonly bytes: Uint8Array
}

const encoder = new TextEncoder()

const writeString = (block: Uint8Array, offset: number, length: number, value: string) => {
  const bytes = encoder.encode(value)
  block.set(bytes.subarray(0, length), offset)
}

const writeOctal = (block: Uint8Array, offset: number, length: number, value: number) => {
  writeString(block, offset, length, value.toString(8).padStart(length - 1, "0") + "\0")
}

/** Splits a path into ustar's prefix (≤155 bytes) and name (≤100 bytes), or says it cannot. */
const splitPath = (path: string): { prefix: string; name: string } => {
  if (encoder.encode(path).length <= 100) return { prefix: "", name: path }
  const cut = path.lastIndexOf("/", 155)
  const prefix = path.slice(0, cut)
  const name = path.slice(cut + 1)
  if (cut <= 0 || encoder.encode(prefix).length > 155 || encoder.encode(name).length > 100) {
    throw new Error(`path too long for a build context: ${path}`)
  }
  return { prefix, name }
}

const header = (path: string, size: number): Uint8Array => {
  const block = new Uint8Array(512)
  const { prefix, name } = splitPath(path)
  writeString(block, 0, 100, name)
  writeOctal(block, 100, 8, 0o644)
  writeOctal(block, 108, 8, 0)
  writeOctal(block, 116, 8, 0)
  writeOctal(block, 124, 12, size)
  writeOctal(block, 136, 12, 0)
  block.fill(0x20, 148, 156) // the checksum counts its own field as spaces
  block[156] = 0x30 // '0': a regular file
  writeString(block, 257, 6, "ustar\0")
  writeString(block, 263, 2, "00")
  writeString(block, 345, 155, prefix)
  let sum = 0
  for (const byte of block) sum += byte
  writeString(block, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ")
  return block
}

export const tarOf = (entries: ReadonlyArray<TarEntry>): Blob => {
  const parts: Array<Uint8Array> = []
  for (const entry of [...entries].sort((a, b) => a.path.localeCompare(b.path))) {
    parts.push(header(entry.path, entry.bytes.length), entry.bytes)
    const padding = (512 - (entry.bytes.length % 512)) % 512
    if (padding > 0) parts.push(new Uint8Array(padding))
  }
  parts.push(new Uint8Array(1024))
  return new Blob(parts as Array<BlobPart>, { type: "application/x-tar" })
}

/**
 * The files a user picked, by their path inside the chosen folder (the folder's own name, which
 * the browser puts first, is dropped so the Dockerfile sits at the context's root).
 */
export const entriesOfFiles = async (files: ReadonlyArray<File>): Promise<Array<TarEntry>> => {
  const paths = files.map((file) => file.webkitRelativePath || file.name)
  const firstParts = new Set(paths.map((path) => (path.includes("/") ? path.split("/")[0] : "")))
  const dropFolder = firstParts.size === 1 && !firstParts.has("")
  return Promise.all(
    files.map(async (file, index) => ({
      path: dropFolder ? paths[index]!.split("/").slice(1).join("/") : paths[index]!,
      bytes: new Uint8Array(await file.arrayBuffer())
    }))
  )
}

export const textEntry = (path: string, text: string): TarEntry => ({ path, bytes: encoder.encode(text) })
