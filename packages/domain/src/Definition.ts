/**
 * The environment definition: everything a script needs to run, as Effect Schemas.
 *
 * A definition is what gets frozen into a `Registered` event. Field names follow the AzureML
 * environment model (python / docker / spark / r sections, environment variables) in camelCase.
 * Which of these fields are build-relevant, and so hashed, is decided in `CanonicalHash.ts`.
 *
 * These schemas are the shape of a definition, which events decode with: the log must decode
 * every definition it ever stored, so a rule added later cannot be one of them. The rules a new
 * definition must meet (specs in normal form, no credentials in URLs, a Dockerfile base with
 * something to build from) are `CheckedDefinition` in `DefinitionCheck.ts`, which commands and
 * importers use.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Sha256Digest } from "./CanonicalHash.ts"
import { CondaSpec, PipRequirement } from "./PackageSpec.ts"
import { reservedPrefixOf } from "./ReservedNames.ts"

/**
 * Environment names follow AzureML's rule: a letter or digit, then up to 254 letters, digits,
 * `-`, `_` or `.`. The prefixes `AzureML` and `Microsoft` (any letter case, with or without a
 * separator, and their look-alikes: `ReservedNames.ts`) are reserved for curated environments
 * (checked by the decider, which knows whether a command is curated).
 *
 * @since 0.1.0
 * @category names
 */
export const EnvironmentName = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, {
    message: "an environment name starts with a letter or digit and has up to 255 letters, digits, '-', '_' or '.'"
  }))
)
export type EnvironmentName = typeof EnvironmentName.Type

/** @since 0.1.0 @category names */
export const CURATED_PREFIX = "AzureML-"

/**
 * True when the name is spelt as a curated environment's: exactly `AzureML-…`.
 *
 * @since 0.1.0
 * @category names
 */
export const isCuratedName = (name: string): boolean => name.startsWith(CURATED_PREFIX)

/**
 * True when the name starts with a reserved prefix (`AzureML`, `Microsoft`) in any letter case,
 * with or without a separator, or with a look-alike of one (`azureml-x`, `AZUREMLfoo`,
 * `Microsoft_x`, a Cyrillic `А`): such a name would pass for a curated one, so only curated
 * environments may have it.
 *
 * @since 0.1.0
 * @category names
 */
export const hasReservedPrefix = (name: string): boolean => reservedPrefixOf(name) !== undefined

/**
 * Workspaces partition one database between teams; every stream is keyed by workspace and name.
 *
 * @since 0.1.0
 * @category names
 */
export const WorkspaceName = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,62}$/, {
    message: "a workspace name is 1-63 lower-case letters, digits, '-' or '_'"
  }))
)
export type WorkspaceName = typeof WorkspaceName.Type

/**
 * A version string. Generated versions are "1", "2", …; an explicit one may be any short token.
 *
 * @since 0.1.0
 * @category names
 */
export const VersionString = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/, {
    message: "a version is 1-100 letters, digits, '.', '_', '+' or '-', starting with a letter or digit"
  }))
)
export type VersionString = typeof VersionString.Type

/**
 * A label is a movable name for a version (`prod`, `staging`). `latest` is built in and moves
 * by itself to the newest non-archived version.
 *
 * @since 0.1.0
 * @category names
 */
export const LabelName = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^[a-z][a-z0-9_-]{0,62}$/, {
    message: "a label is 1-63 lower-case letters, digits, '-' or '_', starting with a letter"
  }))
)
export type LabelName = typeof LabelName.Type

/**
 * A reference to a secret held elsewhere, never the secret itself: `env:NAME` (a variable of the
 * process that builds), `file:PATH`, or `keyvault:VAULT/NAME`. Values are resolved into
 * `Redacted` only at the moment of use.
 *
 * @since 0.1.0
 * @category docker
 */
export const SecretReference = Schema.String.pipe(
  Schema.check(Schema.isPattern(/^(env|file|keyvault):\S+$/, {
    message: "a secret is given by reference (env:NAME, file:PATH or keyvault:VAULT/NAME), never by value"
  }))
)
export type SecretReference = typeof SecretReference.Type

