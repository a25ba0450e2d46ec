import { TestDatabase } from "../support/TestDatabase.ts"
import { projectionSuite } from "./suite.ts"

// Each test gets its own schema; the pool of 4 lets concurrent projectors really contend.
projectionSuite("PostgreSQL (a schema per test, pool of 4)", () => TestDatabase.postgres({ poolSize: 4 }))
