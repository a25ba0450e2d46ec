/**
 * A Dockerfile-based definition and the build context its digest covers, for the use cases'
 * tests of storing and sharing contexts.
 */
import { type BuildContext, type BuildContextEntry, buildContextDigest, type Definition, emptyDefinition } from "@terrarium/domain"
import { Effect } from "effect"

const text = (s: string) => new TextEncoder().encode(s)

/** A context of `files` (path → text; `run.sh` is executable), with its digest. */
export const contextOf = (files: Readonly<Record<string, string>>): Effect.Effect<BuildContext, never> =>
  Effect.gen(function*() {
    const entries: ReadonlyArray<BuildContextEntry> = Object.entries(files).map(([path, content]) => ({
      path,
      executable: path.endsWith(".sh"),
      content: text(content)
    }))
    const { digest } = yield* Effect.orDie(buildContextDigest(entries, "test"))
    return { digest, entries }
  })

/** A definition built from a Dockerfile whose context digest is `digest`. */
export const dockerfileDefinition = (digest: string): Definition => ({
  ...emptyDefinition,
  python: { userManagedDependencies: true, interpreterPath: "python3" },
  docker: {
    ...emptyDefinition.docker,
    base: { kind: "dockerfile", dockerfile: "FROM scratch\nCOPY . /app\n", context: "./docker", dockerfilePath: "Dockerfile", contextDigest: digest }
  }
})

/** The entries of a context as text, sorted by path: what tests compare. */
export const filesOf = (context: BuildContext | undefined) =>
  context === undefined
    ? undefined
    : Object.fromEntries([...context.entries].sort((a, b) => a.path.localeCompare(b.path)).map((e) => [e.path, new TextDecoder().decode(e.content)]))
