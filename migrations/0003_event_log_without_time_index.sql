-- positionAt (as-of by time) now binary-searches the dense positions, relying on occurred_at
-- being non-decreasing along position (events_append guarantees it). The time index cost every
-- append a B-tree insertion and served only that rare query.
DROP INDEX events_occurred_at_idx;
