import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite instances take ~0.45 GB each; keep the number of parallel workers bounded.
    maxWorkers: 2,
    // Publishing the curated catalog on first start adds ~130 events to every fresh database;
    // tests that are not about the catalog run without it (the ones about it turn it on).
    env: { TERRARIUM_CURATED_CATALOG: "off" }
  }
})
