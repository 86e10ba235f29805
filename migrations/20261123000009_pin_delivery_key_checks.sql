-- The foreign-key checks of the deliveries an event inserts stay index probes.
--
-- A connection caches a generic plan for a statement it runs often, the foreign-key check
-- of every delivery inserted included. Made while `events` looks empty (a new shop, an
-- event log emptied by retention, by a test or a benchmark), that plan is a sequential scan,
-- and it is kept until the next ANALYZE, which autovacuum runs up to a minute later.
-- Meanwhile each delivery's check read the whole refilling table: applying Shopify orders
-- slowed from 666 to 303 a second. Plans made while recording an event now leave out
-- sequential scans wherever an index serves, whatever the tables' size, as event_recorded
-- and delivery_queued already do.
--
-- The few destinations have no index to serve the statement's lookup, so it still scans
-- them, at the cost a disabled scan is given; JIT would compile that plan on every call.
ALTER FUNCTION record_event_unannounced(text, text, text, text, jsonb, boolean, text)
    SET enable_seqscan = off SET jit = off;
