/**
 * A Promise facade over the Terrarium service, for services that do not use Effect.
 *
 * ```ts
 * import { createTerrarium } from "@terrarium/app"
 *
 * const terrarium = await createTerrarium()               // embedded PGlite under ~/.terrarium
 * const v1 = await terrarium.createFromFile("env.yml")     // { name, version: "1", created: true, … }
 * await terrarium.addPackage("my-env", { pip: "numpy>=1.26" })
 * await terrarium.setVariable("my-env", "OMP_NUM_THREADS", "4", { correlationId: "req-42" })
 * const v2 = await terrarium.register("my-env")
 * console.log(await terrarium.diff("my-env:1", "my-env:2"))
 * await terrarium.close()
 * ```
 *
 * Failures reject with the typed error (an `Error` with a `_tag` and a clear `message`).
 *
 * @since 0.1.0
 */
import { importEnvironmentFile } from "@terrarium/adapters"
import type { AuditEntry, BuildContext, CuratedCatalogRow, EnvironmentSummary, ImageBuildRow, VersionRow } from "@terrarium/domain"
import { Effect, Layer, Logger, ManagedRuntime, Schema, Stream } from "effect"
import { type AsOf, decodeAsOf } from "./AsOf.ts"
import { decodeRef, type EnvironmentRef } from "./EnvironmentRef.ts"
import { decodeInput, type InvalidInput } from "./InvalidInput.ts"
import { importedBuildContext } from "./ImportedBuildContext.ts"
import { decodeDefinitionInput, type DefinitionInput, decodePackageSpec, fromImported } from "./Input.ts"
import { readWheelFile } from "./PrivateWheels.ts"
import * as Setup from "./Setup.ts"
import {
  type CatalogSync,
  type Clone,
  type Draft,
  type EnvironmentArchive,
  type EnvironmentVersion,
  type BaseRefreshResult,
  type CancelledBuild,
  type ImageBuildResult,
  type ImageTarget,
  type Registration,
  type Share,
  Terrarium,
  type VersionDiff,
  type WheelUpload
} from "./Terrarium.ts"

/** @since 0.1.0 @category model */
export interface CreateTerrariumOptions extends Setup.StorageOptions, Pick<Setup.ProjectionOptions, "projectInBackground">, Setup.CatalogOptions {
  /** Default workspace of every call (default `default`). */
  readonly workspace?: string | undefined
  /** Recorded as the actor of every event (default: the OS user). */
  readonly actor?: string | undefined
}

/** @since 0.1.0 @category model */
export interface CallOptions {
  readonly workspace?: string | undefined
}

/**
 * Options of a call that appends events: who acts (default: the client's `actor`) and the
 * correlation id its events share (default: a fresh one per call), e.g. the id of the request
 * being served.
 *
 * @since 0.1.0
 * @category model
 */
export interface WriteOptions extends CallOptions {
  readonly actor?: string | undefined
  readonly correlationId?: string | undefined
}

/**
 * A point of the log's history: a log position (a whole number, 0 or more), a `Date`, or text as
 * `--as-of` takes it (`AS_OF_FORMS`). Anything else rejects with `InvalidInput` (`field: "asOf"`).
 *
 * @since 0.1.0
 * @category model
 */
export type AsOfInput = number | Date | string

