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
import type { AuditEntry, EnvironmentSummary, VersionRow } from "@terrarium/domain"
import { Effect, Layer, Logger, ManagedRuntime } from "effect"
import type { AsOf } from "./AsOf.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import type { InvalidInput } from "./InvalidInput.ts"
import { decodeAsOf, decodeDefinitionInput, type DefinitionInput, decodePackageSpec, decodeRef, fromImported } from "./Input.ts"
import * as Setup from "./Setup.ts"
import { type Draft, type EnvironmentVersion, type Registration, Terrarium, type VersionDiff } from "./Terrarium.ts"

/** @since 0.1.0 @category model */
export interface CreateTerrariumOptions extends Setup.StorageOptions {
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
   * Omitted sections take their defaults; pip and conda specs may be given as text
   * (`"numpy >= 1.26"`, `"conda-forge::python=3.11"`) and are parsed and normalised as the CLI does.
   */
  readonly create: (input: WriteOptions & {
    readonly name: string
    readonly definition?: DefinitionInput | undefined
    readonly version?: string | undefined
    readonly curated?: boolean | undefined
  }) => Promise<Registration>
  /** Define and register from an AzureML v2 environment YAML (or a conda environment.yml with `name`). */
  readonly createFromFile: (file: string, options?: WriteOptions & { readonly name?: string; readonly version?: string }) => Promise<Registration>
  readonly addPackage: (name: string, spec: { readonly pip: string } | { readonly conda: string }, options?: WriteOptions) => Promise<Draft>
  readonly removePackage: (name: string, pkg: { readonly pip: string } | { readonly conda: string }, options?: WriteOptions) => Promise<Draft>
  /** Set an environment variable in the draft. */
  readonly setVariable: (name: string, variable: string, value: string, options?: WriteOptions) => Promise<Draft>
  /** Remove an environment variable from the draft. */
  readonly unsetVariable: (name: string, variable: string, options?: WriteOptions) => Promise<Draft>
  readonly register: (name: string, options?: WriteOptions & { readonly version?: string }) => Promise<Registration>
  readonly show: (ref: string, options?: CallOptions & { readonly asOf?: AsOfInput }) => Promise<EnvironmentVersion>
  readonly environments: (options?: CallOptions & { readonly includeArchived?: boolean }) => Promise<ReadonlyArray<EnvironmentSummary>>
  readonly versions: (name: string, options?: CallOptions & { readonly includeArchived?: boolean }) => Promise<ReadonlyArray<VersionRow>>
  readonly diff: (from: string, to: string, options?: CallOptions) => Promise<VersionDiff>
  readonly archive: (ref: string, options?: WriteOptions) => Promise<EnvironmentVersion>
  readonly restore: (ref: string, options?: WriteOptions) => Promise<EnvironmentVersion>
  readonly label: (ref: string, label: string, options?: WriteOptions) => Promise<EnvironmentVersion>
  readonly audit: (name: string, options?: CallOptions & { readonly asOf?: AsOfInput }) => Promise<ReadonlyArray<AuditEntry>>
  readonly rebuildProjections: () => Promise<number>
  /** Releases the database (closes the pool or the embedded instance). */
  readonly close: () => Promise<void>
}

const asOfOf = (input: AsOfInput | undefined): Effect.Effect<AsOf | undefined, InvalidInput> =>
  input === undefined ? Effect.succeed(undefined) : decodeAsOf(input)

const specOf = (input: { readonly pip: string } | { readonly conda: string }) =>
  "pip" in input ? decodePackageSpec("pip", input.pip) : decodePackageSpec("conda", input.conda)

/**
 * Opens Terrarium (running migrations) and returns a Promise API.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createTerrarium = async (options: CreateTerrariumOptions = {}): Promise<TerrariumClient> => {
  const runtime = ManagedRuntime.make(Setup.layer({ ...options, caller: Setup.defaultCaller(options.actor) }).pipe(
    // A library does not write its warnings into its host's standard output.
    Layer.provideMerge(Layer.succeed(Logger.LogToStderr, true))
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
  const withRef = <A, E>(ref: string, f: (t: Terrarium["Service"], r: EnvironmentRef) => Effect.Effect<A, E>) =>
    run((t) => decodeRef(ref).pipe(Effect.flatMap((r) => f(t, r))))

  return {
    create: (input) =>
      run((t) =>
        decodeDefinitionInput(input.definition ?? {}).pipe(Effect.flatMap((definition) =>
          t.create({ ...write(input), name: input.name, definition, version: input.version, curated: input.curated })
        ))),
    createFromFile: (file, o) =>
      run((t) =>
        Effect.gen(function*() {
          const imported = yield* importEnvironmentFile(file)
          const { name, definition, version } = yield* fromImported(imported, { name: o?.name, version: o?.version })
          return yield* t.create({ ...write(o), name, definition, version })
        })),
    addPackage: (name, spec, o) =>
      run((t) => specOf(spec).pipe(Effect.flatMap((s) => t.addPackage({ ...write(o), name, spec: s })))),
    removePackage: (name, pkg, o) =>
      run((t) =>
        "pip" in pkg
          ? t.removePackage({ ...write(o), name, manager: "pip", package: pkg.pip })
          : t.removePackage({ ...write(o), name, manager: "conda", package: pkg.conda })),
    setVariable: (name, variable, value, o) => run((t) => t.setVariable({ ...write(o), name, variable, value })),
    unsetVariable: (name, variable, o) => run((t) => t.unsetVariable({ ...write(o), name, variable })),
    register: (name, o) => run((t) => t.register({ ...write(o), name, version: o?.version })),
    show: (ref, o) =>
      withRef(ref, (t, r) => asOfOf(o?.asOf).pipe(Effect.flatMap((asOf) => t.show({ workspace: ws(o), ref: r, asOf })))),
    environments: (o) => run((t) => t.environments({ workspace: ws(o), includeArchived: o?.includeArchived })),
    versions: (name, o) => run((t) => t.versions({ workspace: ws(o), name, includeArchived: o?.includeArchived })),
    diff: (from, to, o) =>
      run((t) =>
        Effect.all([decodeRef(from), decodeRef(to)]).pipe(
          Effect.flatMap(([a, b]) => t.diff({ workspace: ws(o), from: a, to: b }))
        )),
    archive: (ref, o) => withRef(ref, (t, r) => t.archive({ ...write(o), ref: r })),
    restore: (ref, o) => withRef(ref, (t, r) => t.restore({ ...write(o), ref: r })),
    label: (ref, label, o) => withRef(ref, (t, r) => t.label({ ...write(o), ref: r, label })),
    audit: (name, o) =>
      run((t) => asOfOf(o?.asOf).pipe(Effect.flatMap((asOf) => t.audit({ workspace: ws(o), name, asOf })))),
    rebuildProjections: () => run((t) => t.rebuildProjections),
    close: () => runtime.dispose()
  }
}
