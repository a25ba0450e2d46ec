/**
 * A Promise facade over the Terrarium service, for services that do not use Effect.
 *
 * ```ts
 * import { createTerrarium } from "@terrarium/app"
 *
 * const terrarium = await createTerrarium()               // embedded PGlite under ~/.terrarium
 * const v1 = await terrarium.createFromFile("env.yml")     // { name, version: "1", created: true, … }
 * await terrarium.addPackage("my-env", { pip: "numpy>=1.26" })
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
import type { AuditEntry, EnvironmentSummary, VersionRow } from "@terrarium/adapters"
import { emptyDefinition, type Definition } from "@terrarium/domain"
import { Effect, ManagedRuntime } from "effect"
import type { AsOf, InvalidAsOf } from "./AsOf.ts"
import type { EnvironmentRef } from "./EnvironmentRef.ts"
import { decodeAsOf, decodePackageSpec, decodeRef, fromImported } from "./Input.ts"
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

/** @since 0.1.0 @category model */
export type AsOfInput = number | Date | string

/** @since 0.1.0 @category model */
export interface TerrariumClient {
  /** Define and register from a definition object (unchanged definitions keep their version). */
  readonly create: (input: CallOptions & {
    readonly name: string
    readonly definition?: Partial<Definition> | undefined
    readonly version?: string | undefined
    readonly curated?: boolean | undefined
  }) => Promise<Registration>
  /** Define and register from an AzureML v2 environment YAML (or a conda environment.yml with `name`). */
  readonly createFromFile: (file: string, options?: CallOptions & { readonly name?: string; readonly version?: string }) => Promise<Registration>
  readonly addPackage: (name: string, spec: { readonly pip: string } | { readonly conda: string }, options?: CallOptions) => Promise<Draft>
  readonly removePackage: (name: string, pkg: { readonly pip: string } | { readonly conda: string }, options?: CallOptions) => Promise<Draft>
  readonly register: (name: string, options?: CallOptions & { readonly version?: string }) => Promise<Registration>
  readonly show: (ref: string, options?: CallOptions & { readonly asOf?: AsOfInput }) => Promise<EnvironmentVersion>
  readonly environments: (options?: CallOptions & { readonly includeArchived?: boolean }) => Promise<ReadonlyArray<EnvironmentSummary>>
  readonly versions: (name: string, options?: CallOptions & { readonly includeArchived?: boolean }) => Promise<ReadonlyArray<VersionRow>>
  readonly diff: (from: string, to: string, options?: CallOptions) => Promise<VersionDiff>
  readonly archive: (ref: string, options?: CallOptions) => Promise<EnvironmentVersion>
  readonly restore: (ref: string, options?: CallOptions) => Promise<EnvironmentVersion>
  readonly label: (ref: string, label: string, options?: CallOptions) => Promise<EnvironmentVersion>
  readonly audit: (name: string, options?: CallOptions & { readonly asOf?: AsOfInput }) => Promise<ReadonlyArray<AuditEntry>>
  readonly rebuildProjections: () => Promise<number>
  /** Releases the database (closes the pool or the embedded instance). */
  readonly close: () => Promise<void>
}

const asOfOf = (input: AsOfInput | undefined): Effect.Effect<AsOf | undefined, InvalidAsOf> =>
  input === undefined
    ? Effect.succeed(undefined)
    : typeof input === "number"
    ? Effect.succeed({ position: input })
    : input instanceof Date
    ? Effect.succeed({ time: input })
    : decodeAsOf(input)

const specOf = (input: { readonly pip: string } | { readonly conda: string }) =>
  "pip" in input ? decodePackageSpec("pip", input.pip) : decodePackageSpec("conda", input.conda)

/**
 * Opens Terrarium (running migrations) and returns a Promise API.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createTerrarium = async (options: CreateTerrariumOptions = {}): Promise<TerrariumClient> => {
  const runtime = ManagedRuntime.make(Setup.layer({ ...options, caller: Setup.defaultCaller(options.actor) }))
  // Build the layer now, so a bad URL or a failed migration rejects here rather than on first use.
  await runtime.runPromise(Effect.void)
  const ws = (o: CallOptions | undefined) => o?.workspace ?? options.workspace ?? "default"
  const run = <A, E>(f: (t: Terrarium["Service"]) => Effect.Effect<A, E>): Promise<A> =>
    runtime.runPromise(Terrarium.use(f))
  const withRef = <A, E>(ref: string, f: (t: Terrarium["Service"], r: EnvironmentRef) => Effect.Effect<A, E>) =>
    run((t) => decodeRef(ref).pipe(Effect.flatMap((r) => f(t, r))))

  return {
    create: (input) =>
      run((t) =>
        t.create({
          workspace: ws(input),
          name: input.name,
          definition: { ...emptyDefinition, ...input.definition },
          version: input.version,
          curated: input.curated
        })),
    createFromFile: (file, o) =>
      run((t) =>
        Effect.gen(function*() {
          const imported = yield* importEnvironmentFile(file)
          const { name, definition } = yield* fromImported(imported, { name: o?.name })
          return yield* t.create({ workspace: ws(o), name, definition, version: o?.version ?? imported.version })
        })),
    addPackage: (name, spec, o) =>
      run((t) => specOf(spec).pipe(Effect.flatMap((s) => t.addPackage({ workspace: ws(o), name, spec: s })))),
    removePackage: (name, pkg, o) =>
      run((t) =>
        "pip" in pkg
          ? t.removePackage({ workspace: ws(o), name, manager: "pip", package: pkg.pip })
          : t.removePackage({ workspace: ws(o), name, manager: "conda", package: pkg.conda })),
    register: (name, o) => run((t) => t.register({ workspace: ws(o), name, version: o?.version })),
    show: (ref, o) =>
      withRef(ref, (t, r) => asOfOf(o?.asOf).pipe(Effect.flatMap((asOf) => t.show({ workspace: ws(o), ref: r, asOf })))),
    environments: (o) => run((t) => t.environments({ workspace: ws(o), includeArchived: o?.includeArchived })),
    versions: (name, o) => run((t) => t.versions({ workspace: ws(o), name, includeArchived: o?.includeArchived })),
    diff: (from, to, o) =>
      run((t) =>
        Effect.all([decodeRef(from), decodeRef(to)]).pipe(
          Effect.flatMap(([a, b]) => t.diff({ workspace: ws(o), from: a, to: b }))
        )),
    archive: (ref, o) => withRef(ref, (t, r) => t.archive({ workspace: ws(o), ref: r })),
    restore: (ref, o) => withRef(ref, (t, r) => t.restore({ workspace: ws(o), ref: r })),
    label: (ref, label, o) => withRef(ref, (t, r) => t.label({ workspace: ws(o), ref: r, label })),
    audit: (name, o) =>
      run((t) => asOfOf(o?.asOf).pipe(Effect.flatMap((asOf) => t.audit({ workspace: ws(o), name, asOf })))),
    rebuildProjections: () => run((t) => t.rebuildProjections),
    close: () => runtime.dispose()
  }
}