/**
 * Options that change how pip resolves, so they are build-relevant.
 *
 * @since 0.1.0
 * @category python
 */
export const PipOptions = Schema.Struct({
  indexUrl: Schema.optionalKey(Schema.String),
  extraIndexUrls: Schema.Array(Schema.String),
  findLinks: Schema.Array(Schema.String),
  /** `-c FILE` constraint files, as references relative to the definition's source. */
  constraints: Schema.Array(Schema.String),
  /**
   * The content digest (`sha256:…` of its text as UTF-8) of each constraints file that could be
   * read when the definition was imported, keyed by its entry in `constraints`. Hashed, so that
   * editing a constraints file makes a new version even though its path stays the same.
   */
  constraintDigests: Schema.optionalKey(Schema.Record(Schema.String, Sha256Digest)),
  /** Any other pip option line, verbatim (`--pre`, `--no-binary :all:`). */
  flags: Schema.Array(Schema.String)
})
export type PipOptions = typeof PipOptions.Type

/** @since 0.1.0 @category python */
export const emptyPipOptions: PipOptions = { extraIndexUrls: [], findLinks: [], constraints: [], flags: [] }

/**
 * The conda environment to create (system-managed environments only).
 * Channel order is priority order and therefore significant.
 *
 * @since 0.1.0
 * @category python
 */
export const CondaDependencies = Schema.Struct({
  /** The `name:` written in the conda file; informational, not build-relevant. */
  name: Schema.optionalKey(Schema.String),
  channels: Schema.Array(Schema.String),
  conda: Schema.Array(CondaSpec),
  pip: Schema.Array(PipRequirement),
  pipOptions: PipOptions
})
export type CondaDependencies = typeof CondaDependencies.Type

/**
 * @since 0.1.0
 * @category python
 */
export const PythonSection = Schema.Struct({
  /** True: the image already has everything; Terrarium installs nothing (user-managed). */
  userManagedDependencies: Schema.Boolean,
  interpreterPath: Schema.String,
  conda: Schema.optionalKey(CondaDependencies)
})
export type PythonSection = typeof PythonSection.Type

/**
 * Where the image starts from: a base image, or a Dockerfile with a build context.
 *
 * @since 0.1.0
 * @category docker
 */
export const DockerBase = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("image"), image: Schema.String }),
  Schema.Struct({
    kind: Schema.Literal("dockerfile"),
    /** The Dockerfile text when given inline or read at definition time. */
    dockerfile: Schema.optionalKey(Schema.String),
    /** Build context reference (a directory relative to the definition file, or a URI). */
    context: Schema.optionalKey(Schema.String),
    /** Dockerfile path inside the context (AzureML `build.dockerfile_path`). */
    dockerfilePath: Schema.optionalKey(Schema.String),
    /**
     * The digest of the context's files (`ContextDigest.contextDigest`), computed when the
     * definition was imported from a local directory. Hashed: it is what changes when a file
     * the Dockerfile COPYs changes. Absent for a URI context, which cannot be read here.
     */
    contextDigest: Schema.optionalKey(Sha256Digest)
  })
])
export type DockerBase = typeof DockerBase.Type

/** @since 0.1.0 @category docker */
export const BaseImageRegistry = Schema.Struct({
  address: Schema.String,
  username: Schema.optionalKey(SecretReference),
  password: Schema.optionalKey(SecretReference)
})
export type BaseImageRegistry = typeof BaseImageRegistry.Type

/** @since 0.1.0 @category docker */
export const Platform = Schema.Struct({
  os: Schema.Literals(["linux", "windows"]),
  arch: Schema.String
})
export type Platform = typeof Platform.Type

