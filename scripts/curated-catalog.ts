/**
 * Writes the curated catalog that ships with Terrarium, or checks that it is up to date:
 *
 *   node scripts/curated-catalog.ts [CORPUS_CURATED_DIR]         # writes the catalog
 *   node scripts/curated-catalog.ts --check [CORPUS_CURATED_DIR] # fails if it would change
 *
 * The corpus folder defaults to `../shared/corpus/curated` beside the repository. What it derives,
 * and how: `packages/app/catalog/CatalogGenerator.ts` and docs/curated-catalog.md.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import {
  catalogFile, catalogText, committedCatalog, defaultCorpus, generateCatalog, releaseFile, releaseText, repoRoot
} from "../packages/app/catalog/CatalogGenerator.ts"

{
  const args = process.argv.slice(2)
  const check = args.includes("--check")
  const corpus = args.find((a) => a !== "--check") ?? defaultCorpus
  const previous = committedCatalog()
  const catalog = await generateCatalog(corpus, previous)
  const outputs: ReadonlyArray<readonly [string, string]> = [[catalogFile, catalogText(catalog)], [releaseFile, releaseText(catalog)]]
  const stale = outputs.filter(([file, text]) => !existsSync(file) || readFileSync(file, "utf8") !== text)
  if (check) {
    if (stale.length > 0) {
      console.error(`curated-catalog: out of date: ${stale.map(([f]) => f.slice(repoRoot.length)).join(", ")} (run node scripts/curated-catalog.ts)`)
      process.exit(1)
    }
    console.log(`curated-catalog: up to date (${catalog.release}, ${catalog.environments.length} versions)`)
  } else {
    for (const [file, text] of stale) writeFileSync(file, text)
    console.log(`curated-catalog: ${catalog.release}, ${catalog.environments.length} versions; wrote ${stale.length} file(s)`)
  }
}
