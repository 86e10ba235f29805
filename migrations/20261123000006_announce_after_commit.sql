-- Writers that announce new events themselves once they have committed (the Shopify
-- applier, through the same post-commit NOTIFY as the ONe inbox) mark their transaction with
--     SELECT set_config('shopbridge.announce', 'after_commit', true);
-- The shop triggers then record events without the in-transaction NOTIFY, which would hold
-- the database-wide notification lock through each commit's WAL flush and make concurrent
-- writers commit one at a time (see record_event_unannounced). Every other writer is
-- announced as before.
CREATE OR REPLACE FUNCTION record_event(p_name text, p_entity_type text, p_entity_id text,
                                        p_ordering_key text, p_payload jsonb,
                                        p_once boolean DEFAULT false,
                                        p_source text DEFAULT 'shop')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := record_event_unannounced(p_name, p_entity_type, p_entity_id,
                                            p_ordering_key, p_payload, p_once, p_source);
BEGIN
    IF v_id IS NOT NULL
       AND current_setting('shopbridge.announce', true) IS DISTINCT FROM 'after_commit' THEN
        PERFORM pg_notify('shop_events', '');
    END IF;
    RETURN v_id;
END
$$;
