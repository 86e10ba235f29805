-- Rfmcube pull webservice support.

-- Secrets the service generates for itself, shared by every serve process on this database
-- (for instance the key that signs Rfmcube paging cursors).
CREATE TABLE service_secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The contract's wire format for instants: UTC, second precision, `Z`
-- (2019-01-19T13:06:39Z), whatever the session's TimeZone.
CREATE FUNCTION utc_iso8601(timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
