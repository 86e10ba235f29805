-- The delivery backbone's read of what still waits for one destination: the deliveries
-- not yet made, each with its event. Integrations that show "waiting" work (workflows'
-- executions) call this rather than read the queue's tables themselves.
CREATE FUNCTION pending_deliveries(destination bigint)
RETURNS TABLE (
    delivery_id bigint,
    event_id bigint,
    event_name text,
    entity_type text,
    entity_id text,
    created_at timestamptz
)
LANGUAGE sql STABLE AS $$
    SELECT d.id, e.id, e.name, e.entity_type, e.entity_id, d.created_at
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.destination_id = destination AND d.state = 'pending'
$$;
