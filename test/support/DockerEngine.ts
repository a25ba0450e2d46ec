/**
 * The Docker engine for tests that build images: `scripts/services/docker.sh base-image` installs
 * and starts the project's own Docker daemon if no engine answers (or checks the one `DOCKER_HOST`
 * names) and makes the test base image once per machine. Never skipped: if the engine cannot be
 * had, this throws and the test fails.
 *
 * `testDockerEngine()` returns `{ dockerHost, baseImage }`; give `dockerHost` to a builder (or as
 * `DOCKER_HOST` to a CLI run) and use `baseImage` as a definition's `docker.base.image`.
 */
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
const script = join(repoRoot, "scripts/services/docker.sh")

export interface TestDockerEngine {
  /** `unix://…` or `tcp://…`: the engine's address, as `DOCKER_HOST` spells it. */
  readonly dockerHost: string
  /** The local base image with Python 3, pip and venv (`terrarium-test/python-base:bookworm`). */
  readonly baseImage: string
}

let engine: TestDockerEngine | undefined

export const testDockerEngine = (): TestDockerEngine => {
  if (engine !== undefined) return engine
  const run = (command: string) =>
    execFileSync("bash", [script, command], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 }).trim()
  const baseImage = run("base-image")
  const dockerHost = run("ensure")
  engine = { dockerHost, baseImage }
  return engine
}
