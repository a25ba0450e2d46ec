/**
 * A private OCI registry on 127.0.0.1 (Debian's `docker-registry`, installed by
 * `scripts/services/docker.sh ensure`) in one of its three modes: `plain` (anonymous),
 * `htpasswd` (one user, bcrypt) or `token` (Bearer tokens from a token server, the ACR protocol:
 * ./TokenServer.ts). Started on a free port with deleting enabled, stopped by its PID.
 *
 * Usage: `const registry = await startRegistry({ username, password })` (htpasswd) or
 * `startRegistryIn({ kind: "plain" | "token", … })`, then images named `${registry.address}/…`;
 * `registry.close()` at the end. The engine needs no configuration: registries on 127.0.0.0/8
 * may speak plain HTTP.
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort, serverProcess } from "./ServerProcess.ts"
import type { TestTokenServer } from "./TokenServer.ts"

export interface TestRegistry {
  /** `127.0.0.1:PORT`: the registry part of an image reference. */
  readonly address: string
  readonly close: () => Promise<void>
  /** Where it keeps what was pushed (`<storage>/docker/registry/v2/…`). */
  readonly storage: string
  /** The PID of the running registry process (undefined while stopped). */
  readonly pid: () => number | undefined
  /** Kills the process by its PID (SIGKILL: as a crash, mid-request), keeping what it stored. */
  readonly kill: () => Promise<void>
  /** Starts it again on the same address with the same storage, and waits until it answers. */
  readonly restart: () => Promise<void>
}

export type RegistryMode =
  | { readonly kind: "plain" }
  | { readonly kind: "htpasswd"; readonly username: string; readonly password: string }
  | { readonly kind: "token"; readonly tokenServer: TestTokenServer }

/** An htpasswd registry with one user. */
export const startRegistry = (user: { readonly username: string; readonly password: string }): Promise<TestRegistry> =>
  startRegistryIn({ kind: "htpasswd", ...user })

const authConfig = (mode: RegistryMode, root: string): string | undefined => {
  if (mode.kind === "htpasswd") {
    // bcrypt, which the registry requires, from Debian's Python (no apache2-utils needed).
    const hash = execFileSync("/usr/bin/python3", ["-W", "ignore", "-c", "import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))", mode.password], { encoding: "utf8" }).trim()
    writeFileSync(join(root, "htpasswd"), `${mode.username}:${hash}\n`)
    return `auth: {htpasswd: {realm: terrarium-test, path: ${JSON.stringify(join(root, "htpasswd"))}}}`
  }
  if (mode.kind === "token") {
    const { realm, service, issuer, certificatePath } = mode.tokenServer
    return `auth: {token: {realm: ${JSON.stringify(realm)}, service: ${JSON.stringify(service)}, issuer: ${JSON.stringify(issuer)}, rootcertbundle: ${JSON.stringify(certificatePath)}}}`
  }
  return undefined
}

export const startRegistryIn = async (mode: RegistryMode): Promise<TestRegistry> => {
  const root = mkdtempSync(join(tmpdir(), "terrarium-registry-"))
  const port = await freePort()
  writeFileSync(join(root, "config.yml"), [
    "version: 0.1",
    "log: {level: warn}",
    `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(root, "data"))}}, delete: {enabled: true}}`,
    `http: {addr: "127.0.0.1:${port}", secret: "terrarium-test"}`,
    ...[authConfig(mode, root)].filter((line) => line !== undefined),
    ""
  ].join("\n"))
  const address = `127.0.0.1:${port}`
  const server = serverProcess({
    name: `docker-registry at ${address}`,
    command: "docker-registry",
    args: ["serve", join(root, "config.yml")],
    readyWhen: { probe: () => fetch(`http://${address}/v2/`).then((r) => r.status === 401 || r.status === 200, () => false) },
    timeoutSeconds: 10
  })
  const stop = async () => {
    await server.stop("SIGTERM")
    rmSync(root, { recursive: true, force: true })
  }
  const registry: TestRegistry = {
    address,
    close: stop,
    storage: join(root, "data"),
    pid: server.pid,
    kill: () => server.stop("SIGKILL"),
    restart: async () => {
      await server.stop("SIGTERM")
      await server.start()
    }
  }
  try {
    await server.start()
  } catch (error) {
    await stop()
    throw error
  }
  return registry
}