/** @since 0.1.0 @category model */
export interface TerrariumClient {
  /**
   * Define and register from a definition object (unchanged definitions keep their version).
   * Omitted sections and fields take their defaults; pip and conda specs may be given as text
   * (`"numpy >= 1.26"`, `"conda-forge::python=3.11"`) and are parsed and normalised as the CLI does.
   * A field of the wrong type, or one no definition has (a misspelling), rejects with
   * `InvalidInput` naming it (`definition.python.conda.dependencies`).
   */
  readonly create: (input: WriteOptions & {
    readonly name: string
    readonly definition?: DefinitionInput | undefined
    readonly version?: string | undefined
  }) => Promise<Registration>
  /**
   * Start environment `name` from a copy of `source` (`NAME`, `NAME:VERSION`, `NAME@LABEL`; curated
   * or not) as a draft, to change with `addPackage` & co. and then `register`. A curated source
   * (`AzureML-…`) is read from the curated catalog; `sourceWorkspace` reads it from another workspace.
   */
  readonly clone: (source: string, name: string, options?: WriteOptions & { readonly sourceWorkspace?: string }) => Promise<Clone>
  /** The curated catalog: every curated environment at its latest version. */
  readonly curatedCatalog: () => Promise<ReadonlyArray<CuratedCatalogRow>>
  /**
   * Publish the curated catalog this Terrarium ships, if the database lacks its release (`force`:
   * compare every version again). Adds versions, never rewrites one: what it refused is in `refused`.
   */
  readonly syncCurated: (options?: Omit<WriteOptions, "workspace"> & { readonly force?: boolean }) => Promise<CatalogSync>
  /** Define and register from an AzureML v2 environment YAML (or a conda environment.yml with `name`). */
  readonly createFromFile: (
    file: string,
    options?: WriteOptions & {
      readonly name?: string
      readonly version?: string
      /** Folders outside the file's own folder tree that the files it names may also be read from (`--allow-outside`). */
      readonly allowOutside?: ReadonlyArray<string>
    }
  ) => Promise<Registration>
  readonly addPackage: (name: string, spec: { readonly pip: string } | { readonly conda: string }, options?: WriteOptions) => Promise<Draft>
  readonly removePackage: (name: string, pkg: { readonly pip: string } | { readonly conda: string }, options?: WriteOptions) => Promise<Draft>
  /** Set an environment variable in the draft. */
  readonly setVariable: (name: string, variable: string, value: string, options?: WriteOptions) => Promise<Draft>
  /** Remove an environment variable from the draft. */
  readonly unsetVariable: (name: string, variable: string, options?: WriteOptions) => Promise<Draft>
  readonly register: (name: string, options?: WriteOptions & { readonly version?: string }) => Promise<Registration>
  readonly show: (ref: string, options?: CallOptions & { readonly asOf?: AsOfInput }) => Promise<EnvironmentVersion>
  /** With `asOf`, the environments as they were then (replayed from the log: `registryAsOf`). */
  readonly environments: (options?: CallOptions & { readonly includeArchived?: boolean; readonly asOf?: AsOfInput }) => Promise<ReadonlyArray<EnvironmentSummary>>
  /** With `asOf`, the versions as they were then: archived or not, described and tagged as then. */
  readonly versions: (name: string, options?: CallOptions & { readonly includeArchived?: boolean; readonly asOf?: AsOfInput }) => Promise<ReadonlyArray<VersionRow>>
  readonly diff: (from: string, to: string, options?: CallOptions) => Promise<VersionDiff>
  /** Archive one version (`name:2`, `name@prod`; a bare `name` is its latest version). */
  readonly archive: (ref: string, options?: WriteOptions) => Promise<EnvironmentVersion>
  readonly restore: (ref: string, options?: WriteOptions) => Promise<EnvironmentVersion>
  /**
   * Archive the whole environment, as `environment archive NAME` and AzureML do: hidden from
   * `environments()`, every version archived but resolvable by exact version, new versions start
   * archived. `restoreEnvironment` undoes it.
   */
  readonly archiveEnvironment: (name: string, options?: WriteOptions) => Promise<EnvironmentArchive>
  readonly restoreEnvironment: (name: string, options?: WriteOptions) => Promise<EnvironmentArchive>
  /**
   * Copy a version into another workspace with its provenance recorded in both (as
   * `az ml environment share`): as `shareWithName` (default: its name) and `shareWithVersion`
   * (default: its version), with the same canonical hash.
   */
  readonly share: (
    ref: string,
    options: WriteOptions & {
      readonly toWorkspace: string
      readonly shareWithName?: string
      readonly shareWithVersion?: string
    }
  ) => Promise<Share>
  /**
   * The stored build context of a Dockerfile-based version (its files, verified against its
   * digest); `undefined` for a version without a local build context.
   */
  readonly buildContext: (ref: string, options?: CallOptions) => Promise<BuildContext | undefined>
  readonly label: (ref: string, label: string, options?: WriteOptions) => Promise<EnvironmentVersion>
  /** Change a version's description and tags (its content and hash stay), as `az ml environment update`. */
  readonly update: (
    ref: string,
    changes: WriteOptions & {
      readonly description?: string
      readonly tags?: Readonly<Record<string, string>>
      readonly removeTags?: ReadonlyArray<string>
    }
  ) => Promise<EnvironmentVersion>
  readonly audit: (name: string, options?: CallOptions & { readonly asOf?: AsOfInput }) => Promise<ReadonlyArray<AuditEntry>>
  /**
   * Build a version's image, exactly once per canonical hash however many callers ask; a built
   * hash answers from the cache. `onLog` hears the build's log lines (and those of a build this
   * call waits for). Resolves with the `ImageBuilt` summary; rejects with `ImageBuildFailed`.
   * `push` pushes the image (built or cached) to `push.registry` (`HOST[:PORT]/REPOSITORY`), else
   * to the default registry (`TERRARIUM_REGISTRY`), and records its digest (`result.pushed`).
   */
  readonly build: (
    ref: string,
    options?: WriteOptions & {
      readonly noCache?: boolean
      readonly onLog?: (line: string) => void
      readonly push?: boolean | { readonly registry?: string }
    }
  ) => Promise<ImageBuildResult>
  /**
   * Cancels the build of a version's hash: its queued jobs (PostgreSQL), and the running build,
   * recorded as failed (reason `Cancelled`). Rejects with `NothingToCancel` when there is none.
   */
  readonly cancelBuild: (ref: string, options?: WriteOptions) => Promise<CancelledBuild>
  /** The log lines of the last build of a version's image (running, built or failed); `follow` until it ends. */
  readonly buildLogs: (ref: string, options?: CallOptions & { readonly follow?: boolean }) => Promise<AsyncIterable<string>>
  /** The image cache's row of a version's hash: built, building or failed. */
  readonly image: (ref: string, options?: CallOptions) => Promise<ImageBuildRow>
  /**
   * Checks the base image of each image in its registry and builds again where the base's tag
   * moved (keeping the old image under `terrarium/env:<16 hex>-<build id>`): the images of the
   * given references (`NAME:VERSION`, `NAME@LABEL`, `sha256:…`), else every built image a version
   * of the workspace uses. Resolves with one result per image, failures included (`outcome:
   * "failed"`); `onLog` hears the rebuilds' progress lines. docs/images.md.
   */
  readonly refreshImages: (
    refs?: ReadonlyArray<string>,
    options?: WriteOptions & { readonly onLog?: (line: string) => void }
  ) => Promise<ReadonlyArray<BaseRefreshResult>>
  readonly rebuildProjections: () => Promise<number>
  /**
   * Store a private wheel in the workspace (checked against its own METADATA; the same bytes
   * again store nothing new) and get the reference to list as a pip dependency
   * (`terrarium+wheel://<workspace>/<file>#sha256=<hex>`), as AzureML's `add_private_pip_wheel`.
   */
  readonly uploadWheel: (file: string, options?: CallOptions) => Promise<WheelUpload>
  /** Releases the database (closes the pool or the embedded instance). */
  readonly close: () => Promise<void>
}

