/**
 * The handlers of the HTTP API: each reads its request, checks that the caller's key opens the
 * workspace, and calls a use case of `Terrarium` (writes, one version's reads, diffs, the audit
 * trail, builds, and every read as of a point: `registryAsOf`, `show`, `versions` with `asOf`)
 * or asks the read model directly for what spans environments now (lists): the
 * server follows the log in the background (`BackgroundProjection.ts`), so a list does not first
 * catch the read model up as a CLI read does.
 *
 * A key of another workspace gets 404 for anything here, exactly what a missing environment
 * gets, so that it learns nothing about what exists. No handler appends anything before every
 * check of its request has passed (the use cases check before they append).
 *
 * @since 0.4.0
 */
import { exportDefinition, EXPORT_FORMATS, type ExportFormat, type ImportedEnvironment } from "@terrarium/adapters"
import {
  buildContextDigest,
  BuildContextStore,
  CanonicalHash,
  CuratedCatalog,
  EnvironmentName,
  Environment,
  type EnvironmentSummary,
  hasReservedPrefix,
  type BuildRow,
  type ImageBuildRow,
  isCuratedName,
  Projections,
  ReadModel,
  type VersionRow,
  WorkspaceName
} from "@terrarium/domain"
import { Clock, Effect, identity, Layer, Result, Schema, Scope, Deferred, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { type AsOf, decodeAsOf } from "../AsOf.ts"
import { type EnvironmentRef, InvalidReference, parseRef } from "../EnvironmentRef.ts"
import type { TerrariumError } from "../Errors.ts"
import { InvalidInput } from "../InvalidInput.ts"
import { Terrarium } from "../Terrarium.ts"
import type * as Api from "./Api.ts"
import { CurrentCaller, EnvironmentContainerList as EnvironmentContainerListSchema, EnvironmentVersion as EnvironmentVersionSchema, ImageStatus as ImageStatusSchema, TerrariumApi } from "./Api.ts"
import { readTar, STORED_CONTEXT_PREFIX } from "./ContextUpload.ts"
import { KnownHead } from "./KnownHead.ts"
import { decodeSkip, encodeSkip, pageSize } from "./Paging.ts"
import { badRequest, makeProblem, notFound, type Problem, problemOf, type RangeNotSatisfiable } from "./Problems.ts"
import { auditEvent, containerResource, definitionOf, imageStatusOf, versionResource } from "./Resources.ts"

/** Any application error as the problem it is. */
const problems = <A, R>(effect: Effect.Effect<A, TerrariumError | Problem, R>): Effect.Effect<A, Problem, R> =>
  Effect.mapError(effect, (error) => ("status" in error && "title" in error ? error as Problem : problemOf(error as TerrariumError)))

const isWorkspace = Schema.is(WorkspaceName)
const isName = Schema.is(EnvironmentName)

/**
 * The workspace of the path, when the caller's key opens it: otherwise 404, as for a workspace
 * that does not exist (a key learns nothing about others).
 */
const own = (ws: string) =>
  CurrentCaller.use((caller) =>
    caller.workspace === ws && isWorkspace(ws) ? Effect.succeed(ws) : Effect.fail(notFound(`workspace '${ws}' does not exist`)))

/** The actor of a write: the key that made it (the audit trail says which key). */
const actorOf = CurrentCaller.use((caller) => Effect.succeed(`apikey:${caller.keyId}`))

const environmentName = (name: string) =>
  isName(name) ? Effect.succeed(name) : Effect.fail(notFound(`environment '${name}' does not exist`, "EnvironmentNotFound"))

/** A version segment of a path: a version, `latest`, or `@label`. */
const refOf = (name: string, version: string): Effect.Effect<EnvironmentRef, Problem> => {
  const text = version.startsWith("@") ? `${name}${version}` : version === "latest" ? `${name}@latest` : `${name}:${version}`
  const ref = parseRef(text)
  return ref instanceof InvalidReference
    ? Effect.fail(makeProblem(400, { _tag: ref._tag, detail: ref.message, field: "version" }))
    : Effect.succeed(ref)
}

const asOfOf = (text: string | undefined): Effect.Effect<AsOf | undefined, Problem> =>
  text === undefined ? Effect.succeed(undefined) : problems(Effect.mapError(decodeAsOf(text), (e) => new InvalidInput({ field: "asOf", reason: e.reason, ...(e.input === undefined ? {} : { input: e.input }) })))

/** A read-model query about one environment; a curated name the workspace lacks is the curated catalog's. */
const versionRows = (ws: string, name: string) =>
  Effect.gen(function*() {
    const readModel = yield* ReadModel
    const rows = yield* readModel.versions({ workspace: ws, name, includeArchived: true })
    if (rows.length > 0 || !isCuratedName(name) || ws === CuratedCatalog.CURATED_WORKSPACE) return rows
    return yield* readModel.versions({ workspace: CuratedCatalog.CURATED_WORKSPACE, name, includeArchived: true })
  })

/** The latest version row of an environment: its newest version not archived, else its newest. */
const latestOf = (rows: ReadonlyArray<VersionRow>) => rows.filter((r) => !r.archived).at(-1) ?? rows.at(-1)

/** Each environment's latest version row (`latestOf` of its rows), by name. */
const latestByName = (versions: ReadonlyArray<VersionRow>): ReadonlyMap<string, VersionRow> => {
  const byName = new Map<string, Array<VersionRow>>()
  for (const v of versions) {
    const list = byName.get(v.name)
    if (list === undefined) byName.set(v.name, [v])
    else list.push(v)
  }
  const latest = new Map<string, VersionRow>()
  for (const [name, rows] of byName) {
    const row = latestOf(rows)
    if (row !== undefined) latest.set(name, row)
  }
  return latest
}

const imageRow = (hash: string) => ReadModel.use((rm) => Effect.map(rm.imageBuilds({ canonicalHash: hash }), (rows) => rows[0]))

/**
 * What a list of a workspace's environments reads, kept per workspace until the read model moves
 * (its checkpoint): every environment, its latest version's row and its image's. A list then
 * costs one query (the checkpoint) while nothing was written, and three after a write.
 */
interface Listing {
  readonly checkpoint: number
  /**
   * A head at which this listing is known to be current (the read model had caught up with it
   * before the listing was read), if any: while the head stays there, it is used without a query.
   */
  head: number | undefined
  readonly summaries: ReadonlyArray<EnvironmentSummary>
  readonly latest: ReadonlyMap<string, VersionRow>
  readonly images: ReadonlyMap<string, ImageBuildRow>
}

const makeListings = () => {
  const cache = new Map<string, Listing>()
  return (ws: string) =>
    Effect.gen(function*() {
      const head = yield* KnownHead.use((k) => k.current)
      const cached = cache.get(ws)
      if (cached !== undefined && cached.head === head) return cached
      const checkpoint = yield* Projections.use((p) => p.checkpoint)
      if (cached !== undefined && cached.checkpoint === checkpoint) {
        if (checkpoint >= head) cached.head = head
        return cached
      }
      const readModel = yield* ReadModel
      const [summaries, versions, images] = yield* Effect.all([
        readModel.environments({ workspace: ws, includeArchived: true }),
        readModel.versions({ workspace: ws, includeArchived: true }),
        readModel.imageBuilds({})
      ], { concurrency: 3 })
      const latest = latestByName(versions)
      const listing: Listing = {
        checkpoint,
        head: checkpoint >= head ? head : undefined,
        summaries,
        latest,
        images: new Map(images.map((i) => [i.canonicalHash, i]))
      }
      cache.set(ws, listing)
      return listing
    })
}

type Listings = ReturnType<typeof makeListings>

/** The rows a list is made from: a listing of now (`Listing`), or of a past point (`pastListing`). */
type ListingRows = Pick<Listing, "summaries" | "latest" | "images">

/** A version reference as a key of a memory of answers (a version and a label never collide). */
const answerKey = (ws: string, ref: EnvironmentRef) => `${ws}\u0000${ref.name}\u0000${"version" in ref ? `:${ref.version}` : `@${ref.label}`}`

/**
 * The most answers one route's memory of version reads keeps, and the most characters of their
 * JSON (a version's conda file may be 256 KiB): the least recently used is forgotten first.
 * 10,000 is one per version of the 10,000 environments of `pnpm bench:http`.
 */
const REMEMBERED_ANSWERS = 10_000
const REMEMBERED_CHARACTERS = 32 * 1024 * 1024

/**
 * Answers of one version's reads (the version, its image), each kept as the response it was
 * sent as (its JSON encoded once) with the log's head it was read at. While the head has not
 * moved nothing they are folded or read from has changed, so a repeated read costs no query at
 * all (the head is pushed, KnownHead.ts; asked per read only while it is not followed) instead
 * of three (stream, version rows, image), and no encoding. An answer is kept only when the
 * read model had caught up with that head before it was read and the head had not moved when
 * it was done: it is then exactly the answer at that head. A read `asOf` a point is not kept
 * (it is cheap to key but rare).
 *
 * @internal exported for its test
 */
export const makeRemembered = <A>(sizeOf: (answer: A) => number = (answer) => JSON.stringify(answer).length) => {
  const answers = new Map<string, { readonly head: number; readonly answer: A; readonly size: number }>()
  let characters = 0
  const forget = (key: string) => {
    const entry = answers.get(key)
    if (entry === undefined) return
    answers.delete(key)
    characters -= entry.size
  }
  return <E, R>(key: string, read: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const known = yield* KnownHead
      const head = yield* known.current
      const kept = answers.get(key)
      if (kept !== undefined && kept.head === head) {
        answers.delete(key)
        answers.set(key, kept)
        return kept.answer
      }
      const checkpoint = yield* Projections.use((p) => p.checkpoint)
      const answer = yield* read
      if (checkpoint >= head && (yield* known.current) === head) {
        forget(key)
        const size = sizeOf(answer)
        answers.set(key, { head, answer, size })
        characters += size
        while (answers.size > REMEMBERED_ANSWERS || characters > REMEMBERED_CHARACTERS) forget(answers.keys().next().value!)
      }
      return answer
    })
}

