/**
 * The HTTP API's definition (`effect/http-api`): every route, what it takes and answers, and
 * its problems. The server (`Server.ts`, `Handlers.ts`), the OpenAPI document (`/openapi.json`)
 * and the tests' client (`HttpApiClient.make(TerrariumApi)`) are all derived from it.
 *
 * Everything of a workspace is under `/api/v1/workspaces/{ws}`; bodies are shaped like Azure
 * Machine Learning's EnvironmentVersion resource (docs/http-api.md), with what Azure lacks under
 * `properties.terrarium`.
 *
 * @since 0.4.0
 */
import { Context, Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "effect/http-api"
import type { ApiCaller } from "./ApiKeys.ts"
import { problemSchemas, Unauthorized } from "./Problems.ts"

// ---------------------------------------------------------------------------------------------
// auth
// ---------------------------------------------------------------------------------------------

/** The caller of the request being served (its key's workspace). @since 0.4.0 @category auth */
export class CurrentCaller extends Context.Service<CurrentCaller, ApiCaller>()("terrarium/http/CurrentCaller") {}

/**
 * A workspace's API key, as `Authorization: Bearer <key>` or `api-key: <key>` (Azure's header).
 *
 * @since 0.4.0
 * @category auth
 */
export class Authorization extends HttpApiMiddleware.Service<Authorization, { provides: CurrentCaller }>()(
  "terrarium/http/Authorization",
  {
    requiredForClient: true,
    security: { bearer: HttpApiSecurity.bearer, apiKey: HttpApiSecurity.apiKey({ key: "api-key", in: "header" }) },
    error: Unauthorized.pipe(HttpApiSchema.asJson({ contentType: "application/problem+json" }))
  }
) {}

/**
 * Turns what the framework refuses before a handler runs (a path or query parameter or a body
 * that does not decode, a body over its limit) into the API's problem documents, naming the field.
 *
 * @since 0.4.0
 * @category middleware
 */
export class RequestProblems extends HttpApiMiddleware.Service<RequestProblems>()("terrarium/http/RequestProblems", {
  error: problemSchemas
}) {}

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------

const Tags = Schema.Record(Schema.String, Schema.String)
/** Azure's two kinds of environment: the catalog's, and the users' own. */
const EnvironmentType = Schema.Literals(["Curated", "UserCreated"])
/** Where an image of a canonical hash stands (`ImageStatus.status`, the list's build badge). */
const ImageState = Schema.Literals(["NotBuilt", "Building", "Built", "Failed"])
/** A description as a body may set it. */
const DescriptionInput = Schema.String.check(Schema.isMaxLength(4096))

/** @since 0.4.0 @category shapes */
export const SystemData = Schema.Struct({
  createdAt: Schema.String,
  createdBy: Schema.String,
  lastModifiedAt: Schema.String,
  lastModifiedBy: Schema.String
})

/** @since 0.4.0 @category shapes */
export const BuildContextRef = Schema.Struct({ contextUri: Schema.String, dockerfilePath: Schema.String })

const Route = Schema.Struct({ path: Schema.String, port: Schema.Int })

/** @since 0.4.0 @category shapes */
export const InferenceConfig = Schema.Struct({
  livenessRoute: Schema.optionalKey(Route),
  readinessRoute: Schema.optionalKey(Route),
  scoringRoute: Schema.optionalKey(Route)
})

/** The image of a version's canonical hash, as far as anything was asked for it. @since 0.4.0 @category shapes */
export const ImageStatus = Schema.Struct({
  status: ImageState,
  /** `terrarium/<hash>`: the name the image has (or will have) in the engine. */
  reference: Schema.String,
  canonicalHash: Schema.String,
  buildId: Schema.NullOr(Schema.String),
  digest: Schema.NullOr(Schema.String),
  /** registry/repository:tag where the image was pushed, when it was. */
  pushedAs: Schema.NullOr(Schema.String),
  builtAt: Schema.NullOr(Schema.String),
  failure: Schema.NullOr(Schema.Struct({ reason: Schema.String, message: Schema.String, step: Schema.NullOr(Schema.String) })),
  /** What the build really installed (the resolved lock), when built. */
  resolved: Schema.NullOr(Schema.Unknown),
  cachedSteps: Schema.NullOr(Schema.Int)
})

/** What Terrarium adds to Azure's shape. @since 0.4.0 @category shapes */
export const TerrariumVersionFields = Schema.Struct({
  version: Schema.String,
  canonicalHash: Schema.String,
  hashAlgorithm: Schema.Int,
  labels: Schema.Array(Schema.String),
  /** The log position the answer stands at (the head, or the `asOf` position). */
  asOfPosition: Schema.Int,
  /** The whole frozen definition (docs/definition.md), of which the Azure fields above are a view. */
  definition: Schema.Unknown,
  image: Schema.optionalKey(ImageStatus)
})

/** @since 0.4.0 @category shapes */
export const EnvironmentVersionProperties = Schema.Struct({
  image: Schema.optionalKey(Schema.String),
  condaFile: Schema.optionalKey(Schema.String),
  build: Schema.optionalKey(BuildContextRef),
  osType: Schema.Literals(["Linux", "Windows"]),
  inferenceConfig: Schema.optionalKey(InferenceConfig),
  environmentType: EnvironmentType,
  isArchived: Schema.Boolean,
  description: Schema.optionalKey(Schema.String),
  tags: Tags,
  properties: Tags,
  environmentVariables: Schema.optionalKey(Tags),
  terrarium: TerrariumVersionFields
})

/** Azure's EnvironmentVersion resource. @since 0.4.0 @category shapes */
export const EnvironmentVersion = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  type: Schema.Literal("Microsoft.MachineLearningServices/workspaces/environments/versions"),
  properties: EnvironmentVersionProperties,
  systemData: Schema.optionalKey(SystemData)
})
export type EnvironmentVersion = typeof EnvironmentVersion.Type