// The arguments of each call, decoded before use: a JavaScript caller's types are not checked, so a
// wrong type is an `InvalidInput` naming the argument, not a TypeError from deep inside. Only the
// types are decoded here; the domain's rules (a name's spelling, a workspace's) are checked where
// the command is built, with the same `InvalidInput`. Options objects ignore keys they do not
// have, since one object may serve several calls; `create`'s input, a spec object and a
// definition refuse them, since there a misspelt key would silently mean something else (an
// empty definition for `defintion:`, a pip package for `{ pip, conda }`).
const Text = Schema.String
const OptionalText = Schema.optional(Schema.String)
const OptionalFlag = Schema.optional(Schema.Boolean)
// Only the type: `decodeAsOf` says why a negative position or an invalid Date names no point.
const AsOfArgument = Schema.optional(Schema.declare(
  (u): u is AsOfInput => typeof u === "number" || typeof u === "string" || u instanceof Date,
  { expected: "a log position (a number), a Date or text" }
))

const callFields = { workspace: OptionalText }
const writeFields = { ...callFields, actor: OptionalText, correlationId: OptionalText }
const CallOptionsArgument = Schema.UndefinedOr(Schema.Struct(callFields))
const WriteOptionsArgument = Schema.UndefinedOr(Schema.Struct(writeFields))
const ListOptionsArgument = Schema.UndefinedOr(Schema.Struct({ ...callFields, includeArchived: OptionalFlag, asOf: AsOfArgument }))
const AsOfOptionsArgument = Schema.UndefinedOr(Schema.Struct({ ...callFields, asOf: AsOfArgument }))
const UpdateArgument = Schema.Struct({
  ...writeFields,
  description: OptionalText,
  tags: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  removeTags: Schema.optional(Schema.Array(Schema.String))
})
const BuildOptionsArgument = Schema.UndefinedOr(Schema.Struct({
  ...writeFields,
  noCache: OptionalFlag,
  onLog: Schema.optional(Schema.declare((u): u is (line: string) => void => typeof u === "function")),
  push: Schema.optional(Schema.Union([Schema.Boolean, Schema.Struct({ registry: OptionalText })]))
}))
const RefreshRefsArgument = Schema.Struct({ refs: Schema.optional(Schema.Array(Schema.String)) })
const RefreshOptionsArgument = Schema.UndefinedOr(Schema.Struct({
  ...writeFields,
  onLog: Schema.optional(Schema.declare((u): u is (line: string) => void => typeof u === "function"))
}))
const CANONICAL_HASH = /^sha256:[0-9a-f]{64}$/
const FollowOptionsArgument = Schema.UndefinedOr(Schema.Struct({ ...callFields, follow: OptionalFlag }))
const CloneOptionsArgument = Schema.UndefinedOr(Schema.Struct({ ...writeFields, sourceWorkspace: OptionalText }))
const SyncOptionsArgument = Schema.UndefinedOr(Schema.Struct({ actor: OptionalText, correlationId: OptionalText, force: OptionalFlag }))
const RegisterOptionsArgument = Schema.UndefinedOr(Schema.Struct({ ...writeFields, version: OptionalText }))
const ShareArgument = Schema.Struct({ ...writeFields, toWorkspace: Text, shareWithName: OptionalText, shareWithVersion: OptionalText })
const CreateArgument = Schema.Struct({
  ...writeFields,
  name: Text,
  // Decoded on its own, refusing keys no definition has (`decodeDefinitionInput`).
  definition: Schema.optional(Schema.Unknown),
  version: OptionalText
})
const SpecArgument = Schema.Union([Schema.Struct({ pip: Text }), Schema.Struct({ conda: Text })])
  .annotate({ message: "a package is given as { pip: text } or { conda: text }" })

