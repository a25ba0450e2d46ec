/**
 * The storage port for memory adapters: nothing to migrate, nothing that can fail.
 *
 * @since 0.1.0
 */
import { Storage } from "@terrarium/domain"
import { Effect, Layer } from "effect"

const layer: Layer.Layer<Storage> = Layer.succeed(
  Storage,
  Storage.of({ kind: "memory", schema: "memory", appliedAtOpen: [], migrations: Effect.succeed([]) })
)

/**
 * @since 0.1.0
 * @category layers
 */
export const MemoryStorage = {
  /** The storage port of the memory adapters. */
  layer
} as const
