/**
 * A 2 MB image (busybox alone, imported, no build) pushed to a test registry through the engine,
 * for tests that need something in a registry. Push errors arrive as stream messages, not
 * rejections, so they are looked for.
 *
 * `pushTinyImage(docker, "127.0.0.1:PORT/repo:tag", authconfig?)` returns the push's manifest
 * digest (`aux.Digest`), the same for every push of one process; the registry's local tag is
 * removed again (`removeTinyImage` removes the imported one at the end).
 */
import { Effect, Stream } from "effect"
import { Tar } from "effect/encoding"
import { readFileSync } from "node:fs"
import { Readable } from "node:stream"

export interface PushMessage {
  readonly error?: string
  readonly aux?: { readonly Digest?: string }
}

/** What of a dockerode client this needs (test/ does not depend on dockerode itself). */
export interface Engine {
  readonly modem: { followProgress: (stream: NodeJS.ReadableStream, done: (err: Error | null, out: Array<unknown>) => void) => void }
  readonly importImage: (file: string, options: { repo: string; tag: string }) => Promise<NodeJS.ReadableStream>
  readonly getImage: (name: string) => {
    push: (options: object) => Promise<NodeJS.ReadableStream>
    tag: (options: { repo: string; tag: string }) => Promise<unknown>
    remove: () => Promise<unknown>
  }
}

export const followProgress = (docker: Engine, stream: NodeJS.ReadableStream) =>
  new Promise<Array<PushMessage>>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out as Array<PushMessage>)))
  )

/** The imported image: once per process, so every push of it has the same manifest digest. */
const LOCAL = { repo: "terrarium-test/tiny", tag: `local-${process.pid}` }
let imported: Promise<void> | undefined

const importTinyImage = (docker: Engine) =>
  imported ??= (async () => {
    const tar = await Effect.runPromise(Stream.fromIterable([Tar.file("bin/busybox", readFileSync("/bin/busybox"), { mode: 0o755 })]).pipe(
      Stream.pipeThroughChannel(Tar.encode()),
      Stream.runCollect
    ))
    await followProgress(docker, await docker.importImage(Readable.from([Buffer.concat(tar)]) as unknown as string, LOCAL))
  })()

export const pushTinyImage = async (
  docker: Engine,
  image: string,
  authconfig?: { readonly username: string; readonly password: string; readonly serveraddress: string }
): Promise<string> => {
  await importTinyImage(docker)
  const colon = image.lastIndexOf(":")
  await docker.getImage(`${LOCAL.repo}:${LOCAL.tag}`).tag({ repo: image.slice(0, colon), tag: image.slice(colon + 1) })
  const pushed = await followProgress(docker, await docker.getImage(image).push({ authconfig: authconfig ?? {} }))
  await docker.getImage(image).remove().catch(() => undefined)
  const error = pushed.find((m) => m.error !== undefined)
  if (error !== undefined) throw new Error(`push of ${image} failed: ${error.error}`)
  const digest = pushed.find((m) => m.aux?.Digest !== undefined)?.aux?.Digest
  if (digest === undefined) throw new Error(`push of ${image} reported no digest`)
  return digest
}

export const removeTinyImage = (docker: Engine) =>
  imported === undefined ? Promise.resolve() : docker.getImage(`${LOCAL.repo}:${LOCAL.tag}`).remove().then(() => undefined, () => undefined)

/** The imported image's local name (imported on first use). */
export const localTinyImage = async (docker: Engine): Promise<string> => {
  await importTinyImage(docker)
  return `${LOCAL.repo}:${LOCAL.tag}`
}