// Positional arguments are decoded as one object keyed by their names in the signature.
const NoArguments = Schema.Struct({})
const NameArguments = Schema.Struct({ name: Text })
const RefArguments = Schema.Struct({ ref: Text })
const SpecArguments = Schema.Struct({ name: Text, spec: SpecArgument })
const PackageArguments = Schema.Struct({ name: Text, pkg: SpecArgument })
const SetVariableArguments = Schema.Struct({ name: Text, variable: Text, value: Text })
const UnsetVariableArguments = Schema.Struct({ name: Text, variable: Text })
const DiffArguments = Schema.Struct({ from: Text, to: Text })
const CloneArguments = Schema.Struct({ source: Text, name: Text })
const LabelArguments = Schema.Struct({ ref: Text, label: Text })
const FileArguments = Schema.Struct({ file: Text })
const CreateFromFileOptionsArgument = Schema.UndefinedOr(Schema.Struct({
  ...writeFields,
  name: OptionalText,
  version: OptionalText,
  allowOutside: Schema.optional(Schema.Array(Schema.String))
}))

/** A call's options; their fields are named on their own (`workspace`, `asOf`), as the service names them. */
const optionsOf = <S extends Schema.Decoder<unknown>>(schema: S, options: unknown) =>
  decodeInput(schema, options, { root: "options" })

