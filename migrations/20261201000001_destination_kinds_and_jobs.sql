-- The backbone as a platform: destinations of any kind an integration registers, held when
-- their answers say their configuration is wrong; and resumable jobs of any kind, which the
-- Waymore mass export becomes.

-- Kinds are the code's (registered at startup), not the table's: a process that meets a
-- kind it does not know leaves its destinations alone.
ALTER TABLE destinations DROP CONSTRAINT destinations_kind_check;

-- Why a destination is held: its answer said its credentials, account or address are
-- wrong (every delivery stays pending until an operator releases or reconfigures it), or
-- it is being disconnected.
ALTER TABLE destinations ADD COLUMN hold_reason text;

-- Counted in every destination's status.
CREATE INDEX deliveries_canceled_idx ON deliveries (destination_id) WHERE state = 'canceled';

-- Connecting Waymore again is reconfiguring it: it releases a hold, reason and all.
CREATE OR REPLACE FUNCTION waymore_destination_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE destinations SET enabled = false, held = false, hold_reason = NULL, config = '{}'
        WHERE name = 'waymore';
    ELSE
        UPDATE destinations
        SET enabled = true, held = false, hold_reason = NULL, consecutive_failures = 0,
            paused_until = NULL,
            config = jsonb_build_object('uuid', NEW.uuid, 'cart_url', NEW.cart_url)
        WHERE name = 'waymore';
    END IF;
    RETURN NULL;
END
$$;

-- Jobs -------------------------------------------------------------------------------------

CREATE TYPE job_state AS ENUM ('pending', 'running', 'completed', 'failed', 'canceled');

-- A resumable bulk job (`kind` names its definition: 'waymore.export', …). Pending and
-- running jobs are taken by whichever process's runner claims the lease; a failed one
-- waits to be resumed. The runner renews `leased_until` while it works, and every write
-- checks that it still holds the lease (fencing).
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,
    state        job_state NOT NULL DEFAULT 'pending',
    part_size    integer NOT NULL CHECK (part_size > 0),
    last_error   text,
    lease_token  uuid,
    leased_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- One unfinished job of a kind at a time.
CREATE UNIQUE INDEX jobs_one_unfinished_idx ON jobs (kind)
    WHERE state IN ('pending', 'running', 'failed');
CREATE TRIGGER jobs_touch_updated_at BEFORE UPDATE ON jobs
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- Where a job stands in each stage, in the order they run: ids up to `upper_id` (its bound
-- when the job was created), `last_id` the contiguous position acknowledged so far.
CREATE TABLE job_stages (
    job_id   bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    stage    text NOT NULL,
    position smallint NOT NULL,
    upper_id bigint NOT NULL,
    total    bigint NOT NULL,
    last_id  bigint NOT NULL DEFAULT 0,
    sent     bigint NOT NULL DEFAULT 0,
    done     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (job_id, stage),
    UNIQUE (job_id, position)
);

-- Parts acknowledged beyond a stage's contiguous position: parts run in parallel and may
-- be acknowledged out of order. On resume these ranges are skipped, so nothing acknowledged
-- is sent again and nothing is skipped. Rows at or below the position are deleted as it
-- advances.
CREATE TABLE job_parts (
    job_id   bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    stage    text NOT NULL,
    after_id bigint NOT NULL,
    last_id  bigint NOT NULL,
    count    bigint NOT NULL,
    PRIMARY KEY (job_id, stage, after_id)
);

-- The Waymore exports become jobs, with their ids, progress and acknowledged parts.
INSERT INTO jobs (id, kind, state, part_size, last_error, lease_token, leased_until,
                  created_at, started_at, finished_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, 'waymore.export', state::text::job_state, batch_size, last_error, lease_token,
       leased_until, created_at, started_at, finished_at, updated_at
FROM waymore_exports;
SELECT setval(pg_get_serial_sequence('jobs', 'id'), max(id)) FROM jobs HAVING count(*) > 0;
INSERT INTO job_stages (job_id, stage, position, upper_id, total, last_id, sent, done)
SELECT export_id, entity, position, upper_id, total, last_id, sent, done
FROM waymore_export_progress;
INSERT INTO job_parts (job_id, stage, after_id, last_id, count)
SELECT export_id, entity, after_id, last_id, count FROM waymore_export_parts;

DROP TABLE waymore_export_parts;
DROP TABLE waymore_export_progress;
DROP TABLE waymore_exports;
DROP TYPE waymore_export_state;
