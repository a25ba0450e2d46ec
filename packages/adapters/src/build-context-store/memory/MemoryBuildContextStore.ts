/**
 * The build-context store in memory, for the application's unit tests: the contract of the
 * file-system store, nothing kept after the scope. Contexts are copied in and out, so that a
 * caller changing its buffers afterwards changes nothing stored, as with files.
 *
 * @since 0.2.0
 */
import {
  type BuildContext,
  type BuildContextEntry,
  BuildContextStore,
  BuildContextStoreError,
  checkContextDigest,
  ContextNotFound,
  verifyBuildContext
} from "@terrarium/domain"
import { Effect, Layer } from "effect"

const copyOf = (entry: BuildContextEntry): BuildContextEntry => ({ ...entry, content: entry.content.slice() })

const byPath = (a: BuildContextEntry, b: BuildContextEntry) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)

const make = Effect.sync(() => {
  const contexts = new Map<string, BuildContext>()
  return BuildContextStore.of({
    location: "memory",
    put: (context) =>
      verifyBuildContext(context).pipe(Effect.andThen(Effect.sync(() => {
        if (!contexts.has(context.digest)) {
          contexts.set(context.digest, { digest: context.digest, entries: context.entries.map(copyOf).sort(byPath) })
        }
      }))),
    get: (digest) =>
      checkContextDigest(digest).pipe(Effect.flatMap(() => {
        const stored = contexts.get(digest)
        return stored === undefined
          ? Effect.fail(new BuildContextStoreError({ reason: new ContextNotFound({ digest }) }))
          : Effect.succeed({ digest, entries: stored.entries.map(copyOf) })
      })),
    has: (digest) => checkContextDigest(digest).pipe(Effect.map(() => contexts.has(digest)))
  })
})

/**
 * @since 0.2.0
 * @category layers
 */
export const MemoryBuildContextStore = {
  /** An empty store per build of the layer. */
  layer: Layer.effect(BuildContextStore, make)
} as const