/** Azure's EnvironmentContainer resource (one per environment). @since 0.4.0 @category shapes */
export const EnvironmentContainer = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  type: Schema.Literal("Microsoft.MachineLearningServices/workspaces/environments"),
  properties: Schema.Struct({
    description: Schema.optionalKey(Schema.String),
    tags: Tags,
    isArchived: Schema.Boolean,
    environmentType: EnvironmentType,
    latestVersion: Schema.NullOr(Schema.String),
    terrarium: Schema.Struct({
      versionCount: Schema.Int,
      archivedVersionCount: Schema.Int,
      canonicalHash: Schema.NullOr(Schema.String),
      /** The image status of the latest version's hash (the list's build badge). */
      imageStatus: Schema.optionalKey(ImageState)
    })
  }),
  systemData: SystemData
})
export type EnvironmentContainer = typeof EnvironmentContainer.Type

const page = <S extends Schema.Top>(item: S) => Schema.Struct({ value: Schema.Array(item), nextLink: Schema.optionalKey(Schema.String) })

/** @since 0.4.0 @category shapes */
export const EnvironmentContainerList = page(EnvironmentContainer)
/** @since 0.4.0 @category shapes */
export const EnvironmentVersionList = page(EnvironmentVersion)

/**
 * What `POST …/versions` and `PUT …/versions/{v}` take: Azure's `properties` (the conda file's
 * text inline, as ARM templates carry it). At most one of `image` and `build`.
 *
 * @since 0.4.0
 * @category shapes
 */
export const EnvironmentVersionBody = Schema.Struct({
  properties: Schema.Struct({
    image: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(2048))),
    condaFile: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(MAX_CONDA_FILE_CHARS()))),
    build: Schema.optionalKey(Schema.Struct({
      contextUri: Schema.String.check(Schema.isMaxLength(2048)),
      dockerfilePath: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1024)))
    })),
    osType: Schema.optionalKey(Schema.Literals(["Linux", "Windows"])),
    inferenceConfig: Schema.optionalKey(InferenceConfig),
    description: Schema.optionalKey(DescriptionInput),
    tags: Schema.optionalKey(Tags),
    properties: Schema.optionalKey(Tags),
    /** Azure v1's name: variables set in the image, besides the conda file's own `variables:`. */
    environmentVariables: Schema.optionalKey(Tags)
  })
})
export type EnvironmentVersionBody = typeof EnvironmentVersionBody.Type

