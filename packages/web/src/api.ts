/**
 * The page's side of the HTTP API (`/api/v1`, described at `/openapi.json`): plain `fetch` with
 * the workspace's API key, problem documents turned into one error type, and the live build log
 * read from the Server-Sent Events stream.
 *
 * The key is asked once and kept in sessionStorage (gone when the tab closes), never in
 * localStorage or a cookie, so it is sent only by this page's own requests.
 */

export interface Problem {
  readonly type?: string
  readonly title: string
  readonly status: number
  readonly detail?: string
  readonly _tag?: string
  readonly reason?: string
  readonly field?: string
  readonly line?: number
}

/** A request the API refused or could not answer, with its problem document. */
export class ApiError extends Error {
  readonly problem: Problem
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title)
    this.problem = problem
  }
  get status(): number {
    return this.problem.status
  }
}

export type Tags = Readonly<Record<string, string>>

/** The image of a version's canonical hash (the API's ImageStatus). */
export interface ImageInfo {
  readonly status?: "NotBuilt" | "Building" | "Built" | "Failed" | string
  readonly reference?: string
  readonly canonicalHash?: string
  readonly digest?: string | null
  readonly buildId?: string | null
  readonly pushedAs?: string | null
  readonly builtAt?: string | null
  readonly failure?: { readonly reason: string; readonly message: string; readonly step: string | null } | null
  readonly cachedSteps?: number | null
}

export interface VersionProperties {
  readonly image?: string
  readonly condaFile?: string
  readonly build?: { readonly contextUri: string; readonly dockerfilePath?: string }
  readonly osType?: string
  readonly environmentType?: "Curated" | "UserCreated"
  readonly isArchived?: boolean
  readonly description?: string
  readonly tags?: Tags
  readonly properties?: Tags
  readonly environmentVariables?: Tags
  readonly terrarium?: {
    readonly version?: string
    readonly canonicalHash?: string
    readonly labels?: ReadonlyArray<string>
    readonly image?: ImageInfo
    readonly definition?: unknown
  }
}

export interface SystemData {
  readonly createdAt?: string
  readonly createdBy?: string
  readonly lastModifiedAt?: string
  readonly lastModifiedBy?: string
}

export interface EnvironmentVersion {
  readonly id?: string
  readonly name: string
  readonly properties: VersionProperties
  readonly systemData?: SystemData
}

export interface EnvironmentContainer {
  readonly id?: string
  readonly name: string
  readonly properties: {
    readonly description?: string
    readonly tags?: Tags
    readonly isArchived?: boolean
    readonly latestVersion?: string | null
    readonly environmentType?: "Curated" | "UserCreated"
    readonly terrarium?: {
      readonly versionCount?: number
      readonly archivedVersionCount?: number
      readonly canonicalHash?: string | null
      readonly imageStatus?: string
    }
  }
  readonly systemData?: SystemData
}

export interface Page<A> {
  readonly value: ReadonlyArray<A>
  readonly nextLink?: string
}

export interface Preview {
  readonly canonicalHash: string
  /** The version this content is registered as already, if any. */
  readonly registeredAs?: string | null
  readonly imageExists: boolean
  readonly definition?: unknown
  readonly warnings?: ReadonlyArray<string>
}

export interface Build {
  readonly buildId: string | null
  readonly canonicalHash?: string
  readonly status: "Queued" | "Building" | "Built" | "Failed" | string
  readonly cacheHit?: boolean
  readonly image?: ImageInfo
}

export interface TimelineEvent {
  readonly position: number
  readonly eventType: string
  readonly version?: string | null
  readonly actor?: string
  readonly occurredAt?: string
  readonly summary?: string
  readonly details?: unknown
}

export interface ContextEntry {
  readonly path: string
  readonly size?: number
  readonly executable?: boolean
  readonly linkTarget?: string
}

export interface ContextListing {
  readonly contextDigest: string | null
  readonly files: ReadonlyArray<ContextEntry>
}

export interface ExportedFiles {
  readonly format: string
  readonly entry: string
  readonly files: ReadonlyArray<{ readonly path: string; readonly text?: string; readonly size?: number }>
}

const KEY_ITEM = "terrarium.apiKey"
const WORKSPACE_ITEM = "terrarium.workspace"

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY_ITEM),
  workspace: (): string => sessionStorage.getItem(WORKSPACE_ITEM) ?? "default",
  save: (key: string, workspace: string): void => {
    sessionStorage.setItem(KEY_ITEM, key)
    sessionStorage.setItem(WORKSPACE_ITEM, workspace)
  },
  forget: (): void => {
    sessionStorage.removeItem(KEY_ITEM)
  }
}