/** @since 0.1.0 @category docker */
export const DockerSection = Schema.Struct({
  base: DockerBase,
  baseImageRegistry: Schema.optionalKey(BaseImageRegistry),
  gpuSupport: Schema.Boolean,
  shmSize: Schema.optionalKey(Schema.String),
  runArguments: Schema.Array(Schema.String),
  platform: Platform
})
export type DockerSection = typeof DockerSection.Type

/**
 * The base image used when a definition names none (AzureML's CPU default).
 *
 * @since 0.1.0
 * @category docker
 */
export const DEFAULT_BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"

/** @since 0.1.0 @category spark */
export const SparkPackage = Schema.Struct({ group: Schema.String, artifact: Schema.String, version: Schema.String })
export type SparkPackage = typeof SparkPackage.Type

/** @since 0.1.0 @category spark */
export const SparkSection = Schema.Struct({
  repositories: Schema.Array(Schema.String),
  packages: Schema.Array(SparkPackage),
  precachePackages: Schema.Boolean
})
export type SparkSection = typeof SparkSection.Type

/** @since 0.1.0 @category r */
export const RSection = Schema.Struct({
  rVersion: Schema.optionalKey(Schema.String),
  userManaged: Schema.Boolean,
  rscriptPath: Schema.optionalKey(Schema.String),
  snapshotDate: Schema.optionalKey(Schema.String),
  cranPackages: Schema.Array(Schema.Struct({ name: Schema.String, repository: Schema.optionalKey(Schema.String) })),
  gitHubPackages: Schema.Array(Schema.Struct({ repository: Schema.String, authToken: Schema.optionalKey(SecretReference) })),
  customUrlPackages: Schema.Array(Schema.String),
  bioConductorPackages: Schema.Array(Schema.String)
})
export type RSection = typeof RSection.Type

/** @since 0.1.0 @category inferencing */
export const Route = Schema.Struct({ path: Schema.String, port: Schema.Int })

/** @since 0.1.0 @category inferencing */
export const InferenceConfig = Schema.Struct({
  livenessRoute: Schema.optionalKey(Route),
  readinessRoute: Schema.optionalKey(Route),
  scoringRoute: Schema.optionalKey(Route)
})
export type InferenceConfig = typeof InferenceConfig.Type

/**
 * The whole definition of an environment, without its name and version (those belong to the
 * stream and the `Registered` event).
 *
 * @since 0.1.0
 * @category definition
 */
export const Definition = Schema.Struct({
  description: Schema.optionalKey(Schema.String),
  tags: Schema.Record(Schema.String, Schema.String),
  properties: Schema.Record(Schema.String, Schema.String),
  python: PythonSection,
  docker: DockerSection,
  variables: Schema.Record(Schema.String, Schema.String),
  spark: SparkSection,
  r: Schema.optionalKey(RSection),
  inferencingStackVersion: Schema.optionalKey(Schema.String),
  inferenceConfig: Schema.optionalKey(InferenceConfig)
})
export type Definition = typeof Definition.Type

/**
 * A definition with every section at its default: system-managed Python with no packages, the
 * default base image, linux/amd64.
 *
 * @since 0.1.0
 * @category definition
 */
export const emptyDefinition: Definition = {
  tags: {},
  properties: {},
  python: { userManagedDependencies: false, interpreterPath: "python" },
  docker: {
    base: { kind: "image", image: DEFAULT_BASE_IMAGE },
    gpuSupport: false,
    runArguments: [],
    platform: { os: "linux", arch: "amd64" }
  },
  variables: {},
  spark: { repositories: [], packages: [], precachePackages: false }
}

/**
 * curated = the reserved `AzureML-` prefix; user-managed = Terrarium installs nothing;
 * system-managed = Terrarium creates the Python environment.
 *
 * @since 0.1.0
 * @category definition
 */
export type EnvironmentType = "curated" | "user-managed" | "system-managed"

/** @since 0.1.0 @category definition */
export const environmentType = (name: string, definition: Definition): EnvironmentType =>
  isCuratedName(name) ? "curated" : definition.python.userManagedDependencies ? "user-managed" : "system-managed"
