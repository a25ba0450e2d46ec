/**
 * Exporters: registered definitions written in the file formats of other tools (the pure
 * `exportDefinition`), into a folder (`writeExport`), and into a blob store (`writeExportBlobs`).
 *
 * @since 0.1.0
 */
export * from "./DefinitionExport.ts"
export * from "./ExportBlobs.ts"
export * from "./ExportFolder.ts"
