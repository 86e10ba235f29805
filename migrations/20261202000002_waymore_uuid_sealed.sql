-- The Waymore UUID is a secret: it is kept sealed with the Waymore destination's config
-- (in `secrets`, under 'destination/<id>', sealed by the service at connect), no longer
-- readable in `waymore_connection`. Status shows its ends, kept here.
-- A shop connected before keeps its UUID readable in the destination's config until the
-- next start, which seals it.
ALTER TABLE waymore_connection ADD COLUMN uuid_hint text NOT NULL DEFAULT '…';
UPDATE waymore_connection
SET uuid_hint = CASE WHEN length(uuid) > 8 THEN left(uuid, 4) || '…' || right(uuid, 4) ELSE '…' END;
ALTER TABLE waymore_connection DROP COLUMN uuid;

-- Connecting enables the Waymore destination (its UUID is sealed beside it in the same
-- transaction); disconnecting disables it and forgets its UUID. Connecting again releases
-- a hold, reason and all.
CREATE OR REPLACE FUNCTION waymore_destination_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        WITH disabled AS (
            UPDATE destinations SET enabled = false, held = false, hold_reason = NULL, config = '{}'
            WHERE name = 'waymore' RETURNING id
        )
        DELETE FROM secrets s USING disabled d WHERE s.owner = 'destination/' || d.id;
    ELSE
        UPDATE destinations
        SET enabled = true, held = false, hold_reason = NULL, consecutive_failures = 0,
            paused_until = NULL, config = config || jsonb_build_object('cart_url', NEW.cart_url)
        WHERE name = 'waymore';
    END IF;
    RETURN NULL;
END
$$;