/**
 * A route's answer as the response the framework would send (the success schema's JSON, 200),
 * encoded here so that a remembered one is sent again as it is, without encoding it anew.
 */
const jsonResponse = <S extends Schema.Top>(schema: S) => {
  const encode = Schema.encodeUnknownEffect(Schema.toCodecJson(schema))
  return (value: S["Type"]) =>
    Effect.map(Effect.orDie(encode(value)), (json) => HttpServerResponse.text(JSON.stringify(json), { contentType: "application/json" }))
}

/** The bytes a remembered response holds. */
const responseSize = (response: HttpServerResponse.HttpServerResponse) => response.body._tag === "Uint8Array" ? response.body.body.length : 1024

type RememberedResponses = ReturnType<typeof makeRemembered<HttpServerResponse.HttpServerResponse>>

const versionJson = jsonResponse(EnvironmentVersionSchema)
const imageJson = jsonResponse(ImageStatusSchema)

const container = (listings: Listings, ws: string, name: string) =>
  Effect.gen(function*() {
    let listing = yield* listings(ws)
    let summary = listing.summaries.find((s) => s.name === name)
    if (summary === undefined && isCuratedName(name) && ws !== CuratedCatalog.CURATED_WORKSPACE) {
      listing = yield* listings(CuratedCatalog.CURATED_WORKSPACE)
      summary = listing.summaries.find((s) => s.name === name)
    }
    if (summary === undefined) return yield* Effect.fail(notFound(`environment '${ws}/${name}' does not exist`, "EnvironmentNotFound"))
    const latest = listing.latest.get(name)
    return containerResource(summary, latest, latest === undefined ? undefined : listing.images.get(latest.canonicalHash))
  })

/** The listing of each past registry, by its environments (kept while the use case remembers the registry). */
const pastListings = new WeakMap<ReadonlyArray<EnvironmentSummary>, {
  readonly summaries: ReadonlyArray<EnvironmentSummary>
  readonly latest: ReadonlyMap<string, VersionRow>
  readonly images: ReadonlyMap<string, ImageBuildRow>
}>()

/**
 * What a list as of a point reads, in a listing's shape: the read model's rows then, replayed
 * from the log (`registryAsOf`, remembered per point), so that every field is what it was then.
 */
