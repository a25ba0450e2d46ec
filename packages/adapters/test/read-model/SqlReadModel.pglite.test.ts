import { TestDatabase } from "../support/TestDatabase.ts"
import { projectionSuite } from "./suite.ts"

projectionSuite("PGlite (in memory)", () => TestDatabase.pglite())
