/**
 * Writes an export (`DefinitionExport.ts`) into a blob store, so that a team whose logs and build
 * contexts are in Azure Blob storage keeps its exported definitions there too:
 *
 * - each file is the blob `exports/<workspace>/<name>/<version>/<format>/<path>` (a path segment
 *   that starts with `.`, which blob names may not, gets a `~` in front: `.dockerignore` is the
 *   blob `~.dockerignore`);
 * - the index `exports/<workspace>/<name>/<version>/<format>.json`, written last, lists every
 *   entry with its path, blob, size and SHA-256, the execute bit of a build context's file, and
 *   the target of a symbolic link (a link is no blob: a blob store keeps bytes only), and what
 *   the format left out. An export whose index is there is whole; one cut short by a store that
 *   went away has none, and writing it again replaces it (an export of a version is always the
 *   same files).
 *
 * Every name is checked before anything is written: a name the store would refuse (a control
 * character, too long) fails the export naming the file, with nothing written.
 *
 * @since 0.3.0
 */
import { BlobStore, blobNameProblem } from "@terrarium/domain"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import type { DefinitionExport, LeftOut } from "./DefinitionExport.ts"
import { ExportError } from "./ExportFolder.ts"

/** One entry of a stored export, as its index lists it. @since 0.3.0 @category export */
export type StoredExportEntry =
  | { readonly path: string; readonly blob: string; readonly size: number; readonly sha256: string; readonly executable: boolean }
  | { readonly path: string; readonly linkTarget: string }

/**
 * Where an export went: the prefix of its blobs, its index, its entries, and `where` (the blobs'
 * folder as a URL for Azure, as a path for the file system) for people.
 *
 * @since 0.3.0
 * @category export
 */
export interface StoredExport {
  readonly prefix: string
  readonly index: string
  readonly where: string
  readonly entries: ReadonlyArray<StoredExportEntry>
}

/** What is exported, for the names and the index. @since 0.3.0 @category export */
export interface StoredExportSubject {
  readonly workspace: string
  readonly name: string
  readonly version: string
  readonly canonicalHash: string
}

/** The blob-name segment of a path segment: one that starts with `.` gets a `~` in front. */
const segmentOf = (segment: string) => (segment.startsWith(".") || segment.startsWith("~") ? `~${segment}` : segment)

/**
 * The prefix of an export's blobs: `exports/<workspace>/<name>/<version>/<format>`.
 *
 * @since 0.3.0
 * @category export
 */
export const exportPrefix = (subject: StoredExportSubject, format: string): string =>
  ["exports", subject.workspace, subject.name, subject.version, format].map(segmentOf).join("/")

/** The blobs' folder for people: a path under a file-system store (its location is `file://` and the root as it is), a URL otherwise. */
const whereOf = (location: string, prefix: string) =>
  location.startsWith("file://")
    ? `${location.slice("file://".length).replace(/\/+$/, "")}/${prefix}/`
    : location.startsWith("http://") || location.startsWith("https://")
    ? `${location.replace(/\/+$/, "")}/${prefix.split("/").map(encodeURIComponent).join("/")}/`
    : `${location}:${prefix}/`

/**
 * Writes the files of `exported` as blobs under `exportPrefix(subject, format)`, then its index
 * (see the module notes).
 *
 * @since 0.3.0
 * @category export
 */
export const writeExportBlobs = (
  subject: StoredExportSubject,
  exported: DefinitionExport
): Effect.Effect<StoredExport, ExportError, BlobStore> =>
  Effect.gen(function*() {
    const blobs = yield* BlobStore
    const prefix = exportPrefix(subject, exported.format)
    const index = `${prefix}.json`
    const refused = (path: string, problem: string) =>
      new ExportError({ path, detail: `cannot be stored as a blob (${problem}); nothing was written` })
    for (const name of [prefix, index]) {
      const problem = blobNameProblem(name)
      if (problem !== undefined) return yield* refused(name, problem)
    }
    const named = exported.files.map((file) => ({ file, blob: `${prefix}/${file.path.split("/").map(segmentOf).join("/")}` }))
    for (const { file, blob } of named) {
      const problem = blobNameProblem(blob)
      if (problem !== undefined) return yield* refused(file.path, problem)
    }
    const where = whereOf(blobs.location, prefix)
    // The store's own words (which store, which blob, what it said), and that the export is not whole.
    const cutShort = (error: { readonly message: string }) =>
      new ExportError({ path: where, detail: `${error.message}; the export is not whole (its index ${index} was not written): export it again` })
    const encoder = new TextEncoder()
    const entries: Array<StoredExportEntry> = []
    for (const { file, blob } of named) {
      if ("linkTarget" in file) {
        entries.push({ path: file.path, linkTarget: file.linkTarget })
        continue
      }
      const bytes = "text" in file ? encoder.encode(file.text) : file.content
      yield* blobs.put(blob, bytes).pipe(Effect.mapError(cutShort))
      entries.push({
        path: file.path, blob, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"),
        executable: "executable" in file ? file.executable : false
      })
    }
    const leftOut: ReadonlyArray<LeftOut> = exported.leftOut
    yield* blobs.put(index, encoder.encode(`${JSON.stringify({
      workspace: subject.workspace, name: subject.name, version: subject.version, canonicalHash: subject.canonicalHash,
      format: exported.format, entry: exported.entry, entries, leftOut
    }, null, 2)}\n`)).pipe(Effect.mapError(cutShort))
    return { prefix, index, where, entries }
  })