const pastListing = (ws: string, asOf: AsOf) =>
  Effect.map(Terrarium.use((t) => t.registryAsOf({ workspace: ws, asOf })), (past) => {
    // A past registry is remembered per point (its arrays with it): its listing is made once.
    const known = pastListings.get(past.environments)
    if (known !== undefined) return known
    const latest = latestByName(past.versions)
    const listing = { summaries: past.environments, latest, images: new Map(past.images.map((i) => [i.canonicalHash, i])) }
    pastListings.set(past.environments, listing)
    return listing
  })

/** The environment as it was at a point: its rows then (its stream and its hashes' build streams, replayed). */
const pastContainer = (ws: string, name: string, asOf: AsOf) =>
  Effect.gen(function*() {
    const past = yield* Terrarium.use((t) => t.registryAsOf({ workspace: ws, name, asOf }))
    const latest = latestOf(past.versions)
    return containerResource(past.environments[0]!, latest, latest === undefined ? undefined : past.images.find((i) => i.canonicalHash === latest.canonicalHash))
  })

/** One version as it was at a point: folded as of it, with its row (description, tags) and image then. */
const pastVersion = (ws: string, ref: EnvironmentRef, asOf: AsOf) =>
  Effect.gen(function*() {
    const t = yield* Terrarium
    const v = yield* t.show({ workspace: ws, ref, asOf })
    const past = yield* t.registryAsOf({ workspace: v.workspace, name: v.name, asOf })
    return versionResource(v, {
      row: past.versions.find((r) => r.version === v.version),
      image: past.images.find((i) => i.canonicalHash === v.canonicalHash),
      withImage: true
    })
  })

/** One version as a resource: folded from its stream, with its row and image. */
const version = (ws: string, ref: EnvironmentRef) =>
  Effect.gen(function*() {
    const t = yield* Terrarium
    const v = yield* t.show({ workspace: ws, ref })
    const [rows, image] = yield* Effect.all([versionRows(v.workspace, v.name), imageRow(v.canonicalHash)], { concurrency: 2 })
    return versionResource(v, { row: rows.find((r) => r.version === v.version), image, withImage: true })
  })

/** The tags a PATCH leaves: the ones given replace the ones there. */
const tagChanges = (current: Readonly<Record<string, string>>, given: Readonly<Record<string, string>> | undefined) =>
  given === undefined ? {} : { tags: given, removeTags: Object.keys(current).filter((k) => !(k in given)) }

const listFilters = (query: { readonly tag?: string | undefined; readonly search?: string | undefined }) => {
  const [tagKey, tagValue] = query.tag === undefined ? [undefined, undefined] : query.tag.includes("=")
    ? [query.tag.slice(0, query.tag.indexOf("=")), query.tag.slice(query.tag.indexOf("=") + 1)]
    : [query.tag, undefined]
  return {
    tag: (tags: Readonly<Record<string, string>>) => tagKey === undefined || (tagKey in tags && (tagValue === undefined || tags[tagKey] === tagValue)),
    search: (name: string) => query.search === undefined || name.toLowerCase().includes(query.search.toLowerCase())
  }
}

const ORDERS = ["name", "name desc", "createdAt", "createdAt desc", "updatedAt desc"] as const

const orderOf = (text: string | undefined): Effect.Effect<(typeof ORDERS)[number], Problem> => {
  const order = (text ?? "name").trim().replace(/\s+/g, " ").replace(/ asc$/i, "")
  const found = ORDERS.find((o) => o.toLowerCase() === order.toLowerCase())
  return found === undefined ? Effect.fail(badRequest("$orderBy", `one of ${ORDERS.join(", ")}`)) : Effect.succeed(found)
}

/** A page of a list, and the link to the next one (same query, the next `$skip` token). */
const pageOf = <A>(items: ReadonlyArray<A>, offset: number, top: number, request: HttpServerRequest.HttpServerRequest, fingerprint: string) => {
  const value = items.slice(offset, offset + top)
  if (offset + top >= items.length) return { value }
  const url = new URL(request.url, "http://terrarium")
  url.searchParams.set("$skip", encodeSkip({ offset: offset + top, fingerprint }))
  return { value, nextLink: `${url.pathname}${url.search}` }
}

const fingerprintOf = (query: Record<string, string | undefined>) =>
  JSON.stringify(Object.entries(query).filter(([k, v]) => k !== "$skip" && k !== "$top" && v !== undefined).sort())

/** The most lists (sorted and filtered) and pages of lists the server remembers, each. */
const REMEMBERED_LISTS = 1_000

/**
 * What a list of environments made from the listings of the moment (its workspace's and the
 * curated catalog's, `Listing`), kept until either is replaced (the read model moved): the
 * sorted and filtered environments per query (so another page of it costs its own length, not a
 * sort of the workspace), and each page's response per request URL (so the same page again
 * costs nothing but the lookup).
 */
const makeListMemory = <A>() => {
  const entries = new Map<string, { readonly own: ListingRows | undefined; readonly curated: ListingRows | undefined; readonly value: A }>()
  return {
    get: (key: string, own: ListingRows | undefined, curated: ListingRows | undefined): A | undefined => {
      const entry = entries.get(key)
      if (entry === undefined || entry.own !== own || entry.curated !== curated) return undefined
      entries.delete(key)
      entries.set(key, entry)
      return entry.value
    },
    set: (key: string, own: ListingRows | undefined, curated: ListingRows | undefined, value: A): void => {
      entries.delete(key)
      entries.set(key, { own, curated, value })
      if (entries.size > REMEMBERED_LISTS) entries.delete(entries.keys().next().value!)
    }
  }
}

const listJson = jsonResponse(EnvironmentContainerListSchema)

// ---------------------------------------------------------------------------------------------