/** The largest conda file a body may carry, in characters. */
function MAX_CONDA_FILE_CHARS() {
  return 256 * 1024
}

/** What `PATCH` changes: description and tags (tags given replace the tags). @since 0.4.0 @category shapes */
export const MetadataPatch = Schema.Struct({
  properties: Schema.Struct({
    description: Schema.optionalKey(DescriptionInput),
    tags: Schema.optionalKey(Tags)
  })
})

/** The wizard's review step: what `POST …/versions` would do, appending nothing. @since 0.4.0 @category shapes */
export const VersionPreview = Schema.Struct({
  canonicalHash: Schema.String,
  /** The version this content is registered as already, if any. */
  registeredAs: Schema.NullOr(Schema.String),
  /** Whether an image for this hash was built (in any workspace: images are shared by content). */
  imageExists: Schema.Boolean,
  definition: Schema.Unknown,
  warnings: Schema.Array(Schema.String)
})

/** @since 0.4.0 @category shapes */
export const VersionDiff = Schema.Struct({
  from: EnvironmentVersion,
  to: EnvironmentVersion,
  diff: Schema.Unknown
})

/** @since 0.4.0 @category shapes */
export const AuditEvent = Schema.Struct({
  position: Schema.Int,
  eventType: Schema.String,
  version: Schema.NullOr(Schema.String),
  actor: Schema.String,
  occurredAt: Schema.String,
  correlationId: Schema.String,
  summary: Schema.String,
  details: Schema.Unknown
})

/** @since 0.4.0 @category shapes */
export const AuditPage = page(AuditEvent)

/** @since 0.4.0 @category shapes */
export const ExportedFiles = Schema.Struct({
  format: Schema.String,
  entry: Schema.String,
  files: Schema.Array(Schema.Struct({ path: Schema.String, text: Schema.optionalKey(Schema.String), size: Schema.optionalKey(Schema.Int) })),
  leftOut: Schema.Array(Schema.Struct({ field: Schema.String, reason: Schema.String }))
})

/** @since 0.4.0 @category shapes */
export const ContextListing = Schema.Struct({
  contextDigest: Schema.NullOr(Schema.String),
  files: Schema.Array(Schema.Struct({ path: Schema.String, size: Schema.optionalKey(Schema.Int), executable: Schema.optionalKey(Schema.Boolean), linkTarget: Schema.optionalKey(Schema.String) }))
})

/**
 * A build, as the API shows it: this build's own status, times, cause and outcome (`image`: its
 * image id as `digest` when it built, its failure when it failed, `pushedAs` its newest push).
 *
 * @since 0.4.0
 * @category shapes
 */
export const BuildResource = Schema.Struct({
  buildId: Schema.NullOr(Schema.String),
  canonicalHash: Schema.String,
  status: Schema.Literals(["Queued", "Building", "Built", "Failed"]),
  /** True when the image was there already and nothing was built. */
  cacheHit: Schema.Boolean,
  /** Why it started: first, retry, no-cache, vanished, takeover, base-moved (null while queued). */
  cause: Schema.NullOr(Schema.String),
  startedAt: Schema.NullOr(Schema.String),
  /** When it built or failed; null while it runs. */
  endedAt: Schema.NullOr(Schema.String),
  /** Where this build's image was pushed, oldest first. */
  pushes: Schema.Array(Schema.Struct({ reference: Schema.String, digest: Schema.String, pushedAt: Schema.String })),
  image: ImageStatus
})

/** Every build of a version's hash, newest first, paged. @since 0.4.0 @category shapes */
export const BuildList = Schema.Struct({ value: Schema.Array(BuildResource), nextLink: Schema.optionalKey(Schema.String) })

