/**
 * Builds the Environments web page: one esbuild run from `src/main.tsx` (Preact, TypeScript) to
 * `dist/` (git-ignored), with `index.html` and the style sheet beside the bundle. `terrarium
 * serve` serves that folder under `/`.
 *
 *   node packages/web/build.ts
 *
 * Run by the root `prepare` script (so by every install) and by scripts/test.sh before the tests,
 * so the browser tests never load a stale page. Everything comes from npm at install time: the
 * page loads nothing from another origin (its Content-Security-Policy says `default-src 'self'`).
 */
import * as esbuild from "esbuild"
import { copyFileSync, mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const webDir = fileURLToPath(new URL("./", import.meta.url))
const outdir = join(webDir, "dist")

rmSync(outdir, { recursive: true, force: true })
mkdirSync(join(outdir, "assets"), { recursive: true })

await esbuild.build({
  entryPoints: [join(webDir, "src/main.tsx")],
  outfile: join(outdir, "assets/main.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning"
})
copyFileSync(join(webDir, "src/index.html"), join(outdir, "index.html"))
copyFileSync(join(webDir, "src/styles.css"), join(outdir, "assets/styles.css"))