const EnvironmentsLive = (listings: Listings) => {
  const sortedLists = makeListMemory<ReadonlyArray<EnvironmentSummary>>()
  const listPages = makeListMemory<HttpServerResponse.HttpServerResponse>()
  return HttpApiBuilder.group(TerrariumApi, "environments", (h) =>
  h
    .handle("list", ({ params, query, request }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const view = query.listViewType ?? "ActiveOnly"
        const top = yield* pageSize(query.$top)
        const fingerprint = fingerprintOf(query)
        const offset = yield* decodeSkip(query.$skip, fingerprint)
        const order = yield* orderOf(query.$orderBy)
        const asOf = yield* asOfOf(query.asOf)
        // As of a point, the rows are the read model's then (description, tags, archived, latest, image).
        const listingOf = (w: string) => asOf === undefined ? listings(w) : pastListing(w, asOf)
        const own_ = query.environmentType === "Curated" ? undefined : yield* listingOf(ws)
        const curated = query.environmentType === "UserCreated" || ws === CuratedCatalog.CURATED_WORKSPACE
          ? undefined
          : yield* listingOf(CuratedCatalog.CURATED_WORKSPACE)
        // Not as of a point: the same page of the same listings is answered as it was.
        const pageKey = asOf === undefined ? `${ws}\u0000${request.url}` : undefined
        const kept = pageKey === undefined ? undefined : listPages.get(pageKey, own_, curated)
        if (kept !== undefined) return kept
        const sortedKey = asOf === undefined ? `${ws}\u0000${fingerprint}\u0000${order}` : undefined
        const sorted = sortedKey === undefined ? undefined : sortedLists.get(sortedKey, own_, curated)
        const ownNames = new Set(own_?.summaries.map((s) => s.name) ?? [])
        const filters = listFilters(query)
        const latestOfSummary = (s: EnvironmentSummary) => (s.workspace === ws ? own_ : curated)?.latest.get(s.name)
        const imageOf = (s: EnvironmentSummary) => {
          const latest = latestOfSummary(s)
          return latest === undefined ? undefined : (s.workspace === ws ? own_ : curated)?.images.get(latest.canonicalHash)
        }
        let all: ReadonlyArray<EnvironmentSummary> = sorted ?? [
          ...(own_?.summaries ?? []),
          ...(curated?.summaries.filter((c) => !ownNames.has(c.name)) ?? [])
        ].filter((s) =>
          (view === "All" || (view === "ArchivedOnly") === s.archived) &&
          (query.environmentType === undefined || (query.environmentType === "Curated") === (s.environmentType === "curated")) &&
          filters.search(s.name) &&
          (query.tag === undefined || filters.tag(latestOfSummary(s)?.tags ?? {}))
        )
        const compare: Record<(typeof ORDERS)[number], (a: EnvironmentSummary, b: EnvironmentSummary) => number> = {
          "name": (a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
          "name desc": (a, b) => a.name < b.name ? 1 : a.name > b.name ? -1 : 0,
          "createdAt": (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.name < b.name ? -1 : 1),
          "createdAt desc": (a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? -1 : 1),
          "updatedAt desc": (a, b) => b.updatedPosition - a.updatedPosition
        }
        if (sorted === undefined) {
          all = [...all].sort(compare[order])
          if (sortedKey !== undefined) sortedLists.set(sortedKey, own_, curated, all)
        }
        const page = pageOf(all, offset, top, request, fingerprint)
        const value = page.value.map((s) => containerResource(s, latestOfSummary(s), imageOf(s)))
        const response = yield* listJson({ value, ...(page.nextLink === undefined ? {} : { nextLink: page.nextLink }) })
        if (pageKey !== undefined) listPages.set(pageKey, own_, curated, response)
        return response
      })))
    .handle("get", ({ params, query }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        const asOf = yield* asOfOf(query.asOf)
        return yield* (asOf === undefined ? container(listings, ws, name) : pastContainer(ws, name, asOf))
      })))
    .handle("update", ({ params, payload }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        const t = yield* Terrarium
        const rows = yield* versionRows(ws, name)
        // No version: the use case says whether the environment is missing (EnvironmentNotFound) or has a draft only.
        if (rows.length === 0) yield* t.show({ workspace: ws, ref: { name, label: "latest" } })
        const latest = latestOf(rows)
        if (latest === undefined) return yield* Effect.fail(notFound(`environment '${ws}/${name}' has no version to describe`, "NoActiveVersion"))
        const { description, tags } = payload.properties
        if (description !== undefined || tags !== undefined) {
          yield* t.update({
            workspace: ws,
            actor: yield* actorOf,
            ref: { name, version: latest.version },
            ...(description === undefined ? {} : { description }),
            ...tagChanges(latest.tags, tags)
          }).pipe(Effect.catchIf((e) => e._tag === "InvalidInput" && /nothing to change|no change/i.test(e.message), () => Effect.void))
        }
        return yield* container(listings, ws, name)
      })))
    .handle("archive", ({ params }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        yield* Terrarium.use((t) => Effect.flatMap(actorOf, (actor) => t.archiveEnvironment({ workspace: ws, name, actor })))
        return yield* container(listings, ws, name)
      })))
    .handle("restore", ({ params }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        yield* Terrarium.use((t) => Effect.flatMap(actorOf, (actor) => t.restoreEnvironment({ workspace: ws, name, actor })))
        return yield* container(listings, ws, name)
      })))
)
}

// ---------------------------------------------------------------------------------------------

/**
 * A body whose `build.contextUri` names an uploaded context (`terrarium://build-contexts/…`):
 * the definition gets that context's digest and its Dockerfile's text, as an import of a local
 * folder does, and the context goes with it to `create`.
 */
const withStoredContext = (imported: ImportedEnvironment) =>
  Effect.gen(function*() {
    const base = imported.definition.docker.base
    if (base.kind !== "dockerfile" || base.context === undefined || !base.context.startsWith(STORED_CONTEXT_PREFIX)) {
      return { imported, context: undefined }
    }
    const digest = base.context.slice(STORED_CONTEXT_PREFIX.length)
    const store = yield* BuildContextStore
    const context = yield* store.get(digest).pipe(Effect.mapError(() =>
      makeProblem(422, { _tag: "ImportError", detail: `no build context was uploaded as ${digest} (POST …/contexts first)`, field: "properties.build.contextUri" })))
    const dockerfilePath = base.dockerfilePath ?? "Dockerfile"
    const file = context.entries.find((e) => e.path === dockerfilePath && e.linkTarget === undefined)
    if (file === undefined) {
      return yield* Effect.fail(makeProblem(422, { _tag: "ImportError", detail: `the uploaded context has no file ${dockerfilePath}`, field: "properties.build.dockerfilePath" }))
    }
    const definition = {
      ...imported.definition,
      docker: {
        ...imported.definition.docker,
        base: { kind: "dockerfile" as const, dockerfile: new TextDecoder().decode(file.content), context: base.context, dockerfilePath, contextDigest: digest }
      }
    }
    return { imported: { ...imported, definition }, context }
  })