/** An uploaded build context, to name as `build.contextUri` in a version body. @since 0.4.0 @category shapes */
export const UploadedContext = Schema.Struct({
  contextUri: Schema.String,
  contextDigest: Schema.String,
  files: Schema.Int
})

/** @since 0.4.0 @category shapes */
export const LogLine = Schema.Struct({ line: Schema.Int, text: Schema.String })

// ---------------------------------------------------------------------------------------------
// paths and parameters
// ---------------------------------------------------------------------------------------------

const workspacePath = "/workspaces/:ws"
const environmentPath = `${workspacePath}/environments/:name` as const
const versionPath = `${environmentPath}/versions/:version` as const
const buildPath = `${workspacePath}/builds/:buildId` as const

const ws = { ws: Schema.String }
const envParams = { ...ws, name: Schema.String }
const versionParams = { ...envParams, version: Schema.String }
const buildParams = { ...ws, buildId: Schema.String }

const asOfQuery = { asOf: Schema.optionalKey(Schema.String) }

/** Paging of a list (`$skip` is the opaque token of a `nextLink`). */
const pageQuery = { $top: Schema.optionalKey(Schema.String), $skip: Schema.optionalKey(Schema.String) }

/** Paging and filters of a list. */
const listQuery = {
  listViewType: Schema.optionalKey(Schema.Literals(["ActiveOnly", "ArchivedOnly", "All"])),
  environmentType: Schema.optionalKey(EnvironmentType),
  ...pageQuery,
  $orderBy: Schema.optionalKey(Schema.String),
  tag: Schema.optionalKey(Schema.String),
  search: Schema.optionalKey(Schema.String),
  ...asOfQuery
}

// ---------------------------------------------------------------------------------------------
// groups
// ---------------------------------------------------------------------------------------------

// The plain (200) answer comes first: the server encodes a returned value with the first schema
// it fits, and the handlers send 201 and 202 themselves.
const Created = <S extends Schema.Top>(schema: S) => schema.pipe(HttpApiSchema.status(201))
const Accepted = <S extends Schema.Top>(schema: S) => schema.pipe(HttpApiSchema.status(202))

/**
 * What environments and versions both have at their own path: get (as of a position), patch
 * (description and tags), archive and restore, each answering the resource.
 */
const resourceEndpoints = <const Path extends `/${string}`, Params extends Schema.Struct.Fields, S extends Schema.Top>(
  path: Path,
  params: Params,
  resource: S
) => [
  HttpApiEndpoint.get("get", path, { params, query: asOfQuery, success: resource }),
  // Only description and tags change: a body naming anything else is refused, not half applied.
  HttpApiEndpoint.patch("update", path, { params, payload: MetadataPatch, success: resource })
    .annotate(HttpApi.PayloadParseOptions, { onExcessProperty: "error" }),
  HttpApiEndpoint.post("archive", `${path}/archive`, { params, success: resource }),
  HttpApiEndpoint.post("restore", `${path}/restore`, { params, success: resource })
] as const

/**
 * A group of a workspace's routes: each takes a key of the workspace (`Authorization`) and
 * answers bad input with a problem document (`RequestProblems`).
 */
const workspaceGroup = <Id extends string, Endpoints extends HttpApiEndpoint.Constraint>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints>,
  about: { readonly title: string; readonly description: string }
) => group.middleware(RequestProblems).middleware(Authorization).annotateMerge(OpenApi.annotations(about))

/** @since 0.4.0 @category groups */
export class EnvironmentsGroup extends workspaceGroup(
  HttpApiGroup.make("environments").add(
    HttpApiEndpoint.get("list", `${workspacePath}/environments`, { params: ws, query: listQuery, success: EnvironmentContainerList }),
    ...resourceEndpoints(environmentPath, envParams, EnvironmentContainer)
  ),
  { title: "Environments", description: "Environments (Azure's EnvironmentContainer)" }
) {}

