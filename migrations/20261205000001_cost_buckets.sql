-- A partner's budget of query cost (a leaky bucket, as Shopify's GraphQL Admin API keeps one
-- per app and shop), shared by every process: `available` points as of `at`, refilled at
-- `restore_rate` a second up to `maximum`. A request takes its cost at once, into debt if
-- need be, and waits until the debt is refilled: requests go in the order they asked, and
-- never past what the partner allows. After each answer the partner's own count corrects it
-- (the cost not used is given back; a lower balance than ours is believed).
CREATE TABLE cost_buckets (
    key          text PRIMARY KEY,
    maximum      float8 NOT NULL CHECK (maximum > 0),
    restore_rate float8 NOT NULL CHECK (restore_rate > 0),
    available    float8 NOT NULL,
    at           timestamptz NOT NULL
);