/** `POST …/versions` and `PUT …/versions/{v}`: 201 when a version was made, 200 when it was there. */
const register = (wsText: string, nameText: string, body: Api.EnvironmentVersionBody, explicit: string | undefined) =>
  problems(Effect.gen(function*() {
    const ws = yield* own(wsText)
    const name = yield* environmentName(nameText)
    const t = yield* Terrarium
    const actor = yield* actorOf
    if (explicit !== undefined) yield* refOf(name, explicit)
    const { imported, context } = yield* withStoredContext(yield* definitionOf(name, body))
    const registration = yield* t.create({
      workspace: ws,
      name,
      actor,
      definition: imported.definition,
      ...(context === undefined ? {} : { buildContext: context }),
      ...(explicit === undefined ? {} : { version: explicit })
    })
    // The same content again with other metadata: a PUT (or POST) describes the version anew.
    const notApplied = registration.metadataNotApplied
    if (notApplied !== undefined && explicit !== undefined) {
      const rows = yield* versionRows(ws, name)
      const row = rows.find((r) => r.version === registration.version)
      yield* t.update({
        workspace: ws,
        actor,
        ref: { name, version: registration.version },
        ...(notApplied.description === undefined ? {} : { description: notApplied.description }),
        ...tagChanges(row?.tags ?? {}, notApplied.tags)
      }).pipe(Effect.catchIf((e) => e._tag === "InvalidInput", () => Effect.void))
    }
    return { created: registration.created, resource: yield* version(ws, { name, version: registration.version }) }
  }))

const VersionsLive = (remembered: RememberedResponses) => HttpApiBuilder.group(TerrariumApi, "versions", (h) =>
  h
    .handle("list", ({ params, query, request }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        const view = query.listViewType ?? "ActiveOnly"
        const top = yield* pageSize(query.$top)
        const fingerprint = fingerprintOf(query)
        const offset = yield* decodeSkip(query.$skip, fingerprint)
        const asOf = yield* asOfOf(query.asOf)
        const t = yield* Terrarium
        // As of a point, the rows are the read model's then: archived, described and tagged as then.
        const rows = asOf === undefined ? yield* versionRows(ws, name) : yield* t.versions({ workspace: ws, name, includeArchived: true, asOf })
        if (rows.length === 0) {
          // An environment with a draft only, or none: the use case says which.
          yield* t.show({ workspace: ws, ref: { name, label: "latest" }, asOf })
        }
        const filters = listFilters(query)
        const order = (query.$orderBy ?? "createdAt desc").trim().toLowerCase()
        if (!["createdat", "createdat asc", "createdat desc", "version", "version desc"].includes(order.replace(/\s+/g, " "))) {
          return yield* Effect.fail(badRequest("$orderBy", "one of createdAt, createdAt desc"))
        }
        const candidates = order.endsWith("desc") ? [...rows].reverse() : rows
        const tagged = candidates.filter((r) => filters.tag(r.tags))
        const show = (r: VersionRow) => t.show({ workspace: r.workspace, ref: { name: r.name, version: r.version }, asOf }).pipe(Effect.map((v) => ({ v, r })))
        const inView = (archived: boolean) => view === "All" || (view === "ArchivedOnly") === archived
        // A row says whether its version is archived (then, as of a point): only the page's versions are read.
        const page = pageOf(tagged.filter((r) => inView(r.archived)), offset, top, request, fingerprint)
        const views = yield* Effect.forEach(page.value, show, { concurrency: 4 })
        return {
          value: views.map(({ v, r }) => versionResource(v, { row: r })),
          ...(page.nextLink === undefined ? {} : { nextLink: page.nextLink })
        }
      })))
    .handle("create", ({ params, payload }) =>
      Effect.map(register(params.ws, params.name, payload, undefined), ({ created, resource }) =>
        created ? HttpServerResponse.jsonUnsafe(resource, { status: 201 }) : resource))
    .handle("uploadContext", ({ params, payload }) =>
      problems(Effect.gen(function*() {
        yield* own(params.ws)
        const entries = readTar(payload)
        if (Result.isFailure(entries)) return yield* Effect.fail(badRequest("body", entries.failure))
        const { digest } = yield* buildContextDigest(entries.success, "upload").pipe(
          Effect.mapError((e) => makeProblem(422, { _tag: e._tag, detail: e.message, reason: e.reason._tag, field: "body" })))
        const store = yield* BuildContextStore
        yield* store.put({ digest, entries: entries.success })
        return HttpServerResponse.jsonUnsafe({ contextUri: `${STORED_CONTEXT_PREFIX}${digest}`, contextDigest: digest, files: entries.success.length }, { status: 201 })
      })))
    .handle("preview", ({ params, payload }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        // The name rule `POST …/versions` applies, so the review does not pass what create refuses.
        if (hasReservedPrefix(name)) {
          return yield* Effect.fail(new Environment.EnvironmentError({ reason: new Environment.ReservedPrefix({ name }) }))
        }
        const { imported } = yield* withStoredContext(yield* definitionOf(name, payload))
        const hash = yield* CanonicalHash.hash(imported.definition)
        const rows = yield* versionRows(ws, name).pipe(Effect.orElseSucceed(() => [] as ReadonlyArray<VersionRow>))
        const image = yield* imageRow(hash)
        return {
          canonicalHash: hash,
          registeredAs: rows.find((r) => r.canonicalHash === hash)?.version ?? null,
          imageExists: image?.built !== null && image?.built !== undefined,
          definition: imported.definition,
          warnings: imported.warnings.map((w) => w.message)
        }
      })))
    .handle("put", ({ params, payload }) =>
      Effect.map(register(params.ws, params.name, payload, params.version), ({ created, resource }) =>
        created ? HttpServerResponse.jsonUnsafe(resource, { status: 201 }) : resource))
    .handle("get", ({ params, query }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        const ref = yield* refOf(name, params.version)
        const asOf = yield* asOfOf(query.asOf)
        return yield* (asOf === undefined ? remembered(answerKey(ws, ref), Effect.flatMap(version(ws, ref), versionJson)) : pastVersion(ws, ref, asOf))
      })))
    .handle("update", ({ params, payload }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        const ref = yield* refOf(name, params.version)
        const t = yield* Terrarium
        const current = yield* version(ws, ref)
        const { description, tags } = payload.properties
        if (description !== undefined || tags !== undefined) {
          yield* t.update({
            workspace: ws,
            actor: yield* actorOf,
            ref: { name, version: current.name },
            ...(description === undefined ? {} : { description }),
            ...tagChanges(current.properties.tags, tags)
          }).pipe(Effect.catchIf((e) => e._tag === "InvalidInput" && /nothing to change|no change/i.test(e.message), () => Effect.void))
        }
        return yield* version(ws, { name, version: current.name })
      })))
    .handle("archive", ({ params }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        const t = yield* Terrarium
        const v = yield* t.archive({ workspace: ws, ref, actor: yield* actorOf })
        return yield* version(ws, { name: v.name, version: v.version })
      })))
    .handle("restore", ({ params }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        const t = yield* Terrarium
        const v = yield* t.restore({ workspace: ws, ref, actor: yield* actorOf })
        return yield* version(ws, { name: v.name, version: v.version })
      })))
    .handle("diff", ({ params, query }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const name = yield* environmentName(params.name)
        const from = yield* Effect.mapError(refOf(name, query.from), () => badRequest("from", "a version, latest or @label"))
        const to = yield* Effect.mapError(refOf(name, query.to), () => badRequest("to", "a version, latest or @label"))
        const t = yield* Terrarium
        const d = yield* t.diff({ workspace: ws, from, to, asOf: yield* asOfOf(query.asOf) })
        return { from: versionResource(d.from), to: versionResource(d.to), diff: d.diff }
      })))
    .handle("export", ({ params, query }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        const t = yield* Terrarium
        const v = yield* t.show({ workspace: ws, ref })
        const format: ExportFormat = query.format ?? "azureml-v2"
        if (!EXPORT_FORMATS.includes(format)) return yield* Effect.fail(badRequest("format", EXPORT_FORMATS.join(", ")))
        const context = format === "dockerfile" || format === "azureml-v2" ? yield* t.buildContext({ workspace: ws, ref }).pipe(Effect.orElseSucceed(() => undefined)) : undefined
        const exported = exportDefinition({ name: v.name, version: v.version, definition: v.definition, ...(context === undefined ? {} : { context }) }, format)
        if (Result.isFailure(exported)) return yield* Effect.fail(makeProblem(422, { _tag: "ExportError", detail: exported.failure, field: "format" }))
        return {
          format,
          entry: exported.success.entry,
          files: exported.success.files.map((f) =>
            "text" in f ? { path: f.path, text: f.text } : "content" in f ? { path: f.path, size: f.content.length } : { path: f.path }
          ),
          leftOut: exported.success.leftOut.map((l) => ({ field: l.field, reason: l.reason }))
        }
      })))
    .handle("context", ({ params, query }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        const t = yield* Terrarium
        const context = yield* t.buildContext({ workspace: ws, ref })
        if (query.path !== undefined) {
          const entry = context?.entries.find((e) => e.path === query.path)
          if (entry === undefined) return yield* Effect.fail(notFound(`no file '${query.path}' in the build context`))
          return HttpServerResponse.uint8Array(entry.content, { contentType: "application/octet-stream" })
        }
        return {
          contextDigest: context?.digest ?? null,
          files: (context?.entries ?? []).map((e) =>
            e.linkTarget !== undefined ? { path: e.path, linkTarget: e.linkTarget } : { path: e.path, size: e.content.length, executable: e.executable }
          )
        }
      })))
)

