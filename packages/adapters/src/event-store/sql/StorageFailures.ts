/**
 * The port's `StorageFailure` for what went wrong below the SQL store.
 *
 * @since 0.1.0
 */
import { EventStoreError, StorageFailure } from "@terrarium/domain"
import type { DatabaseError } from "../../sql/DatabaseError.ts"

/** @since 0.1.0 @category errors */
export const storageFailure = (operation: string, cause: unknown): EventStoreError =>
  new EventStoreError({ reason: new StorageFailure({ operation, cause }) })

/** @since 0.1.0 @category errors */
export const fromDatabaseError = (e: DatabaseError): EventStoreError => storageFailure(e.operation, e.cause)
