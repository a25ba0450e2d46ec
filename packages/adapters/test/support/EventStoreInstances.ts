/**
 * The stores a concurrency test should spread its writers over: independent instances over the
 * same log, as separate processes would be (each with its own connections and group-commit
 * queue). Optional: a suite without it uses the one `EventStore`.
 *
 * @since 0.1.0
 */
import type { EventStore } from "@terrarium/domain"
import { Context } from "effect"

/**
 * Independent store instances over the same log (the first is the `EventStore` service).
 *
 * @since 0.1.0
 * @category test support
 */
export class EventStoreInstances extends Context.Service<EventStoreInstances, ReadonlyArray<EventStore["Service"]>>()(
  "terrarium/test/EventStoreInstances"
) {}