// ---------------------------------------------------------------------------------------------

const MAX_EVENTS = 1000

const AuditLive = HttpApiBuilder.group(TerrariumApi, "audit", (h) =>
  h.handle("events", ({ params, query, request }) =>
    problems(Effect.gen(function*() {
      const ws = yield* own(params.ws)
      const name = yield* environmentName(params.name)
      const after = query.after === undefined ? -1 : Number(query.after)
      if (!Number.isSafeInteger(after) || after < -1) return yield* Effect.fail(badRequest("after", "a log position (a whole number)"))
      const limit = query.limit === undefined ? 100 : Number(query.limit)
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EVENTS) return yield* Effect.fail(badRequest("limit", `a whole number from 1 to ${MAX_EVENTS}`))
      const t = yield* Terrarium
      const entries = (yield* t.audit({ workspace: ws, name, asOf: yield* asOfOf(query.asOf) })).filter((e) => e.position > after)
      const value = entries.slice(0, limit)
      if (entries.length <= limit) return { value: value.map(auditEvent) }
      const url = new URL(request.url, "http://terrarium")
      url.searchParams.set("after", String(value.at(-1)!.position))
      return { value: value.map(auditEvent), nextLink: `${url.pathname}${url.search}` }
    }))))

// ---------------------------------------------------------------------------------------------

/**
 * A build the workspace may see, by id: one recorded (`builds`, migration 0016), or one still
 * queued for a worker. Builds are kept by canonical hash, which any workspace may share, so a
 * build is the workspace's when one of its versions (or a curated one) has that hash; any other
 * id is 404, exactly as a missing one. `next` is the build of the hash that started after it.
 */
