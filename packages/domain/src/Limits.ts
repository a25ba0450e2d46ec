/**
 * The limits on what a definition may bring into the log.
 *
 * Everything a command carries is stored forever, in the append-only log and again in the read
 * model, and a registered definition is hashed and shown whole. Without limits one careless file
 * (a 50 MB description) costs gigabytes of memory on every write and every read of its stream.
 * They are checked where definitions and commands come in (`DefinitionCheck.ts`), before anything
 * else is done with the value, and cheaply: a length or a count is read, never the text scanned,
 * so a value far over a limit is refused in bounded time and memory. Like every check on input,
 * they never apply to stored events: history written before a limit existed still reads.
 *
 * Each is a constant here so that the documentation (docs/limits.md) and the error messages name
 * the same figure.
 *
 * @since 0.1.0
 */

/**
 * The longest text of any one stored string (a description, a tag, a variable's value, a URL, a
 * requirement's text) and of any key (a tag's or a variable's name), in UTF-16 code units (what
 * JavaScript's `length` counts: one per character of the Basic Multilingual Plane). The Dockerfile
 * text has its own limit.
 *
 * @since 0.1.0
 * @category limits
 */
export const MAX_TEXT_LENGTH = 65_536

/**
 * The longest Dockerfile text stored inline in a definition (`docker.base.dockerfile`), in UTF-16
 * code units. A Dockerfile is program text, and the largest real ones are some tens of kilobytes.
 *
 * @since 0.1.0
 * @category limits
 */
export const MAX_DOCKERFILE_LENGTH = 1_048_576

/**
 * The most packages one definition lists: conda specs and pip requirements together.
 *
 * @since 0.1.0
 * @category limits
 */
export const MAX_PACKAGES = 10_000

/**
 * The most environment variables one definition sets (`variables`).
 *
 * @since 0.1.0
 * @category limits
 */
export const MAX_VARIABLES = 1_000

/**
 * The most tags one definition carries (`tags`); `properties` have the same limit.
 *
 * @since 0.1.0
 * @category limits
 */
export const MAX_TAGS = 1_000

/**
 * The largest definition, in bytes of its canonical JSON (UTF-8, no whitespace, as
 * `CanonicalHash.canonicalJson` writes the whole definition): what one `Registered` event holds.
 *
 * @since 0.1.0
 * @category limits
 */
export const MAX_DEFINITION_BYTES = 4 * 1_048_576

/**
 * The largest build context the registry stores (`BuildContextStore`), in bytes of its files
 * together. A stored context is read whole into memory to be verified and sent to a builder, so
 * it is bounded well below what a walk of a folder may take in (`TERRARIUM_MAX_CONTEXT_BYTES`).
 *
 * @since 0.2.0
 * @category limits
 */
export const MAX_BUILD_CONTEXT_BYTES = 256 * 1_048_576

/**
 * The most entries (files and symbolic links) of a stored build context.
 *
 * @since 0.2.0
 * @category limits
 */
export const MAX_BUILD_CONTEXT_ENTRIES = 50_000

/**
 * The largest build log kept, in bytes of UTF-8: a build that prints more keeps its first
 * 16 MiB and one line saying the rest was dropped (a log is for reading, not for archiving a
 * runaway loop's output).
 *
 * @since 0.2.0
 * @category limits
 */
export const MAX_LOG_BYTES = 16 * 1_048_576
