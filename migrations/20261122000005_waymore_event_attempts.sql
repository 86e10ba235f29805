-- Every delivery attempt of a real-time event and its outcome (Waymore's status code or
-- the transport error), for diagnosing deliveries; pruned with the event.
CREATE TABLE waymore_event_attempts (
    event_id     bigint NOT NULL REFERENCES waymore_outbox (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    delivered    boolean NOT NULL,
    status       integer,
    error        text
);
CREATE INDEX waymore_event_attempts_event_id_idx ON waymore_event_attempts (event_id);