/** Listeners told when the API answers 401, so the page can ask for the key again. */
const unauthorizedListeners = new Set<() => void>()
export const onUnauthorized = (listener: () => void): (() => void) => {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

const enc = encodeURIComponent

export const workspacePath = (path: string): string => `/api/v1/workspaces/${enc(session.workspace())}${path}`

export const query = (params: Record<string, string | number | boolean | undefined | null>): string => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "" && value !== false) search.set(name, String(value))
  }
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

const headers = (extra?: Record<string, string>): Record<string, string> => {
  const key = session.key()
  return { accept: "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra }
}

const problemOf = async (response: Response): Promise<Problem> => {
  const text = await response.text()
  try {
    const body = JSON.parse(text) as Partial<Problem>
    return { ...body, title: body.title ?? response.statusText, status: body.status ?? response.status }
  } catch {
    return { title: response.statusText || "Request failed", status: response.status, detail: text.slice(0, 500) }
  }
}

const send = async (method: string, path: string, body?: unknown, init?: RequestInit): Promise<Response> => {
  let response: Response
  try {
    response = await fetch(path.startsWith("/api/") ? path : workspacePath(path), {
      method,
      headers: headers(body === undefined ? undefined : { "content-type": "application/json" }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...init
    })
  } catch (error) {
    throw new ApiError({ title: "The server cannot be reached", status: 0, detail: String(error) })
  }
  if (response.status === 401) unauthorizedListeners.forEach((listener) => listener())
  if (!response.ok) throw new ApiError(await problemOf(response))
  return response
}

const json = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
  const response = await send(method, path, body)
  return (response.status === 204 ? undefined : await response.json()) as A
}

export interface ListOptions {
  readonly listViewType?: "ActiveOnly" | "ArchivedOnly" | "All"
  readonly environmentType?: "Curated" | "UserCreated"
  readonly tag?: string
  readonly search?: string
  readonly asOf?: string
  readonly top?: number
  readonly skip?: string
  readonly orderBy?: string
}

const listQuery = (options: ListOptions): string =>
  query({
    listViewType: options.listViewType,
    environmentType: options.environmentType,
    tag: options.tag,
    search: options.search,
    asOf: options.asOf,
    $top: options.top,
    $skip: options.skip,
    $orderBy: options.orderBy
  })

const env = (name: string) => `/environments/${enc(name)}`
const ver = (name: string, version: string) => `${env(name)}/versions/${enc(version)}`

export const api = {
  listEnvironments: (options: ListOptions) =>
    json<Page<EnvironmentContainer>>("GET", `/environments${listQuery(options)}`),
  /** A next page by the server's own link (its `$skip` token is opaque). */
  nextPage: <A>(nextLink: string) => {
    const url = new URL(nextLink, location.origin)
    return json<Page<A>>("GET", url.pathname + url.search)
  },
  getEnvironment: (name: string, asOf?: string) =>
    json<EnvironmentContainer>("GET", `${env(name)}${query({ asOf })}`),
  archiveEnvironment: (name: string) => json<EnvironmentContainer>("POST", `${env(name)}/archive`),
  restoreEnvironment: (name: string) => json<EnvironmentContainer>("POST", `${env(name)}/restore`),
  listVersions: (name: string, options: ListOptions) =>
    json<Page<EnvironmentVersion>>("GET", `${env(name)}/versions${listQuery(options)}`),
  getVersion: (name: string, version: string, asOf?: string) =>
    json<EnvironmentVersion>("GET", `${ver(name, version)}${query({ asOf })}`),
  patchVersion: (name: string, version: string, patch: { description?: string; tags?: Tags }) =>
    json<EnvironmentVersion>("PATCH", ver(name, version), { properties: patch }),
  archiveVersion: (name: string, version: string) => json<unknown>("POST", `${ver(name, version)}/archive`),
  restoreVersion: (name: string, version: string) => json<unknown>("POST", `${ver(name, version)}/restore`),
  preview: (name: string, properties: VersionProperties) =>
    json<Preview>("POST", `${env(name)}/preview`, { properties }),
  createVersion: (name: string, properties: VersionProperties) =>
    json<EnvironmentVersion>("POST", `${env(name)}/versions`, { properties }),
  diff: (name: string, from: string, to: string, asOf?: string) =>
    json<{ from: EnvironmentVersion; to: EnvironmentVersion; diff: unknown }>("GET", `${env(name)}/diff${query({ from, to, asOf })}`),
  events: (name: string, after?: string | number, asOf?: string) =>
    json<Page<TimelineEvent>>("GET", `${env(name)}/events${query({ after, limit: 200, asOf })}`),
  context: (name: string, version: string) => json<ContextListing>("GET", `${ver(name, version)}/context`),
  contextFile: async (name: string, version: string, path: string) =>
    (await send("GET", `${ver(name, version)}/context${query({ path })}`)).text(),
  image: (name: string, version: string, asOf?: string) =>
    json<ImageInfo>("GET", `${ver(name, version)}/image${query({ asOf })}`),
  startBuild: (name: string, version: string, noCache = false) =>
    json<Build>("POST", `${ver(name, version)}/builds${query({ noCache: noCache ? "true" : undefined })}`),
  listBuilds: (name: string, version: string) => json<{ value: ReadonlyArray<Build> }>("GET", `${ver(name, version)}/builds`),
  getBuild: (buildId: string) => json<Build>("GET", `/builds/${enc(buildId)}`),
  exportFiles: (name: string, version: string, format: string) =>
    json<ExportedFiles>("GET", `${ver(name, version)}/export${query({ format })}`),
  /** Uploads a build context as a tar archive; its `contextUri` goes in a version's `build`. */
  uploadContext: async (tar: Blob) => {
    const response = await send("POST", "/contexts", undefined, {
      body: tar,
      headers: headers({ "content-type": "application/x-tar" })
    })
    return (await response.json()) as { contextUri: string; contextDigest?: string }
  }
}

export interface LogLine {
  readonly id: string
  readonly text: string
}

/**
 * Follows a build's log over Server-Sent Events. `fetch` rather than `EventSource`: the stream
 * needs the Authorization header, which `EventSource` cannot send. A dropped connection resumes
 * from the last line seen (`Last-Event-ID`), so no line is shown twice or lost.
 */
export const followLog = (
  buildId: string,
  handlers: { line: (line: LogLine) => void; end: (status: string) => void; error: (error: ApiError) => void }
): (() => void) => {
  const controller = new AbortController()
  let lastId: string | undefined
  let attempts = 0
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(workspacePath(`/builds/${enc(buildId)}/log/stream`), {
          headers: headers({ accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) }),
          signal: controller.signal
        })
        if (!response.ok || !response.body) throw new ApiError(await problemOf(response))
        attempts = 0
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
        let buffer = ""
        reading: for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          buffer += value
          let boundary = buffer.indexOf("\n\n")
          while (boundary >= 0) {
            const block = buffer.slice(0, boundary)
            buffer = buffer.slice(boundary + 2)
            boundary = buffer.indexOf("\n\n")
            let event = "message"
            let id: string | undefined
            const data: Array<string> = []
            for (const field of block.split("\n")) {
              if (field.startsWith(":")) continue
              const colon = field.indexOf(":")
              const name = colon < 0 ? field : field.slice(0, colon)
              const fieldValue = colon < 0 ? "" : field.slice(colon + 1).replace(/^ /, "")
              if (name === "event") event = fieldValue
              else if (name === "id") id = fieldValue
              else if (name === "data") data.push(fieldValue)
            }
            if (id !== undefined) lastId = id
            const text = data.join("\n")
            if (event === "end") {
              await reader.cancel()
              break reading
            }
            if (data.length > 0) handlers.line({ id: id ?? String(Math.random()), text: lineOf(text) })
          }
        }
        // The server ends the stream when the log is sealed; a stream that ended while the
        // build still runs (a proxy's timeout) is resumed from the last line.
        const build = await api.getBuild(buildId)
        if (build.status !== "Queued" && build.status !== "Building") {
          handlers.end(build.status)
          return
        }
      } catch (error) {
        if (controller.signal.aborted) return
        // A build just started may not be readable yet (404) for a moment; other refusals are final.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 404) return handlers.error(error)
        attempts += 1
        if (attempts > 8) {
          return handlers.error(
            error instanceof ApiError ? error : new ApiError({ title: "The log stream broke", status: 0, detail: String(error) })
          )
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempts))
    }
  }
  void run()
  return () => controller.abort()
}

const lineOf = (data: string): string => {
  if (!data.startsWith("{")) return data
  try {
    // The API's LogLine is { line: number, text }.
    const parsed = JSON.parse(data) as { line?: unknown; text?: unknown }
    return typeof parsed.text === "string" ? parsed.text : typeof parsed.line === "string" ? parsed.line : data
  } catch {
    return data
  }
}
