/**
 * The port's `StorageFailure` for what went wrong in the SQL database below the store.
 *
 * @since 0.1.0
 */
import { type EventStoreError, storageFailure } from "@terrarium/domain"
import type { DatabaseError } from "../../sql/DatabaseError.ts"

/** @since 0.1.0 @category errors */
export const fromDatabaseError = (e: DatabaseError): EventStoreError => storageFailure(e.operation, e.cause)
