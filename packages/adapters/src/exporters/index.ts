/**
 * Exporters: registered definitions written in the file formats of other tools (the pure
 * `exportDefinition`), and into a folder (`writeExport`).
 *
 * @since 0.1.0
 */
export * from "./DefinitionExport.ts"
export * from "./ExportFolder.ts"
