-- The mass export runs in parallel parts under a lease instead of a session advisory lock:
-- the runner renews `leased_until` while it works, and every progress write checks that it
-- still holds the lease (fencing), so a runner that lost its claim can never write progress
-- or finish an export another runner took over.
ALTER TABLE waymore_exports
    ADD COLUMN lease_token uuid,
    ADD COLUMN leased_until timestamptz;

-- Parts Waymore acknowledged beyond an entity's contiguous position (`last_id` in
-- waymore_export_progress): parts run in parallel and may be acknowledged out of order. On
-- resume these ranges are skipped, so nothing acknowledged is sent again and nothing is
-- skipped. Rows at or below the contiguous position are deleted as it advances.
CREATE TABLE waymore_export_parts (
    export_id bigint NOT NULL REFERENCES waymore_exports (id) ON DELETE CASCADE,
    entity    text NOT NULL,
    after_id  bigint NOT NULL,
    last_id   bigint NOT NULL,
    count     bigint NOT NULL,
    PRIMARY KEY (export_id, entity, after_id)
);