/** @since 0.4.0 @category groups */
export class VersionsGroup extends workspaceGroup(
  HttpApiGroup.make("versions").add(
    HttpApiEndpoint.get("list", `${environmentPath}/versions`, { params: envParams, query: listQuery, success: EnvironmentVersionList }),
    HttpApiEndpoint.post("create", `${environmentPath}/versions`, {
      params: envParams,
      payload: EnvironmentVersionBody,
      success: [EnvironmentVersion, Created(EnvironmentVersion)]
    }),
    HttpApiEndpoint.post("uploadContext", `${workspacePath}/contexts`, {
      params: ws,
      payload: Schema.Uint8Array.pipe(HttpApiSchema.asUint8Array({ contentType: "application/x-tar" })),
      success: Created(UploadedContext)
    }),
    HttpApiEndpoint.post("preview", `${environmentPath}/preview`, { params: envParams, payload: EnvironmentVersionBody, success: VersionPreview }),
    HttpApiEndpoint.put("put", versionPath, {
      params: versionParams,
      payload: EnvironmentVersionBody,
      success: [EnvironmentVersion, Created(EnvironmentVersion)]
    }),
    ...resourceEndpoints(versionPath, versionParams, EnvironmentVersion),
    HttpApiEndpoint.get("diff", `${environmentPath}/diff`, {
      params: envParams,
      query: { from: Schema.String, to: Schema.String, ...asOfQuery },
      success: VersionDiff
    }),
    HttpApiEndpoint.get("export", `${versionPath}/export`, {
      params: versionParams,
      query: { format: Schema.optionalKey(Schema.Literals(["azureml-v2", "conda", "requirements", "dockerfile"])) },
      success: ExportedFiles
    }),
    HttpApiEndpoint.get("context", `${versionPath}/context`, {
      params: versionParams,
      query: { path: Schema.optionalKey(Schema.String) },
      success: [ContextListing, Schema.String.pipe(HttpApiSchema.asText({ contentType: "application/octet-stream" }))]
    })
  ),
  { title: "Versions", description: "Environment versions (Azure's EnvironmentVersion)" }
) {}

/** @since 0.4.0 @category groups */
export class AuditGroup extends workspaceGroup(
  HttpApiGroup.make("audit").add(
    HttpApiEndpoint.get("events", `${environmentPath}/events`, {
      params: envParams,
      query: { after: Schema.optionalKey(Schema.String), limit: Schema.optionalKey(Schema.String), ...asOfQuery },
      success: AuditPage
    })
  ),
  { title: "Audit", description: "The audit timeline of an environment, by log position" }
) {}

/** @since 0.4.0 @category groups */
export class BuildsGroup extends workspaceGroup(
  HttpApiGroup.make("builds").add(
    HttpApiEndpoint.post("start", `${versionPath}/builds`, {
      params: versionParams,
      query: { noCache: Schema.optionalKey(Schema.Literals(["true", "false"])) },
      success: [BuildResource, Accepted(BuildResource)]
    }),
    HttpApiEndpoint.get("list", `${versionPath}/builds`, {
      params: versionParams,
      query: pageQuery,
      success: BuildList
    }),
    HttpApiEndpoint.get("image", `${versionPath}/image`, { params: versionParams, success: ImageStatus }),
    HttpApiEndpoint.get("get", buildPath, { params: buildParams, success: BuildResource }),
    HttpApiEndpoint.get("log", `${buildPath}/log`, {
      params: buildParams,
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain" }))
    }),
    HttpApiEndpoint.get("logStream", `${buildPath}/log/stream`, {
      params: buildParams,
      success: HttpApiSchema.StreamSse({ data: LogLine })
    })
  ),
  { title: "Builds", description: "Images and their builds" }
) {}

/** @since 0.4.0 @category api */
export class TerrariumApi extends HttpApi.make("terrarium")
  .add(EnvironmentsGroup)
  .add(VersionsGroup)
  .add(AuditGroup)
  .add(BuildsGroup)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({
    title: "Terrarium",
    version: "1",
    description: "The registry and image builder of ML runtime environments (docs/http-api.md)"
  }))
{}
