/**
 * What a file must be to be taken as a wheel (PEP 427): a zip archive whose `.dist-info` folder is
 * named after the file name's distribution and version and holds `WHEEL` and `METADATA`, whose
 * `Name` and `Version` are the file name's (PEP 503 names, PEP 427 escaping). Nothing is
 * extracted: the zip's central directory is read, and only `METADATA` and `WHEEL` are inflated,
 * each bounded. Entry names that climb out (`..`, an absolute path, `\`) are refused, as an
 * installer would refuse them later, so that nothing stored can be a trap.
 *
 * @since 0.3.0
 */
import { MAX_WHEEL_BYTES, normalizeProjectName, parseWheelFileName, type WheelFileName, wheelVersionKey } from "@terrarium/domain"
import { inflateRawSync } from "node:zlib"

/** What the archive says of itself. @since 0.3.0 @category model */
export interface WheelMetadata {
  readonly file: WheelFileName
  /** The METADATA's `Name`, as written. */
  readonly name: string
  /** The METADATA's `Version`, as written. */
  readonly version: string
}

/** The largest `METADATA` or `WHEEL` read: far above a real one (a long description included). */
const MAX_METADATA_BYTES = 4 * 1_048_576
/** The most entries a wheel may list: far above any real wheel. */
const MAX_ENTRIES = 200_000

interface Entry {
  readonly name: string
  readonly method: number
  readonly compressedSize: number
  readonly size: number
  readonly offset: number
}

/** The central directory's entries, or what is wrong with the archive. */
const centralDirectory = (bytes: Buffer): ReadonlyArray<Entry> | string => {
  // The end-of-central-directory record: 22 bytes plus a comment of at most 65535.
  let eocd = -1
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--) {
    if (bytes.readUInt32LE(i) === 0x06054b50) {
      eocd = i
      break
    }
  }
  if (eocd < 0) return "it is not a zip archive (no end of central directory)"
  const count = bytes.readUInt16LE(eocd + 10)
  const size = bytes.readUInt32LE(eocd + 12)
  const start = bytes.readUInt32LE(eocd + 16)
  if (count === 0xffff || start === 0xffffffff) return "it is a zip64 archive, which no wheel of a bounded size needs"
  if (start + size > eocd || count > MAX_ENTRIES) return "its zip central directory is damaged"
  const entries: Array<Entry> = []
  let at = start
  for (let i = 0; i < count; i++) {
    if (at + 46 > eocd || bytes.readUInt32LE(at) !== 0x02014b50) return "its zip central directory is damaged"
    const nameLength = bytes.readUInt16LE(at + 28)
    const extraLength = bytes.readUInt16LE(at + 30)
    const commentLength = bytes.readUInt16LE(at + 32)
    if (at + 46 + nameLength > eocd) return "its zip central directory is damaged"
    entries.push({
      name: bytes.toString("utf8", at + 46, at + 46 + nameLength),
      method: bytes.readUInt16LE(at + 10),
      compressedSize: bytes.readUInt32LE(at + 20),
      size: bytes.readUInt32LE(at + 24),
      offset: bytes.readUInt32LE(at + 42)
    })
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

/** The bytes of one entry (stored or deflated), bounded, or what is wrong. */
const contentOf = (bytes: Buffer, entry: Entry): Buffer | string => {
  if (entry.size > MAX_METADATA_BYTES || entry.compressedSize > MAX_METADATA_BYTES) {
    return `its ${entry.name} is larger than ${MAX_METADATA_BYTES} bytes`
  }
  const at = entry.offset
  if (at + 30 > bytes.length || bytes.readUInt32LE(at) !== 0x04034b50) return `its zip entry ${entry.name} is damaged`
  const dataStart = at + 30 + bytes.readUInt16LE(at + 26) + bytes.readUInt16LE(at + 28)
  if (dataStart + entry.compressedSize > bytes.length) return `its zip entry ${entry.name} is damaged`
  const data = bytes.subarray(dataStart, dataStart + entry.compressedSize)
  if (entry.method === 0) return data
  if (entry.method !== 8) return `its ${entry.name} is compressed with zip method ${entry.method} (a wheel uses stored or deflate)`
  try {
    return inflateRawSync(data, { maxOutputLength: MAX_METADATA_BYTES })
  } catch {
    return `its ${entry.name} cannot be inflated`
  }
}

/** The first value of an RFC 822 header in the head of a METADATA or WHEEL file. */
const header = (text: string, field: string): string | undefined => {
  const head = text.split(/\r?\n\r?\n/)[0] ?? ""
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === field.toLowerCase()) return line.slice(colon + 1).trim()
  }
  return undefined
}

/** An entry name that would land outside the install folder. */
const climbsOut = (name: string): boolean =>
  name.startsWith("/") || name.includes("\\") || /^[A-Za-z]:/.test(name) || name.split("/").includes("..") || name.includes("\0")

/**
 * The wheel's metadata, or a sentence saying why `bytes` under `fileName` is not a wheel that may
 * be stored.
 *
 * @since 0.3.0
 * @category wheels
 */
export const readWheel = (fileName: string, bytes: Uint8Array): WheelMetadata | string => {
  const file = parseWheelFileName(fileName)
  if (typeof file === "string") return file
  if (bytes.length > MAX_WHEEL_BYTES) return `it is larger than ${MAX_WHEEL_BYTES} bytes`
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const entries = centralDirectory(buffer)
  if (typeof entries === "string") return entries
  const climbing = entries.find((e) => climbsOut(e.name))
  if (climbing !== undefined) return `its entry ${JSON.stringify(climbing.name.slice(0, 120))} leaves the install folder`
  const distInfo = `${file.distribution}-${file.version}.dist-info`
  const folders = [...new Set(entries.map((e) => e.name.split("/")[0]!).filter((top) => top.endsWith(".dist-info")))]
  const folder = folders.find((f) => f.toLowerCase() === distInfo.toLowerCase())
  if (folder === undefined) {
    return folders.length === 0
      ? "it has no .dist-info folder (a wheel has {distribution}-{version}.dist-info/METADATA and WHEEL)"
      : `its .dist-info folder is ${folders.join(", ")}, not ${distInfo} as its file name says`
  }
  const read = (member: string): string | undefined | { readonly problem: string } => {
    const entry = entries.find((e) => e.name === `${folder}/${member}`)
    if (entry === undefined) return undefined
    const content = contentOf(buffer, entry)
    return typeof content === "string" ? { problem: content } : content.toString("utf8")
  }
  const wheel = read("WHEEL")
  if (wheel === undefined) return `it has no ${folder}/WHEEL`
  if (typeof wheel !== "string") return wheel.problem
  if (header(wheel, "Wheel-Version") === undefined) return `its ${folder}/WHEEL has no Wheel-Version`
  const metadata = read("METADATA")
  if (metadata === undefined) return `it has no ${folder}/METADATA`
  if (typeof metadata !== "string") return metadata.problem
  const name = header(metadata, "Name")
  const version = header(metadata, "Version")
  if (name === undefined || version === undefined) return `its ${folder}/METADATA has no ${name === undefined ? "Name" : "Version"}`
  if (normalizeProjectName(name) !== normalizeProjectName(file.distribution)) {
    return `its METADATA names the project ${JSON.stringify(name.slice(0, 100))}, but the file name says ${JSON.stringify(file.distribution)}`
  }
  if (wheelVersionKey(version) !== wheelVersionKey(file.version)) {
    return `its METADATA says version ${JSON.stringify(version.slice(0, 100))}, but the file name says ${JSON.stringify(file.version)}`
  }
  return { file, name, version }
}
