/**
 * Parsers for package specs: pip (PEP 508) and conda (MatchSpec).
 *
 * @since 0.1.0
 */
export * from "./CondaSpec.ts"
export * from "./PipSpec.ts"
export * from "./Placeholders.ts"
export * from "./SpecError.ts"
