/**
 * The content digest of a Docker build context: the identity of the files a Dockerfile can COPY.
 *
 * A definition names its build context by path (`./docker`), and a path says nothing about what
 * is in it: editing a file the Dockerfile COPYs would leave the canonical hash unchanged and the
 * image cache would serve a stale image. So the importer lists the context (honouring
 * `.dockerignore`) and stores this digest in the definition (`docker.base.contextDigest`), where
 * the canonical hash covers it.
 *
 * This module is the specification: from a list of entries to a digest. Walking a directory to
 * get the entries is the importer's part (`@terrarium/adapters`, `build-context/BuildContext.ts`).
 * docs/canonical-hash.md states the algorithm with a test vector, read by the tests.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { compareStrings, digestCanonicalJson } from "./CanonicalHash.ts"

/**
 * One entry of a build context. `path` is relative to the context, with `/` separators and no
 * `.` or `..` segments (`app/main.py`).
 *
 * - a regular file: the lower-case hex SHA-256 of its bytes, and whether its owner may execute
 *   it (the one permission bit that git records; the others follow the umask of whoever checked
 *   the files out, and would give one checkout different digests on different machines);
 * - a symbolic link: its target as written (`readlink`), never followed, as `COPY` copies the
 *   link itself.
 *
 * Directories are not entries: a directory only matters through what it holds.
 *
 * @since 0.1.0
 * @category models
 */
export type ContextEntry =
  | { readonly type: "file"; readonly path: string; readonly sha256: string; readonly executable: boolean }
  | { readonly type: "symlink"; readonly path: string; readonly target: string }

/**
 * True for a path an entry may have: relative, `/`-separated, without empty, `.` or `..` segments.
 *
 * @since 0.2.0
 * @category models
 */
export const isContextPath = (path: string): boolean =>
  path !== "" && path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..")

/**
 * The document the digest is taken of: the entries as plain objects, sorted by `path` (UTF-16
 * code units, as canonical JSON sorts keys).
 *
 * Throws a `TypeError` (a defect: the caller listed the context wrongly) on a path that is not
 * relative and clean, a `sha256` that is not 64 lower-case hex digits, or two entries with one path.
 *
 * @since 0.1.0
 * @category digest
 */
export const contextDocument = (
  entries: ReadonlyArray<ContextEntry>
): ReadonlyArray<{ readonly [key: string]: string | boolean }> => {
  const sorted = [...entries].sort((a, b) => compareStrings(a.path, b.path))
  return sorted.map((entry, i) => {
    if (!isContextPath(entry.path)) throw new TypeError(`contextDocument: "${entry.path}" is not a clean relative path`)
    if (i > 0 && sorted[i - 1]?.path === entry.path) throw new TypeError(`contextDocument: "${entry.path}" is listed twice`)
    if (entry.type === "symlink") return { type: "symlink", path: entry.path, target: entry.target }
    if (!/^[0-9a-f]{64}$/.test(entry.sha256)) {
      throw new TypeError(`contextDocument: the sha256 of "${entry.path}" is not 64 lower-case hex digits`)
    }
    return { type: "file", path: entry.path, sha256: entry.sha256, executable: entry.executable }
  })
}

/**
 * `"sha256:" + hex(SHA-256(UTF-8(canonicalJson(contextDocument(entries)))))`: the digest stored
 * as `docker.base.contextDigest`. An empty context has a digest too (that of `[]`).
 *
 * @since 0.1.0
 * @category digest
 */
export const contextDigest = (entries: ReadonlyArray<ContextEntry>): Effect.Effect<string> =>
  Effect.suspend(() => digestCanonicalJson(contextDocument(entries)))
