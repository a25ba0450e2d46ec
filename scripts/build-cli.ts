/**
 * Builds the `terrarium` executable: one esbuild run from `packages/app/src/bin/terrarium.ts` to
 * `packages/app/dist/` (git-ignored), which `packages/app/bin/terrarium.mjs` loads.
 *
 *   node scripts/build-cli.ts
 *
 * Run by the root `prepare` script (so by every install), and before the tests and the demo so
 * that they never run a stale build. The sources stay TypeScript; the library (`@terrarium/app`)
 * is still used from them.
 *
 * Why a bundle: a command loaded every module of the workspace and of its libraries, each
 * resolved, read, type-stripped and compiled; a few large files cost a fraction of that, and
 * Node's compile cache keeps their compiled code. Code splitting puts what is reached only through
 * a dynamic `import()` in a chunk of its own, loaded when a command gets there: `pg` (imported so
 * by the database adapter) is loaded only by a command on PostgreSQL.
 *
 * Some modules stay outside the bundle, loaded from where they are installed:
 * - PGlite finds its WebAssembly and data files next to its own module, so it is imported by a
 *   path relative to the bundle instead of by name (the app package does not depend on it, so a
 *   bare name would not resolve from `dist/`);
 * - rattler and pip-requirements-js, which the spec parsers load with `createRequire` on the
 *   first spec they read (see CondaSpec.ts and PipSpec.ts), and dockerode, which the Docker image
 *   builder loads so when it is made (image-builder/docker/DockerEngine.ts);
 * - `pg-native`, which `pg` tries to load only when asked to, and which is not installed.
 *
 * `import.meta.url` in a workspace source becomes that source's own URL, computed from the
 * chunk's, so a module that finds files next to it (the migrations) still finds them.
 */
import * as esbuild from "esbuild"
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { basename, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("../", import.meta.url))
const appDir = join(repoRoot, "packages/app")
const outdir = join(appDir, "dist")
const packagesDir = join(repoRoot, "packages") + sep

/** Packages imported from their install location, not bundled. */
const installed = ["@electric-sql/pglite"]

const relativeImport = (from: string, to: string): string => {
  const path = relative(from, to).split(sep).join("/")
  return path.startsWith(".") ? path : `./${path}`
}

const terrariumPlugin: esbuild.Plugin = {
  name: "terrarium",
  setup(build) {
    const installedFilter = new RegExp(`^(${installed.map((name) => name.replace(/[/.]/g, "\\$&")).join("|")})(/|$)`)
    build.onResolve({ filter: installedFilter }, async (args) => {
      if (args.pluginData === "resolving") return undefined
      const resolved = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: "resolving"
      })
      if (resolved.errors.length > 0) return { errors: resolved.errors }
      return { path: relativeImport(outdir, resolved.path), external: true, sideEffects: false }
    })
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(packagesDir)) return undefined
      const source = readFileSync(args.path, "utf8")
      if (!source.includes("import.meta.url")) return undefined
      const own = `new URL(${JSON.stringify(relativeImport(outdir, args.path))}, import.meta.url).href`
      return { contents: source.replaceAll("import.meta.url", own), loader: "ts" }
    })
  }
}

const started = performance.now()
const result = await esbuild.build({
  entryPoints: { terrarium: join(appDir, "src/bin/terrarium.ts") },
  absWorkingDir: repoRoot,
  outdir,
  write: false,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node24",
  outExtension: { ".js": ".mjs" },
  // Chunks sit beside the entry: the relative paths written into them assume the one directory.
  chunkNames: "[name]-[hash]",
  external: ["pg-native"],
  // `pg` and other CommonJS packages call `require` for Node's built-in modules.
  banner: { js: `import { createRequire as __terrariumRequire } from "node:module"; const require = __terrariumRequire(import.meta.url);` },
  plugins: [terrariumPlugin],
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
  minifyWhitespace: true,
  minifySyntax: true
})

/**
 * Other `terrarium` processes may be running from this directory while it is rebuilt (the demo
 * test rebuilds beside the CLI tests), so a file is replaced by a rename, never rewritten in
 * place, and only when its content changed: a rebuild from the same sources leaves every chunk a
 * running command may still import where it was. Chunks no build produces any more go last.
 */
const replace = (file: string, contents: Uint8Array) => {
  try {
    if (Buffer.from(contents).equals(readFileSync(file))) return
  } catch {
    // not there yet
  }
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, contents)
  renameSync(temporary, file)
}
mkdirSync(outdir, { recursive: true })
for (const file of result.outputFiles) replace(file.path, file.contents)
const produced = new Set(result.outputFiles.map((file) => basename(file.path)))
for (const name of readdirSync(outdir)) {
  if (name.endsWith(".mjs") && !produced.has(name)) rmSync(join(outdir, name), { force: true })
}
// The workspace sources the build read, written last: the launcher runs the sources instead of a
// build older than any of them (a source edited since, in a test run outside scripts/test.sh).
const sources = Object.keys(result.metafile.inputs).filter((input) => input.startsWith("packages/"))
const sourcesFile = join(outdir, "sources.json")
writeFileSync(`${sourcesFile}.${process.pid}.tmp`, JSON.stringify(sources))
renameSync(`${sourcesFile}.${process.pid}.tmp`, sourcesFile)

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`
const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0)
console.log(
  `build-cli: ${Object.keys(result.metafile.inputs).length} modules -> ${result.outputFiles.length} files, ${kib(bytes)} in ${relativeImport(repoRoot, outdir)} ` +
    `(${((performance.now() - started) / 1000).toFixed(2)} s)`
)