const buildOf = (ws: string, buildId: string) =>
  Effect.gen(function*() {
    const readModel = yield* ReadModel
    const find = Effect.map(readModel.builds({ buildId }), (rows) => rows[0])
    // A build another process started a moment ago may not be projected yet: catch up once.
    const row = (yield* find) ?? (yield* Effect.andThen(Projections.use((p) => p.catchUp), find))
    const missing = notFound(`build '${buildId}' does not exist`)
    const job = row === undefined ? yield* Terrarium.use((t) => t.queuedBuild(buildId)) : undefined
    const hash = row?.canonicalHash ?? job?.canonicalHash
    if (hash === undefined) return yield* Effect.fail(missing)
    const registrations = yield* readModel.cacheLookup(hash)
    if (!registrations.some((r) => r.workspace === ws || r.workspace === CuratedCatalog.CURATED_WORKSPACE)) return yield* Effect.fail(missing)
    if (row === undefined) return { _tag: "Queued" as const, buildId, canonicalHash: hash }
    const later = row.status === "building" ? (yield* readModel.builds({ canonicalHash: hash })).filter((b) => b.startedPosition > row.startedPosition) : []
    return { _tag: "Recorded" as const, row, next: later.at(-1) }
  })

const iso = (date: Date) => date.toISOString()

/**
 * One recorded build as the API shows it. A build still `building` that a later build of its
 * hash followed is over: its process stopped renewing its lease and the later one took over
 * (the decider lets no build start while a lease runs), so it is shown as failed.
 */
const recordedResource = (b: BuildRow, next: BuildRow | undefined, cacheHit = false): typeof Api.BuildResource.Type => {
  const abandoned = b.status === "building" && next !== undefined
  const failure = b.failure !== null
    ? { reason: b.failure.reason, message: b.failure.message, step: b.failure.step }
    : abandoned
    ? { reason: "LeaseExpired", message: `its holder ${b.leaseHolder} stopped renewing its lease; build ${next.buildId} took over`, step: null }
    : null
  const status = abandoned || b.status === "failed" ? "Failed" : b.status === "built" ? "Built" : "Building"
  return {
    buildId: b.buildId,
    canonicalHash: b.canonicalHash,
    status,
    cacheHit,
    cause: b.cause,
    startedAt: iso(b.startedAt),
    endedAt: b.endedAt !== null ? iso(b.endedAt) : abandoned ? iso(next.startedAt) : null,
    pushes: b.pushes.map((p) => ({ reference: p.reference, digest: p.digest, pushedAt: iso(p.pushedAt) })),
    image: {
      status,
      reference: b.built?.image ?? b.image,
      canonicalHash: b.canonicalHash,
      buildId: b.buildId,
      digest: b.built?.imageId ?? null,
      pushedAs: b.pushes.at(-1)?.reference ?? null,
      builtAt: b.built === null ? null : iso(b.built.builtAt),
      failure,
      resolved: b.built?.resolved ?? null,
      cachedSteps: b.built?.cachedSteps ?? null
    }
  }
}

/** A build queued for a worker that has not started it (`buildId` null: a job queued without one). */
const queuedResource = (hash: string, buildId: string | null): typeof Api.BuildResource.Type => ({
  buildId, canonicalHash: hash, status: "Queued", cacheHit: false, cause: null, startedAt: null, endedAt: null, pushes: [],
  image: { ...imageStatusOf(hash, undefined), buildId }
})

/**
 * Completes when following a build's log can give nothing more although its log was not sealed:
 * the id names no build any more (its job ended without starting it: the hash was built or being
 * built by another), or the build ended or was taken over a while ago (its log is sealed then, or
 * never will be: its store was down, or its process died).
 */
const followEnds = (ws: string, buildId: string) =>
  Effect.gen(function*() {
    let over = 0
    while (true) {
      yield* Effect.sleep(FOLLOW_CHECK)
      const found = yield* Effect.result(buildOf(ws, buildId))
      if (Result.isFailure(found)) return
      const now = found.success
      // Twice in a row: a follower reads at least once a second, so it has every line by then.
      over = now._tag === "Recorded" && (now.row.status !== "building" || now.next !== undefined) ? over + 1 : 0
      if (over >= 2) return
    }
  })

/** How often a follower of a build's log looks whether the build is still there to follow. */
const FOLLOW_CHECK = "2 seconds"

/** The resource of a build found by `buildOf`. */
const foundResource = (found: Effect.Success<ReturnType<typeof buildOf>>) =>
  found._tag === "Queued" ? queuedResource(found.canonicalHash, found.buildId) : recordedResource(found.row, found.next)

/** The largest log a request reads whole (a longer one is read by `Range`). */
const MAX_LOG_BYTES = 8 * 1024 * 1024

const sseEvent = (id: number, data: unknown, event?: string) =>
  `${event === undefined ? "" : `event: ${event}\n`}id: ${id}\ndata: ${JSON.stringify(data)}\n\n`

