/**
 * What the `apikey` commands share: the API keys (`http/ApiKeys.ts`) over the `ApiKeyStore` of
 * the configured database (`Setup.layerApiKeyStore`: the same storage flags as every command;
 * migrations run as for any command).
 *
 * @since 0.4.0
 */
import { Console, Effect, Layer, Option } from "effect"
import type { ApiKeys } from "../../../http/ApiKeys.ts"
import { render } from "../../Output.ts"
import { asUsageError, loadSetup, root, type RootFlags, type Spellings, storageOf } from "../../TerrariumCommand.ts"

/**
 * Runs `f` with the API keys of the database the root flags name, then prints what it returns.
 *
 * @since 0.4.0
 * @category running
 */
export const withApiKeys = <A, E>(
  f: (keys: ApiKeys["Service"], flags: RootFlags, actor: string) => Effect.Effect<A, E>,
  print: (value: A) => { readonly data: unknown; readonly table: () => string },
  spellings: Spellings = {}
) =>
  Effect.gen(function*() {
    const flags: RootFlags = yield* root
    const Setup = yield* loadSetup
    const { ApiKeys, layer } = yield* Effect.promise(() => import("../../../http/ApiKeys.ts"))
    // Loaded when the command runs, as the composition root is: other commands' start-up never pays for them.
    const [NodeFileSystem, NodePath] = yield* Effect.promise(() =>
      Promise.all([import("@effect/platform-node/NodeFileSystem"), import("@effect/platform-node/NodePath")]))
    const store = Setup.layerApiKeyStore(storageOf(flags)).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))
    const actor = Option.getOrElse(flags.actor, () => Setup.osUser())
    const value = yield* ApiKeys.use((keys) => f(keys, flags, actor)).pipe(
      Effect.provide(layer.pipe(Layer.provide(store))),
      Effect.mapError(asUsageError(spellings))
    )
    const shown = print(value)
    yield* Console.log(render(flags.output, shown.data, shown.table))
  })
