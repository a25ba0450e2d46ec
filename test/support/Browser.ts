/**
 * Debian's Chromium driven by playwright-core, for the web page's browser tests.
 *
 * The browser is the system's (`/usr/bin/chromium`, installed by `scripts/services/chromium.sh
 * ensure` when missing), never one that playwright downloads. It runs headless, without the
 * sandbox (tests run as root), with everything that would reach the network by itself turned off,
 * on a fresh profile removed afterwards. Playwright takes the profile folder through
 * `launchPersistentContext` (it refuses a `--user-data-dir` argument).
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium, type BrowserContext, type Page } from "playwright-core"
import { repoRoot } from "./cli.ts"

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
] as const

/** Installs Chromium when missing (CI starts on a machine without it); returns its path. */
export const ensureChromium = (): string => {
  const result = spawnSync("bash", [join(repoRoot, "scripts/services/chromium.sh"), "ensure"], {
    encoding: "utf8",
    timeout: 600_000
  })
  if (result.status !== 0) throw new Error(`scripts/services/chromium.sh ensure failed:\n${result.stderr}`)
  return result.stdout.trim()
}

export interface Browser {
  readonly context: BrowserContext
  readonly page: Page
  readonly close: () => Promise<void>
}

export const launchBrowser = async (): Promise<Browser> => {
  const executablePath = ensureChromium()
  const profile = mkdtempSync(join(tmpdir(), "terrarium-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true
  })
  const page = context.pages()[0] ?? (await context.newPage())
  return {
    context,
    page,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** Where the tests save screenshots: git-ignored, kept after the run as the tests' artifacts. */
export const artifactsDir = (): string => {
  const dir = join(repoRoot, ".artifacts/web")
  mkdirSync(dir, { recursive: true })
  return dir
}

export const screenshot = async (page: Page, name: string): Promise<string> => {
  const path = join(artifactsDir(), `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

const axeSource = (): string => readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8")

export interface AxeViolation {
  readonly id: string
  readonly impact: string | null
  readonly help: string
  readonly nodes: ReadonlyArray<{ readonly target: ReadonlyArray<unknown>; readonly html: string }>
}

/**
 * Runs axe-core (from npm, injected into the page) and returns the serious and critical
 * violations, described one a line so a failing test names the element.
 */
export const seriousViolations = async (page: Page): Promise<Array<string>> => {
  // Evaluated over the DevTools protocol, not added as a <script>: the page's
  // Content-Security-Policy (scripts from its own origin only) stays as it is.
  await page.evaluate(axeSource())
  // A string, run in the page (whose globals this Node program's types do not know).
  const violations: Array<AxeViolation> = await page.evaluate(`
    axe.run(document, { resultTypes: ["violations"] }).then((result) =>
      result.violations.map((violation) => ({
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        nodes: violation.nodes.map((node) => ({ target: node.target, html: node.html }))
      })))
  `)
  return violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.impact} ${violation.id} (${violation.help}): ${violation.nodes.map((node) => node.html).join(" | ")}`)
}
