/**
 * Publishing the curated catalog that ships with Terrarium (`packages/app/catalog/`, made by
 * `scripts/curated-catalog.ts`) into the log: on the first start of a database, on the first start
 * after an upgrade that ships a new release, and on `terrarium curated sync`.
 *
 * The check is cheap on purpose, since it runs whenever a command opens the database: one read of
 * the catalog's own stream (one event per release published), compared with the release marker
 * compiled in (`catalog/CuratedRelease.ts`). Only when they differ is the catalog's data read,
 * decoded and published: every `name:version` registered at its exact version in the curated
 * workspace by the environment decider, so that a version already there with the same content is
 * left alone, and one there with other content is refused and reported (versions are immutable),
 * never rewritten. The release is then recorded, with what it added and what it refused.
 *
 * @since 0.1.0
 */
import {
  CanonicalHash,
  CuratedCatalog,
  Environment,
  EventStore,
  isWrongExpectedVersion,
  Projections
} from "@terrarium/domain"
import { Effect, FileSystem, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { fileURLToPath } from "node:url"
import { v7 as uuidv7 } from "uuid"
import { CURATED_DIGEST, CURATED_RELEASE, CURATED_VERSIONS } from "./catalog/CuratedRelease.ts"
import { commandHandler } from "./CommandHandler.ts"
import { environmentCodec } from "./EnvironmentViews.ts"
import type { TerrariumError } from "./Errors.ts"
import { build, InvalidInput } from "./InvalidInput.ts"
import type { CallContext, Caller, CatalogSync } from "./Results.ts"

/**
 * The catalog's data file, shipped beside the sources (and found from the bundle the same way).
 *
 * @since 0.1.0
 * @category catalog
 */
export const catalogDataFile: string = fileURLToPath(new URL("../catalog/curated-catalog.json", import.meta.url))

/** @since 0.1.0 @category use cases */
export interface CuratedCatalogCommands {
  /**
   * Publish the curated catalog this Terrarium ships, if this database has not got this release
   * yet (or always, with `force`: every version is then compared again). Adds versions, never
   * rewrites one: a version registered with other content is reported in `refused`.
   */
  readonly syncCurated: (input: CallContext & { readonly force?: boolean | undefined }) => Effect.Effect<CatalogSync, TerrariumError>
}

const damaged = (reason: string) =>
  new InvalidInput({ field: "curated catalog", input: catalogDataFile, reason: `the catalog shipped with Terrarium ${reason}; reinstall Terrarium` })

const decodeRelease = Schema.decodeUnknownEffect(Schema.fromJsonString(CuratedCatalog.CatalogRelease))
const decodePublished = Schema.decodeUnknownEffect(CuratedCatalog.CuratedCatalogPublishedJson)
const encodePublished = Schema.encodeSync(CuratedCatalog.CuratedCatalogPublishedJson)

/**
 * The catalog's data, read only when it is to be published, and checked against the marker
 * compiled in beside it, so a catalog file from another build is never published as this one.
 */
const readCatalog = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(catalogDataFile).pipe(Effect.mapError((e) => damaged(`cannot be read (${e.message})`)))
  const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`
  if (digest !== CURATED_DIGEST) return yield* damaged(`is not the one this build was made with (digest ${digest}, expected ${CURATED_DIGEST})`)
  const release = yield* decodeRelease(text).pipe(Effect.mapError((e) => damaged(`does not decode: ${e.message}`)))
  if (release.release !== CURATED_RELEASE || release.environments.length !== CURATED_VERSIONS) {
    return yield* damaged(`holds release ${release.release} with ${release.environments.length} versions, not ${CURATED_RELEASE}`)
  }
  return release
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (caller: Caller) => Effect.gen(function*() {
  const store = yield* EventStore
  const projections = yield* Projections
  // Optional, so that the service can be made over ports alone (the use cases' unit tests); the
  // catalog cannot be read without it, and says so.
  const fs = yield* Effect.serviceOption(FileSystem.FileSystem)
  const handle = commandHandler(Environment.decider, environmentCodec)

  /** The last release recorded on the catalog's stream, and the stream's version. */
  const lastPublished = store.readStream(CuratedCatalog.catalogStream).pipe(
    Effect.flatMap((rows) => {
      const last = rows.at(-1)
      if (last === undefined) return Effect.succeed({ streamVersion: 0, published: undefined })
      return decodePublished(last.data).pipe(
        Effect.map((published) => ({ streamVersion: last.streamVersion, published })),
        // A marker this code cannot read is as good as none: publishing again is harmless.
        Effect.orElseSucceed(() => ({ streamVersion: last.streamVersion, published: undefined }))
      )
    })
  )

  /** One curated version: registered at its version, or refused with the reason. */
  const publishEntry = (entry: CuratedCatalog.CatalogEntry, context: { readonly actor: string; readonly correlationId: string }) =>
    Effect.gen(function*() {
      const canonicalHash = yield* CanonicalHash.hash(entry.definition)
      if (canonicalHash !== entry.canonicalHash) {
        return { _tag: "Refused", reason: `its definition hashes to ${canonicalHash}, not to the catalog's ${entry.canonicalHash}` } as const
      }
      const command = yield* build(Environment.Create, {
        workspace: CuratedCatalog.CURATED_WORKSPACE,
        name: entry.name,
        curated: true,
        definition: entry.definition,
        version: entry.version,
        canonicalHash
      })
      const target = {
        stream: Environment.environmentStream(CuratedCatalog.CURATED_WORKSPACE, entry.name),
        subject: { kind: "environment", name: entry.name },
        ...context
      }
      const { appended } = yield* handle(target, () => Effect.succeed(command)).pipe(Effect.provideService(EventStore, store))
      return appended.some((e) => e._tag === "Registered") ? { _tag: "Added" } as const : { _tag: "Unchanged" } as const
    }).pipe(
      Effect.catchTags({
        EnvironmentError: (error) => Effect.succeed({ _tag: "Refused", reason: error.message } as const),
        InvalidInput: (error) => Effect.succeed({ _tag: "Refused", reason: error.message } as const)
      })
    )

  const commands: CuratedCatalogCommands = {
    syncCurated: (input) =>
      Effect.gen(function*() {
        const { streamVersion, published } = yield* lastPublished
        const previousRelease = published?.release ?? null
        if (input.force !== true && published?.digest === CURATED_DIGEST) {
          return { release: CURATED_RELEASE, previousRelease, published: false, versions: CURATED_VERSIONS, added: [], unchanged: CURATED_VERSIONS, refused: [] }
        }
        if (Option.isNone(fs)) return yield* damaged("cannot be read: this Terrarium was assembled without a file system")
        const catalog = yield* readCatalog.pipe(Effect.provideService(FileSystem.FileSystem, fs.value))
        const context = { actor: input.actor ?? caller.actor, correlationId: input.correlationId ?? uuidv7() }
        // A few at a time: their appends are group-committed, and the first start stays short.
        const outcomes = yield* Effect.forEach(catalog.environments, (entry) =>
          Effect.map(publishEntry(entry, context), (outcome) => ({ entry, outcome })), { concurrency: 8 })
        const added = outcomes.filter((o) => o.outcome._tag === "Added").map(({ entry }) => ({ name: entry.name, version: entry.version }))
        const refused = outcomes.flatMap(({ entry, outcome }) =>
          outcome._tag === "Refused" ? [{ name: entry.name, version: entry.version, reason: outcome.reason }] : [])
        const event = new CuratedCatalog.CuratedCatalogPublished({
          release: catalog.release,
          digest: CURATED_DIGEST,
          versions: catalog.environments.length,
          added,
          refused
        })
        yield* store.append(CuratedCatalog.catalogStream, streamVersion, [{
          id: uuidv7(),
          type: event._tag,
          schemaVersion: 1,
          data: encodePublished(event),
          metadata: { ...context, causationId: null }
        }]).pipe(
          // Another process published the release at the same time: its record stands for both.
          Effect.catchIf(isWrongExpectedVersion, () => Effect.void)
        )
        yield* projections.catchUp.pipe(
          Effect.catch((error) => Effect.logWarning(`the curated catalog was published, but the read models could not be brought up to date (${error.message})`))
        )
        return {
          release: catalog.release,
          previousRelease,
          published: true,
          versions: catalog.environments.length,
          added,
          unchanged: catalog.environments.length - added.length - refused.length,
          refused
        } satisfies CatalogSync
      })
  }
  return commands
})
