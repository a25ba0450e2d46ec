/**
 * A build context uploaded as a tar archive (`POST /workspaces/{ws}/contexts`): its regular
 * files (with their execute bits) and symbolic links, as the build-context store keeps them.
 * POSIX ustar and GNU/PAX long names are read; directories are implied by their files;
 * anything else (devices, hard links) is refused, as the walk of a local folder refuses it.
 *
 * @since 0.4.0
 */
import type { BuildContextEntry } from "@terrarium/domain"
import { Result } from "effect"

/**
 * The largest archive accepted, in bytes (the whole request body).
 *
 * @since 0.4.0
 * @category limits
 */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024

/** The URI a version body names an uploaded context by (`build.contextUri`). @since 0.4.0 @category model */
export const STORED_CONTEXT_PREFIX = "terrarium://build-contexts/"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\0.*$/s, "")
const octal = (bytes: Uint8Array) => {
  const s = text(bytes).trim()
  return s === "" ? 0 : Number.parseInt(s, 8)
}

/** PAX `path=` / `linkpath=` records. */
const paxRecords = (bytes: Uint8Array): Record<string, string> => {
  const out: Record<string, string> = {}
  const body = new TextDecoder().decode(bytes)
  let at = 0
  while (at < body.length) {
    const space = body.indexOf(" ", at)
    if (space < 0) break
    const length = Number(body.slice(at, space))
    if (!Number.isSafeInteger(length) || length <= 0) break
    const record = body.slice(space + 1, at + length - 1)
    const eq = record.indexOf("=")
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1)
    at += length
  }
  return out
}

/**
 * The entries of a tar archive, or why it cannot be one.
 *
 * @since 0.4.0
 * @category parsing
 */
export const readTar = (archive: Uint8Array): Result.Result<ReadonlyArray<BuildContextEntry>, string> => {
  const entries: Array<BuildContextEntry> = []
  let at = 0
  let longName: string | undefined
  let longLink: string | undefined
  while (at + 512 <= archive.length) {
    const header = archive.subarray(at, at + 512)
    if (header.every((b) => b === 0)) break
    const size = octal(header.subarray(124, 136))
    const stored = header.subarray(148, 156)
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!
    if (!Number.isSafeInteger(size) || size < 0 || octal(stored) !== sum) return Result.fail(`not a tar archive (bad header at byte ${at})`)
    const type = String.fromCharCode(header[156]!)
    const bodyStart = at + 512
    const body = archive.subarray(bodyStart, bodyStart + size)
    if (body.length < size) return Result.fail("the tar archive ends inside an entry")
    at = bodyStart + Math.ceil(size / 512) * 512
    const prefix = text(header.subarray(345, 500))
    const name = longName ?? (prefix === "" ? text(header.subarray(0, 100)) : `${prefix}/${text(header.subarray(0, 100))}`)
    const link = longLink ?? text(header.subarray(157, 257))
    longName = undefined
    longLink = undefined
    const path = name.replace(/^\.\//, "").replace(/\/+$/, "")
    switch (type) {
      case "L":
        longName = text(body)
        continue
      case "K":
        longLink = text(body)
        continue
      case "x": {
        const records = paxRecords(body)
        longName = records["path"]
        longLink = records["linkpath"]
        continue
      }
      case "g":
      case "5":
        continue
      case "0":
      case "\0":
      case "7":
        if (path === "" || path === ".") continue
        entries.push({ path, executable: (octal(header.subarray(100, 108)) & 0o111) !== 0, content: body.slice() })
        continue
      case "2":
        entries.push({ path, executable: false, content: new Uint8Array(), linkTarget: link })
        continue
      default:
        return Result.fail(`${path}: a tar entry of type '${type}' (only regular files, directories and symbolic links may be in a build context)`)
    }
  }
  return Result.succeed(entries)
}
