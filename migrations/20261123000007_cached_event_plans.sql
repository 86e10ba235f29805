-- Recording an event costs its inserts, not its planning.
--
-- PostgreSQL (before 18) plans the body of a SQL-language function it cannot inline anew each
-- time a statement calls it. The event triggers call these helpers once or more per event, so
-- planning them was most of what the triggers cost: an order with 3 items took ×2.2 the time
-- of the same write without triggers while Waymore was connected. PL/pgSQL keeps each plan for
-- the session. The bodies are unchanged; each `SELECT …` becomes `RETURN (SELECT …)`, with
-- the same arguments, result, volatility and parallel safety.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'destination_takes(text[], text)', 'event_wanted(text)',
        'customer_snapshot(bigint)', 'product_snapshot(bigint)',
        'order_snapshot(bigint)', 'shipment_snapshot(bigint)']::regprocedure[]
    LOOP
        EXECUTE (
            SELECT format('CREATE OR REPLACE FUNCTION %s(%s) RETURNS %s LANGUAGE plpgsql %s %s AS %L',
                          p.oid::regproc, pg_get_function_arguments(p.oid),
                          pg_get_function_result(p.oid),
                          CASE p.provolatile WHEN 'i' THEN 'IMMUTABLE' ELSE 'STABLE' END,
                          CASE p.proparallel WHEN 's' THEN 'PARALLEL SAFE' ELSE '' END,
                          'BEGIN RETURN (' || p.prosrc || '); END')
            FROM pg_proc p
            WHERE p.oid = f);
    END LOOP;
END
$$;

-- event_recorded and delivery_queued look up `events` and `deliveries`, which go from empty
-- to large and back. A plan cached while such a table was empty is a sequential scan, which
-- would then read the whole table for every event until the next ANALYZE replans it. Their
-- plans are pinned to the index probe they are meant to be.
CREATE OR REPLACE FUNCTION event_recorded(p_name text, p_entity_type text, p_entity_id text)
RETURNS boolean
LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM events
                   WHERE txid = pg_current_xact_id() AND entity_id = p_entity_id
                     AND entity_type = p_entity_type AND name = p_name);
END
$$;

CREATE OR REPLACE FUNCTION delivery_queued(p_destination bigint, p_key text) RETURNS boolean
LANGUAGE plpgsql STABLE SET enable_seqscan = off AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM deliveries
                   WHERE destination_id = p_destination AND ordering_key = p_key
                     AND state IN ('pending', 'failed'));
END
$$;

-- An IMMUTABLE function over to_char (which is STABLE) is never inlined, so every payload
-- timestamp was a function call with its own planning. Declared STABLE, it is inlined.
ALTER FUNCTION event_time(timestamptz) STABLE;
