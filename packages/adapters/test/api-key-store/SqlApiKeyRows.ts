/**
 * Every row of `api_keys`, as it is in the table: the SQL adapters' `stored` for the contract,
 * which looks for the keys among them.
 */
import { Database } from "../../src/sql/Database.ts"

export const storedRows = Database.use((database) => database.execute("read every API key row", "SELECT * FROM api_keys", []))
