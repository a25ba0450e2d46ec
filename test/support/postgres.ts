/** The PostgreSQL server the tests use; scripts/test.sh makes sure it answers. */
export const testDatabaseUrl: string =
  process.env["TERRARIUM_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"
