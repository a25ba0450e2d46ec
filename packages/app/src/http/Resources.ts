/**
 * Terrarium's results as Azure's resources, and Azure's request bodies as Terrarium definitions.
 *
 * A request body is read by the ARM template importer (the body's `properties` are exactly an
 * ARM environment-version resource's): the same rules and messages as `terrarium environment
 * create --file template.json`. It reads on a file system that has no files, so a conda file's
 * `-r other.txt` cannot make the server read one of its own; and its strings are escaped so that
 * none is taken for an ARM expression (`[parameters('x')]`).
 *
 * @since 0.4.0
 */
import { exportDefinition, type ImportedEnvironment, validateDefinition, parseArmEnvironmentVersion, ENVIRONMENT_VERSION_RESOURCE_TYPE, type ImportError } from "@terrarium/adapters"
import type { AuditEntry, Definition, EnvironmentSummary, ImageBuildRow, VersionRow } from "@terrarium/domain"
import { Build } from "@terrarium/domain"
import * as NodePath from "@effect/platform-node/NodePath"
import { Effect, FileSystem, Result } from "effect"
import type { EnvironmentVersion as VersionResult } from "../Results.ts"
import type * as Api from "./Api.ts"

/** How a request body is named in the messages about it. */
export const BODY = "request body"

const escapeExpressions = (value: unknown): unknown => {
  if (typeof value === "string") return value.startsWith("[") ? `[${value}` : value
  if (Array.isArray(value)) return value.map(escapeExpressions)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeExpressions(v)]))
  }
  return value
}

const noFiles = FileSystem.layerNoop({})

/**
 * The definition a body describes, checked by the rules every import keeps.
 *
 * @since 0.4.0
 * @category requests
 */
export const definitionOf = (name: string, body: Api.EnvironmentVersionBody): Effect.Effect<ImportedEnvironment, ImportError> => {
  const { environmentVariables: _, ...properties } = body.properties
  const template = {
    resources: [{
      type: ENVIRONMENT_VERSION_RESOURCE_TYPE,
      name: `workspace/${name}/version`,
      properties: escapeExpressions(properties)
    }]
  }
  const { environmentVariables } = body.properties
  return parseArmEnvironmentVersion(BODY, JSON.stringify(template), { allowOutside: [] }).pipe(
    // Environment variables (Azure v1's `environmentVariables`) join the conda file's, and the
    // definition is checked again with them.
    Effect.flatMap((imported) =>
      environmentVariables === undefined
        ? Effect.succeed(imported)
        : Effect.map(
          validateDefinition(BODY, { ...imported.definition, variables: { ...imported.definition.variables, ...environmentVariables } }),
          (definition) => ({ ...imported, definition })
        )
    ),
    Effect.provide([noFiles, NodePath.layer])
  )
}

const iso = (date: Date) => date.toISOString()

/** The image of a hash as the API shows it. @since 0.4.0 @category responses */
export const imageStatusOf = (hash: string, row: ImageBuildRow | undefined): Api.EnvironmentVersion["properties"]["terrarium"]["image"] & {} => {
  const built = row?.built ?? null
  return {
    status: row === undefined ? "NotBuilt" : row.status === "building" ? "Building" : row.status === "built" ? "Built" : "Failed",
    reference: row?.image ?? Build.imageNameOf(hash),
    canonicalHash: hash,
    buildId: row?.buildId ?? null,
    digest: built?.imageId ?? null,
    // The newest push of the image built (an earlier build's pushes are another image).
    pushedAs: row?.pushes.filter((p) => p.buildId === built?.buildId).at(-1)?.reference ?? null,
    builtAt: built === null ? null : iso(built.builtAt),
    failure: row?.status === "failed" && row.failure !== null
      ? { reason: row.failure.reason, message: row.failure.message, step: row.failure.step }
      : null,
    resolved: built?.resolved ?? null,
    cachedSteps: built?.cachedSteps ?? null
  }
}

/** The conda file of a definition, as the `conda` export writes it. */
const condaFileOf = (name: string, version: string, definition: Definition): string | undefined => {
  if (definition.python.userManagedDependencies || definition.python.conda === undefined) return undefined
  const exported = exportDefinition({ name, version, definition }, "conda")
  if (Result.isFailure(exported)) return undefined
  const file = exported.success.files.find((f) => "text" in f)
  return file !== undefined && "text" in file ? file.text : undefined
}