const BuildsLive = (scope: Scope.Scope, remembered: RememberedResponses) => HttpApiBuilder.group(TerrariumApi, "builds", (h) =>
  h
    .handle("start", ({ params, query }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        const t = yield* Terrarium
        const v = yield* t.show({ workspace: ws, ref })
        const actor = yield* actorOf
        type First =
          | { readonly _tag: "Started"; readonly buildId: string }
          | { readonly _tag: "Queued"; readonly buildId: string | undefined }
          | { readonly _tag: "Cached"; readonly buildId: string }
        const first = yield* Deferred.make<First, Problem>()
        const started = (value: First) => Deferred.succeed(first, value)
        // The build outlives the request: it runs in the server's scope, and the answer is sent
        // as soon as it is known whether it was cached, started, or queued for a worker.
        yield* t.build({
          workspace: ws,
          ref: { name: v.name, version: v.version },
          actor,
          noCache: query.noCache === "true",
          onUpdate: (update) =>
            update._tag === "Started" || update._tag === "Waiting"
              ? started({ _tag: "Started", buildId: update.buildId }).pipe(Effect.asVoid)
              : update._tag === "Queued"
              ? started({ _tag: "Queued", buildId: update.buildId }).pipe(Effect.asVoid)
              : Effect.void
        }).pipe(
          Effect.tap((result) => started({ _tag: result.outcome === "cached" ? "Cached" : "Started", buildId: result.built.buildId })),
          Effect.tapError((error) => Deferred.fail(first, problemOf(error))),
          Effect.ignore,
          Effect.forkIn(scope)
        )
        const answer = yield* Deferred.await(first)
        // The build id answered is readable at once (GET /builds/{id}, its log).
        yield* Projections.use((p) => p.catchUp)
        const readModel = yield* ReadModel
        const recorded = (buildId: string) => Effect.map(readModel.builds({ buildId }), (rows) => rows[0])
        if (answer._tag === "Cached") {
          const row = yield* recorded(answer.buildId)
          return row === undefined ? { ...queuedResource(v.canonicalHash, answer.buildId), status: "Built" as const, cacheHit: true } : recordedResource(row, undefined, true)
        }
        // Queued while a build of the hash runs: that build is the one that answers it.
        const image = yield* imageRow(v.canonicalHash)
        const now = yield* Clock.currentTimeMillis
        const running = answer._tag === "Queued" && image?.status === "building" && (image.leaseExpiresAt?.getTime() ?? 0) > now
          ? image.buildId
          : undefined
        const buildId = answer._tag === "Started" ? answer.buildId : running ?? answer.buildId
        const row = buildId === undefined ? undefined : yield* recorded(buildId)
        const resource = row === undefined ? queuedResource(v.canonicalHash, buildId ?? null) : recordedResource(row, undefined)
        return HttpServerResponse.jsonUnsafe(resource, { status: 202 })
      })))
    .handle("list", ({ params, query, request }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        const top = yield* pageSize(query.$top)
        const fingerprint = fingerprintOf({ ...query, version: params.version })
        const offset = yield* decodeSkip(query.$skip, fingerprint)
        const v = yield* Terrarium.use((t) => t.show({ workspace: ws, ref }))
        // Newest first: the build after each one is the one before it in the list.
        const rows = yield* ReadModel.use((rm) => rm.builds({ canonicalHash: v.canonicalHash }))
        return pageOf(rows.map((row, i) => recordedResource(row, rows[i - 1])), offset, top, request, fingerprint)
      })))
    .handle("image", ({ params }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const ref = yield* refOf(yield* environmentName(params.name), params.version)
        return yield* remembered(answerKey(ws, ref), Effect.gen(function*() {
          const v = yield* Terrarium.use((t) => t.show({ workspace: ws, ref }))
          return yield* imageJson(imageStatusOf(v.canonicalHash, yield* imageRow(v.canonicalHash)))
        }))
      })))
    .handle("get", ({ params }) =>
      problems(Effect.map(Effect.flatMap(own(params.ws), (ws) => buildOf(ws, params.buildId)), foundResource)))
    .handle("log", ({ params, request }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const found = yield* buildOf(ws, params.buildId)
        const t = yield* Terrarium
        const lines = yield* Stream.runCollect(t.buildLog({ canonicalHash: found._tag === "Queued" ? found.canonicalHash : found.row.canonicalHash, buildId: params.buildId, follow: false }).pipe(Stream.take(200_000))).pipe(
          Effect.catchTag("LogStoreError", (e) => e.reason._tag === "LogNotFound" ? Effect.succeed([] as ReadonlyArray<string>) : Effect.fail(e))
        )
        const bytes = new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")).subarray(0, MAX_LOG_BYTES)
        return yield* rangeResponse(bytes, request.headers["range"])
      })))
    .handle("logStream", ({ params, request }) =>
      problems(Effect.gen(function*() {
        const ws = yield* own(params.ws)
        const found = yield* buildOf(ws, params.buildId)
        const t = yield* Terrarium
        // Only a build that may still write is followed: the log of one that ended may never have
        // been sealed (its store was down then), and following it would never end.
        const follow = found._tag === "Queued" || (found.row.status === "building" && found.next === undefined)
        const canonicalHash = found._tag === "Queued" ? found.canonicalHash : found.row.canonicalHash
        const services = yield* Effect.context<Projections | ReadModel | Terrarium>()
        const lastId = Number(request.headers["last-event-id"] ?? "0")
        const resumeAfter = Number.isSafeInteger(lastId) && lastId > 0 ? lastId : 0
        const encoder = new TextEncoder()
        let line = 0
        const body = t.buildLog({ canonicalHash, buildId: params.buildId, follow }).pipe(
          Stream.catchTag("LogStoreError", () => Stream.empty),
          follow ? Stream.interruptWhen(Effect.provideContext(followEnds(ws, params.buildId), services)) : identity,
          Stream.filterMap((text) => {
            line++
            return line <= resumeAfter ? Result.failVoid : Result.succeed(sseEvent(line, { line, text }))
          }),
          Stream.concat(Stream.sync(() => sseEvent(line, { line, text: "" }, "end"))),
          Stream.map((text) => encoder.encode(text))
        )
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
        })
      })))
)

/** A whole body, or the one byte range a `Range: bytes=…` header asks for (206), or 416. */
const rangeResponse = (bytes: Uint8Array, range: string | undefined): Effect.Effect<HttpServerResponse.HttpServerResponse, RangeNotSatisfiable> => {
  const headers = { "accept-ranges": "bytes" }
  if (range === undefined) return Effect.succeed(HttpServerResponse.uint8Array(bytes, { contentType: "text/plain; charset=utf-8", headers }))
  const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
  const size = bytes.length
  const unsatisfiable = () =>
    Effect.fail(makeProblem(416, { _tag: "RangeNotSatisfiable", detail: `the log has ${size} bytes; the range ${range} is not in it`, field: "Range" }) as RangeNotSatisfiable)
  if (match === null || (match[1] === "" && match[2] === "")) return unsatisfiable()
  let start: number
  let end: number
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]))
    end = size - 1
  } else {
    start = Number(match[1])
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1)
  }
  if (start >= size || start > end) return unsatisfiable()
  return Effect.succeed(HttpServerResponse.uint8Array(bytes.subarray(start, end + 1), {
    status: 206,
    contentType: "text/plain; charset=utf-8",
    headers: { ...headers, "content-range": `bytes ${start}-${end}/${size}` }
  }))
}

/**
 * Every group's handlers; builds started by a request run in the layer's scope (the server's).
 *
 * @since 0.4.0
 * @category layers
 */
export const layer = Layer.unwrap(Effect.map(Effect.scope, (scope) =>
  Layer.mergeAll(
    EnvironmentsLive(makeListings()),
    VersionsLive(makeRemembered(responseSize)),
    AuditLive,
    BuildsLive(scope, makeRemembered(responseSize))
  )))