// Every key a caller may give `createTerrarium`; any other (`databaseURL`, `datadir`) is refused,
// since it would otherwise be dropped and the embedded default opened in its place. A string (a
// URL given where the options go) is refused for the same reason.
const CreateOptionsArgument = Schema.UndefinedOr(Schema.Struct({
  databaseUrl: OptionalText,
  databaseSchema: OptionalText,
  preparedStatements: OptionalFlag,
  dataDir: OptionalText,
  buildContextDir: OptionalText,
  onDataDirectoryBusy: Schema.optional(Schema.declare(
    (u): u is NonNullable<Setup.StorageOptions["onDataDirectoryBusy"]> => typeof u === "function",
    { expected: "a function" }
  )),
  projectInBackground: OptionalFlag,
  workspace: OptionalText,
  actor: OptionalText,
  curatedCatalog: OptionalFlag
})).annotate({ message: `options are an object, e.g. { databaseUrl: "postgres://…" } or { dataDir: "…" }` })

const asOfOf = (input: AsOfInput | undefined): Effect.Effect<AsOf | undefined, InvalidInput> =>
  input === undefined ? Effect.succeed(undefined) : decodeAsOf(input)

const specOf = (input: { readonly pip: string } | { readonly conda: string }) =>
  "pip" in input ? decodePackageSpec("pip", input.pip) : decodePackageSpec("conda", input.conda)

