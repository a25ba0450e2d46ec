/**
 * `terrarium environment export`: write a registered version in another tool's format, so that
 * importing what it wrote gives the same canonical hash; where the format cannot hold a part of
 * the definition, the command says which part and why (and `--output json` lists it).
 *
 * @since 0.1.0
 */
import type { DefinitionExport, ExportFormat } from "@terrarium/adapters"
import { Console, Effect, Path, Result } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { Terrarium } from "../../../Terrarium.ts"
import { UsageError } from "../../Diagnostics.ts"
import { referenceFlags, referenceOf } from "../../ReferenceFlags.ts"
import { withTerrarium } from "../../TerrariumCommand.ts"

// The formats, spelt here too so that `--help` and a wrong `--format` load no adapter.
const FORMATS = ["azureml-v2", "conda", "requirements", "azureml-v1-dir", "dockerfile"] as const satisfies ReadonlyArray<ExportFormat>

const quote = (text: string) => (/^[A-Za-z0-9_./:@=-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`)

/** The command that imports the export again. */
const reimportCommand = (name: string, exported: DefinitionExport, out: string, path: Path.Path) =>
  exported.format === "dockerfile"
    ? `terrarium environment create --name ${quote(name)} --dockerfile ${quote(path.join(out, exported.entry))}`
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
  out: Flag.String("out").pipe(Flag.withDescription("Folder to write into: new or empty (or --force)")),
  force: Flag.Boolean("force").pipe(
    Flag.withDescription("Write into a folder that has files: the files this format writes are replaced, other files are kept"),
    Flag.withDefault(false)
  )
}, (input) =>
  withTerrarium(
    (flags) =>
      Effect.gen(function*() {
        const r = yield* referenceOf(input.ref, input)
        const version = yield* Terrarium.use((t) => t.show({ workspace: flags.workspace, ref: r }))
        const { describeLeftOut, exportDefinition, writeExport } = yield* Effect.promise(() => import("@terrarium/adapters"))
        const exported = exportDefinition({ name: version.name, version: version.version, definition: version.definition }, input.format)
        if (Result.isFailure(exported)) return yield* new UsageError({ detail: `--format ${input.format}: ${exported.failure}`, field: "--format" })
        const files = yield* writeExport(input.out, exported.success, { force: input.force })
        const leftOut = describeLeftOut(exported.success.leftOut)
        for (const line of leftOut) yield* Console.error(`warning: left out ${line}`)
        const path = yield* Path.Path
        return {
          name: version.name,
          version: version.version,
          canonicalHash: version.canonicalHash,
          format: input.format,
          out: input.out,
          files,
          leftOut: exported.success.leftOut,
          sameHash: !exported.success.leftOut.some((o) => o.buildRelevant),
          reimport: reimportCommand(version.name, exported.success, input.out, path)
        }
      }),
    (v) => ({
      data: v,
      table: () =>
        [
          `Exported ${v.name}:${v.version} as ${v.format} to ${v.out}: ${v.files.join(", ")}`,
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
      { command: "terrarium environment export pydata@prod --format azureml-v1-dir --out ./pydata-v1", description: "As Environment.save_to_directory writes it" }
    ])
  )
