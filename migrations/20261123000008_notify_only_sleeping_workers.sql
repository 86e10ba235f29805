-- A writer announces its events only when a delivery worker sleeps and needs waking.
--
-- A transaction that calls pg_notify takes PostgreSQL's database-wide notification lock at
-- commit and holds it through its WAL flush, so notifying writers commit one at a time. A
-- worker that is busy does not need the notification: it looks for work again after every
-- outcome. So a worker that found nothing to claim takes the session advisory lock
-- 6001133709951060805 ('SHOPWAKE') exclusively before it sleeps, and lets it go when a round
-- claims work again (src/delivery/asleep.rs). A writer tries to take the same lock shared
-- for its transaction:
-- - it fails while a worker holds the lock or waits for it: the writer notifies, as before;
-- - it succeeds while every worker is busy: no NOTIFY. The writer keeps the shared lock to
--   its commit, so a worker that wants to sleep meanwhile is granted the lock only after the
--   commit, and its round after the grant finds these events.
-- Writers that announce after their commit (shopbridge.announce = 'after_commit') are
-- unchanged.
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
       AND current_setting('shopbridge.announce', true) IS DISTINCT FROM 'after_commit'
       AND NOT pg_try_advisory_xact_lock_shared(6001133709951060805) THEN
        PERFORM pg_notify('shop_events', '');
    END IF;
    RETURN v_id;
END
$$;