/**
 * Opens Terrarium (running migrations) and returns a Promise API. Options that are not an object,
 * or hold a key it does not take (a misspelling), reject with `InvalidInput` naming them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createTerrarium = async (given: CreateTerrariumOptions = {}): Promise<TerrariumClient> => {
  const options: CreateTerrariumOptions =
    (await Effect.runPromise(decodeInput(CreateOptionsArgument, given, { root: "options", onExcessProperty: "error" }))) ?? {}
  const runtime = ManagedRuntime.make(Setup.layer({ ...options, caller: Setup.defaultCaller(options.actor) }).pipe(
    // A library does not write its warnings into its host's standard output.
    Layer.provideMerge(Layer.succeed(Logger.LogToStderr, true)),
  ))
  // Build the layer now, so a bad URL or a failed migration rejects here rather than on first use;
  // then nothing of this runtime is left behind.
  await runtime.runPromise(Effect.void).catch(async (error: unknown) => {
    await runtime.dispose()
    throw error
  })
  const ws = (o: CallOptions | undefined) => o?.workspace ?? options.workspace ?? "default"
  const write = (o: WriteOptions | undefined) => ({ workspace: ws(o), actor: o?.actor, correlationId: o?.correlationId })
  const run = <A, E>(f: (t: Terrarium["Service"]) => Effect.Effect<A, E>): Promise<A> =>
    runtime.runPromise(Terrarium.use(f))
  /** Runs `f` on a call's positional arguments and options, once both are decoded. */
  const call = <Args, O, A, E>(
    argsSchema: Schema.Decoder<Args>,
    values: unknown,
    optionsSchema: Schema.Decoder<O>,
    o: unknown,
    f: (t: Terrarium["Service"], args: Args, o: O) => Effect.Effect<A, E>
  ) =>
    run((t) =>
      Effect.all([decodeInput(argsSchema, values, { onExcessProperty: "error" }), optionsOf(optionsSchema, o)]).pipe(
        Effect.flatMap(([args, opts]) => f(t, args, opts))
      ))
  /** The same, for a call about one reference (`name`, `name:2`, `name@prod`). */
  const withRef = <O, A, E>(
    ref: unknown,
    optionsSchema: Schema.Decoder<O>,
    o: unknown,
    f: (t: Terrarium["Service"], r: EnvironmentRef, o: O) => Effect.Effect<A, E>
  ) =>
    call(RefArguments, { ref }, optionsSchema, o, (t, args, opts) =>
      decodeRef(args.ref).pipe(Effect.flatMap((r) => f(t, r, opts))))

  return {
    create: (input) =>
      run((t) =>
        Effect.gen(function*() {
          const args = yield* decodeInput(CreateArgument, input, { onExcessProperty: "error" })
          const definition = yield* decodeDefinitionInput(args.definition)
          return yield* t.create({ ...write(args), name: args.name, definition, version: args.version })
        })),
    clone: (source, name, o) =>
      call(CloneArguments, { source, name }, CloneOptionsArgument, o, (t, args, w) =>
        decodeRef(args.source).pipe(Effect.flatMap((ref) =>
          t.clone({ ...write(w), source: ref, name: args.name, sourceWorkspace: w?.sourceWorkspace })
        ))),
    curatedCatalog: () => run((t) => t.curatedCatalog),
    syncCurated: (o) =>
      call(NoArguments, {}, SyncOptionsArgument, o, (t, _, w) =>
        t.syncCurated({ actor: w?.actor, correlationId: w?.correlationId, force: w?.force })),
    createFromFile: (file, o) =>
      runtime.runPromise(Effect.gen(function*() {
        const [args, opts] = yield* Effect.all([
          decodeInput(FileArguments, { file }, { onExcessProperty: "error" }),
          optionsOf(CreateFromFileOptionsArgument, o)
        ])
        const imported = yield* importEnvironmentFile(args.file, { allowOutside: opts?.allowOutside })
        const { name, definition, version } = yield* fromImported(imported, { name: opts?.name, version: opts?.version })
        const buildContext = yield* importedBuildContext(imported)
        return yield* (yield* Terrarium).create({ ...write(opts), name, definition, version, buildContext })
      })),
    addPackage: (name, spec, o) =>
      call(SpecArguments, { name, spec }, WriteOptionsArgument, o, (t, args, w) =>
        specOf(args.spec).pipe(Effect.flatMap((s) => t.addPackage({ ...write(w), name: args.name, spec: s })))),
    removePackage: (name, pkg, o) =>
      call(PackageArguments, { name, pkg }, WriteOptionsArgument, o, (t, { name, pkg }, w) =>
        "pip" in pkg
          ? t.removePackage({ ...write(w), name, manager: "pip", package: pkg.pip })
          : t.removePackage({ ...write(w), name, manager: "conda", package: pkg.conda })),
    setVariable: (name, variable, value, o) =>
      call(SetVariableArguments, { name, variable, value }, WriteOptionsArgument, o, (t, args, w) =>
        t.setVariable({ ...write(w), ...args })),
    unsetVariable: (name, variable, o) =>
      call(UnsetVariableArguments, { name, variable }, WriteOptionsArgument, o, (t, args, w) =>
        t.unsetVariable({ ...write(w), ...args })),
    register: (name, o) =>
      call(NameArguments, { name }, RegisterOptionsArgument, o, (t, args, w) =>
        t.register({ ...write(w), name: args.name, version: w?.version })),
    show: (ref, o) =>
      withRef(ref, AsOfOptionsArgument, o, (t, r, w) =>
        asOfOf(w?.asOf).pipe(Effect.flatMap((asOf) => t.show({ workspace: ws(w), ref: r, asOf })))),
    environments: (o) =>
      call(NoArguments, {}, ListOptionsArgument, o, (t, _, w) =>
        asOfOf(w?.asOf).pipe(Effect.flatMap((asOf) => t.environments({ workspace: ws(w), includeArchived: w?.includeArchived, asOf })))),
    versions: (name, o) =>
      call(NameArguments, { name }, ListOptionsArgument, o, (t, args, w) =>
        asOfOf(w?.asOf).pipe(Effect.flatMap((asOf) => t.versions({ workspace: ws(w), name: args.name, includeArchived: w?.includeArchived, asOf })))),
    diff: (from, to, o) =>
      call(DiffArguments, { from, to }, CallOptionsArgument, o, (t, args, w) =>
        Effect.all([decodeRef(args.from), decodeRef(args.to)]).pipe(
          Effect.flatMap(([a, b]) => t.diff({ workspace: ws(w), from: a, to: b }))
        )),
    archive: (ref, o) => withRef(ref, WriteOptionsArgument, o, (t, r, w) => t.archive({ ...write(w), ref: r })),
    restore: (ref, o) => withRef(ref, WriteOptionsArgument, o, (t, r, w) => t.restore({ ...write(w), ref: r })),
    archiveEnvironment: (name, o) =>
      call(NameArguments, { name }, WriteOptionsArgument, o, (t, args, w) => t.archiveEnvironment({ ...write(w), name: args.name })),
    restoreEnvironment: (name, o) =>
      call(NameArguments, { name }, WriteOptionsArgument, o, (t, args, w) => t.restoreEnvironment({ ...write(w), name: args.name })),
    share: (ref, o) =>
      withRef(ref, ShareArgument, o, (t, r, w) =>
        t.share({ ...write(w), ref: r, toWorkspace: w.toWorkspace, shareWithName: w.shareWithName, shareWithVersion: w.shareWithVersion })),
    buildContext: (ref, o) => withRef(ref, CallOptionsArgument, o, (t, r, w) => t.buildContext({ workspace: ws(w), ref: r })),
    label: (ref, label, o) =>
      call(LabelArguments, { ref, label }, WriteOptionsArgument, o, (t, args, w) =>
        decodeRef(args.ref).pipe(Effect.flatMap((r) => t.label({ ...write(w), ref: r, label: args.label })))),
    update: (ref, changes) =>
      withRef(ref, UpdateArgument, changes, (t, r, w) =>
        t.update({ ...write(w), ref: r, description: w.description, tags: w.tags, removeTags: w.removeTags })),
    audit: (name, o) =>
      call(NameArguments, { name }, AsOfOptionsArgument, o, (t, args, w) =>
        asOfOf(w?.asOf).pipe(Effect.flatMap((asOf) => t.audit({ workspace: ws(w), name: args.name, asOf })))),
    build: (ref, o) =>
      withRef(ref, BuildOptionsArgument, o, (t, r, w) =>
        t.build({
          ...write(w), ref: r, noCache: w?.noCache, follow: w?.onLog !== undefined,
          push: w?.push === undefined || w.push === false ? undefined : w.push === true ? {} : { registry: w.push.registry },
          onUpdate: (u) =>
            Effect.sync(() => {
              if (u._tag === "Progress" && u.progress._tag === "Log") w?.onLog?.(u.progress.line)
            })
        })),
    cancelBuild: (ref, o) => withRef(ref, WriteOptionsArgument, o, (t, r, w) => t.cancelBuild({ ...write(w), ref: r })),
    buildLogs: (ref, o) =>
      withRef(ref, FollowOptionsArgument, o, (t, r, w) =>
        Stream.toAsyncIterableEffect(t.logs({ workspace: ws(w), target: { ref: r }, follow: w?.follow }))),
    image: (ref, o) => withRef(ref, CallOptionsArgument, o, (t, r, w) => t.image({ workspace: ws(w), target: { ref: r } })),
    refreshImages: (refs, o) =>
      call(RefreshRefsArgument, { refs }, RefreshOptionsArgument, o, (t, args, w) =>
        Effect.forEach(args.refs ?? [], (ref) =>
          CANONICAL_HASH.test(ref) ? Effect.succeed<ImageTarget>({ canonicalHash: ref }) : Effect.map(decodeRef(ref), (r): ImageTarget => ({ ref: r }))).pipe(
            Effect.flatMap((targets) =>
              t.refresh({
                ...write(w), targets,
                onUpdate: (u) => Effect.sync(() => {
                  if (u._tag === "Rebuilding" && u.update._tag === "Progress" && u.update.progress._tag === "Log") w?.onLog?.(u.update.progress.line)
                })
              })
            )
          )),
    rebuildProjections: () => run((t) => t.rebuildProjections),
    uploadWheel: (file, o) =>
      runtime.runPromise(Effect.gen(function*() {
        const [args, opts] = yield* Effect.all([
          decodeInput(FileArguments, { file }, { onExcessProperty: "error" }),
          optionsOf(CallOptionsArgument, o)
        ])
        const { fileName, bytes } = yield* readWheelFile(args.file)
        return yield* (yield* Terrarium).uploadWheel({ workspace: ws(opts), fileName, bytes })
      })),
    close: () => runtime.dispose()
  }
}
