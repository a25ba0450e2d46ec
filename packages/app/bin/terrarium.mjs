#!/usr/bin/env node
// Launcher for `terrarium` (`pnpm terrarium`, `pnpm exec terrarium`): runs the build of the CLI
// in ../dist (scripts/build-cli.ts, run at install by `prepare`), or the TypeScript sources
// under Node 24's type stripping when there is no build or a source is newer than it.
import { readFileSync, statSync } from "node:fs"
import { enableCompileCache } from "node:module"
import { setFlagsFromString } from "node:v8"

// Keep each module's compiled code on disk between runs (and, for the sources, their stripped
// text), so that only the first command after an install or a change compiles it.
// The directory is $NODE_COMPILE_CACHE, else node-compile-cache in the OS temp dir;
// NODE_DISABLE_COMPILE_CACHE=1 turns it off. Failing to enable it is not an error.
enableCompileCache()

// PGlite is a WebAssembly build of PostgreSQL. V8 first compiles WebAssembly with its baseline
// compiler and recompiles the functions that run most with its optimising one, in background
// threads; the process cannot exit before those jobs finish. Starting PGlite makes hundreds of
// functions hot at once, so a short command printed its answer and then waited over a second to
// exit. A budget 100x V8's default recompiles only what stays hot in long commands, without
// slowing them (figures: bench/README.md, "Measurements behind code choices"). Only this process
// is affected, not programs that use the library; a budget given on node's command line wins.
if (!process.execArgv.some((arg) => arg.startsWith("--wasm-tiering-budget"))) {
  setFlagsFromString("--wasm-tiering-budget=1300000000")
}

const build = new URL("../dist/terrarium.mjs", import.meta.url)

/**
 * The build, if it exists and no source it was made from changed since: a build older than a
 * source would run code that is no longer in the tree, so the sources run instead (slower to
 * start, the same behaviour). One `stat` per workspace source listed in the build's manifest.
 */
const upToDate = () => {
  try {
    // Written last by every build, even one that changed no chunk.
    const manifest = new URL("../dist/sources.json", import.meta.url)
    const built = statSync(manifest).mtimeMs
    const root = new URL("../../../", import.meta.url)
    const sources = JSON.parse(readFileSync(manifest, "utf8"))
    return sources.every((source) => statSync(new URL(source, root)).mtimeMs <= built)
  } catch {
    return false
  }
}

// Imported after the cache is on and the flag set (a static import would be loaded before this
// module runs).
await import(upToDate() ? build.href : "../src/bin/terrarium.ts")