const resourceId = (workspace: string, name: string, version?: string) =>
  `/workspaces/${workspace}/environments/${name}${version === undefined ? "" : `/versions/${version}`}`

/**
 * A version as Azure's EnvironmentVersion resource.
 *
 * @since 0.4.0
 * @category responses
 */
export const versionResource = (
  v: VersionResult,
  extra: { readonly row?: VersionRow | undefined; readonly image?: ImageBuildRow | undefined; readonly withImage?: boolean } = {}
): Api.EnvironmentVersion => {
  const d = v.definition
  const base = d.docker.base
  const conda = condaFileOf(v.name, v.version, d)
  const description = extra.row?.description ?? d.description
  return {
    id: resourceId(v.workspace, v.name, v.version),
    name: v.version,
    type: "Microsoft.MachineLearningServices/workspaces/environments/versions",
    properties: {
      ...(base.kind === "image" ? { image: base.image } : {}),
      ...(conda === undefined ? {} : { condaFile: conda }),
      ...(base.kind === "dockerfile"
        ? { build: { contextUri: base.context ?? (base.contextDigest === undefined ? "" : `terrarium://build-contexts/${base.contextDigest}`), dockerfilePath: base.dockerfilePath ?? "Dockerfile" } }
        : {}),
      osType: d.docker.platform.os === "windows" ? "Windows" : "Linux",
      ...(d.inferenceConfig === undefined ? {} : { inferenceConfig: d.inferenceConfig }),
      environmentType: v.environmentType === "curated" ? "Curated" : "UserCreated",
      isArchived: v.archived,
      ...(description === undefined || description === null ? {} : { description }),
      tags: { ...(extra.row?.tags ?? d.tags) },
      properties: { ...d.properties },
      ...(Object.keys(d.variables).length === 0 ? {} : { environmentVariables: { ...d.variables } }),
      terrarium: {
        version: v.version,
        canonicalHash: v.canonicalHash,
        hashAlgorithm: v.hashAlgorithm,
        labels: [...v.labels],
        asOfPosition: v.asOfPosition,
        definition: d,
        ...(extra.withImage === true ? { image: imageStatusOf(v.canonicalHash, extra.image) } : {})
      }
    },
    ...(extra.row === undefined ? {} : {
      systemData: {
        createdAt: iso(extra.row.createdAt),
        createdBy: extra.row.createdBy,
        lastModifiedAt: iso(extra.row.archivedAt ?? extra.row.createdAt),
        lastModifiedBy: extra.row.createdBy
      }
    })
  }
}

/**
 * An environment as Azure's EnvironmentContainer resource; its description and tags are its
 * latest version's (Terrarium keeps them on versions).
 *
 * @since 0.4.0
 * @category responses
 */
export const containerResource = (
  s: EnvironmentSummary,
  latest: VersionRow | undefined,
  image?: ImageBuildRow | undefined
): Api.EnvironmentContainer => ({
  id: resourceId(s.workspace, s.name),
  name: s.name,
  type: "Microsoft.MachineLearningServices/workspaces/environments",
  properties: {
    ...(latest?.description === undefined || latest.description === null ? {} : { description: latest.description }),
    tags: { ...(latest?.tags ?? {}) },
    isArchived: s.archived,
    environmentType: s.environmentType === "curated" ? "Curated" : "UserCreated",
    latestVersion: s.latestVersion,
    terrarium: {
      versionCount: s.versionCount,
      archivedVersionCount: s.archivedVersionCount,
      canonicalHash: latest?.canonicalHash ?? null,
      ...(latest === undefined ? {} : { imageStatus: imageStatusOf(latest.canonicalHash, image).status })
    }
  },
  systemData: {
    createdAt: iso(s.createdAt),
    createdBy: latest?.createdBy ?? "",
    lastModifiedAt: iso(s.updatedAt),
    lastModifiedBy: latest?.createdBy ?? ""
  }
})

/** @since 0.4.0 @category responses */
export const auditEvent = (e: AuditEntry): typeof Api.AuditEvent.Type => ({
  position: e.position,
  eventType: e.eventType,
  version: e.version,
  actor: e.actor,
  occurredAt: iso(e.occurredAt),
  correlationId: e.correlationId,
  summary: e.summary,
  details: e.details
})
