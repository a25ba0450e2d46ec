export * from "./sql/Database.ts"
export * from "./sql/Migrations.ts"
export * from "./sql/tables.ts"
export * from "./event-store/SqlEventStore.ts"
