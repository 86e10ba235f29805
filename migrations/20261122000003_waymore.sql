-- Routee-Waymore push module: the shop's connection and the mass export of its history.

-- The shop's Waymore account link: at most one row. The UUID Waymore issued on
-- authentication does not expire; the password is never stored.
CREATE TABLE waymore_connection (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    uuid         text NOT NULL,
    username     text NOT NULL,
    connected_at timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE waymore_export_state AS ENUM ('pending', 'running', 'completed', 'failed', 'canceled');

-- A mass export of the shop's history. Pending and running exports are picked up by
-- whichever serve process holds the export lock; a failed one waits to be resumed.
CREATE TABLE waymore_exports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    state       waymore_export_state NOT NULL DEFAULT 'pending',
    batch_size  integer NOT NULL CHECK (batch_size > 0),
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One unfinished export at a time.
CREATE UNIQUE INDEX waymore_exports_one_unfinished_idx
    ON waymore_exports ((true)) WHERE state IN ('pending', 'running', 'failed');
CREATE TRIGGER waymore_exports_touch_updated_at BEFORE UPDATE ON waymore_exports
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Where an export stands in each entity, updated after every part Waymore accepted. The
-- history is the rows with id <= upper_id when the export was created: later rows reach
-- Waymore as real-time events.
CREATE TABLE waymore_export_progress (
    export_id bigint NOT NULL REFERENCES waymore_exports (id) ON DELETE CASCADE,
    entity    text NOT NULL
              CHECK (entity IN ('customers', 'subscribers', 'products', 'wishlist', 'orders')),
    position  smallint NOT NULL,
    upper_id  bigint NOT NULL,
    total     bigint NOT NULL,
    last_id   bigint NOT NULL DEFAULT 0,
    sent      bigint NOT NULL DEFAULT 0,
    done      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (export_id, entity),
    UNIQUE (export_id, position)
);

-- A discount in Waymore's shape, for products and options in mass data and in events:
-- {"price", "date_start", "date_end", "quantity"} with ISO dates ('' when open-ended) and
-- the minimum quantity (null when none).
CREATE FUNCTION waymore_discount(d discounts) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_build_object(
        'price', d.price,
        'date_start', coalesce(to_char(d.date_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),
        'date_end', coalesce(to_char(d.date_end AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),
        'quantity', d.min_quantity)
$$;
