/**
 * `terrarium environment export`: write a registered version in another tool's format, so that
 * importing what it wrote gives the same canonical hash; where the format cannot hold a part of
 * the definition, the command says which part and why (and `--output json` lists it).
 * `--to-store` writes it into the blob store instead of a folder (the Azure container when one is
 * configured, else files under the home: `ExportBlobs.ts` in the adapters), and prints where.
 *
 * @since 0.1.0
 */
import type { DefinitionExport, ExportFormat } from "@terrarium/adapters"
import { Console, Effect, Option, Path, Result } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import { loadSetup, withTerrarium } from "../../TerrariumCommand.ts"

// The formats, spelt here too so that `--help` and a wrong `--format` load no adapter.
const FORMATS = ["azureml-v2", "conda", "requirements", "azureml-v1-dir", "dockerfile"] as const satisfies ReadonlyArray<ExportFormat>

const quote = (text: string) => (/^[A-Za-z0-9_./:@=-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`)

/** The command that imports the export again. */
const reimportCommand = (name: string, exported: DefinitionExport, out: string, path: Path.Path) =>
  exported.format === "dockerfile"
    ? `terrarium environment create --name ${quote(name)} --dockerfile ${quote(path.join(out, exported.entry))}` +
      // A Dockerfile in a folder of the stored context: the export folder is still the context.
      (exported.entry.includes("/") ? ` --build-context ${quote(out)}` : "")
    : `terrarium environment create --file ${quote(exported.entry === "." ? out : path.join(out, exported.entry))}`

/**
 * @since 0.1.0
 * @category commands
 */
export const exportCommand = Command.make("export", {
  ref: Argument.String("ref").pipe(Argument.withDescription("NAME, NAME:VERSION or NAME@LABEL (or --name NAME --version VERSION)"), Argument.optional),
  ...referenceFlags,
  format: Flag.Literals("format", FORMATS).pipe(
    Flag.withDescription("azureml-v2 (environment.yml + conda.yml), conda (environment.yml), requirements (requirements.txt), azureml-v1-dir (what Environment.save_to_directory writes), dockerfile")
  ),
  out: Flag.String("out").pipe(Flag.withDescription("Folder to write into: new or empty (or --force)"), Flag.optional),
  toStore: Flag.Boolean("to-store").pipe(
    Flag.withDescription("Write into the blob store instead of a folder (the Azure container when configured, else under TERRARIUM_HOME), as exports/WORKSPACE/NAME/VERSION/FORMAT/…, and print where"),
    Flag.withDefault(false)
  ),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("Write into a folder that has files: the files this format writes are replaced, other files are kept"),
    Flag.withDefault(false)
  )
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const out = Option.getOrUndefined(input.out)
        if ((out === undefined) === !input.toStore) {
          return yield* new UsageError({ detail: "give either --out FOLDER or --to-store", field: out === undefined ? "--out" : "--to-store" })
        }
        if (input.toStore && input.force) {
          return yield* new UsageError({ detail: "--force is for --out (an export in the blob store replaces the one there)", field: "--force" })
        }
        const r = yield* referenceOf(input.ref, input)
        const version = yield* Terrarium.use((t) => t.show({ workspace: flags.workspace, ref: r }))
        const exact = { name: version.name, version: version.version }
        // A version registered before build contexts were stored has none: the export says so.
        const context = yield* Terrarium.use((t) => t.buildContext({ workspace: flags.workspace, ref: exact })).pipe(
          Effect.catchTag("BuildContextStoreError", (error) =>
            error.reason._tag === "ContextNotFound" ? Effect.succeed(undefined) : Effect.fail(error))
        )
        const { describeLeftOut, exportDefinition, writeExport, writeExportBlobs } = yield* Effect.promise(() => import("@terrarium/adapters"))
        const exported = exportDefinition({ ...exact, definition: version.definition, context }, input.format)
        if (Result.isFailure(exported)) return yield* new UsageError({ detail: `--format ${input.format}: ${exported.failure}`, field: "--format" })
        const subject = { workspace: version.workspace, ...exact, canonicalHash: version.canonicalHash }
        const stored = out === undefined
          ? yield* writeExportBlobs(subject, exported.success).pipe(Effect.provide((yield* loadSetup).layerExportBlobStore))
          : undefined
        const files = stored === undefined
          ? yield* writeExport(out!, exported.success, { force: input.force })
          : stored.entries.map((e) => e.path)
        const leftOut = describeLeftOut(exported.success.leftOut)
        for (const line of leftOut) yield* Console.error(`warning: left out ${line}`)
        const path = yield* Path.Path
        const written = stored?.where ?? out!
        return {
          name: version.name,
          version: version.version,
          canonicalHash: version.canonicalHash,
          format: input.format,
          out: written,
          ...(stored === undefined ? {} : { store: { prefix: stored.prefix, index: stored.index, entries: stored.entries } }),
          files,
          leftOut: exported.success.leftOut,
          sameHash: !exported.success.leftOut.some((o) => o.buildRelevant),
          // From the blob store, the re-import is of the folder once downloaded; the command is the same.
          reimport: reimportCommand(version.name, exported.success, stored === undefined ? out! : "FOLDER", path)
        }
      }),
    (v) => ({
      data: v,
      table: () =>
        [
          `Exported ${v.name}:${v.version} as ${v.format} to ${v.out}: ${v.files.join(", ")}`,
          ...("store" in v && v.store !== undefined ? [`Its index (entries, sizes, SHA-256, execute bits, links): ${v.store.index}`] : []),
          v.sameHash
            ? `Re-importing it gives the same canonical hash: ${v.reimport}`
            : `Re-importing it gives another canonical hash, since the format leaves out what the warnings above list: ${v.reimport}`
        ].join("\n")
    }),
    { name: "--name", version: "--version" }
  )).pipe(
    Command.withDescription("Write a version in another tool's format; what it writes re-imports to the same hash, or the command says what the format left out"),
    Command.withExamples([
      { command: "terrarium environment export pydata:1 --format azureml-v2 --out ./pydata", description: "As AzureML v2 YAML (environment.yml, conda.yml)" },
      { command: "terrarium environment export pydata@prod --format azureml-v1-dir --out ./pydata-v1", description: "As Environment.save_to_directory writes it" },
      { command: "terrarium environment export pydata:1 --format conda --to-store", description: "Into the blob store (Azure when configured), as exports/WORKSPACE/pydata/1/conda/…" }
    ])
  )
