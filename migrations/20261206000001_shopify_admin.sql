-- Shopify both ways: what shopbridge knows of the store it is connected to through the
-- Admin API, the webhooks the integration's switches leave unapplied, and the tracking
-- number each shipment's fulfillment has in Shopify.

-- The store the Shopify integration's Admin API token opened (one row while connected):
-- its name and myshopify domain as `shop` answered, the webhook subscriptions shopbridge
-- registered there (topic → subscription id), the order history's lower date, and how many
-- orders and products the store counted when connected (the imports' totals).
CREATE TABLE shopify_store (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    store_url     text NOT NULL,
    name          text NOT NULL,
    domain        text NOT NULL,
    subscriptions jsonb NOT NULL DEFAULT '{}',
    orders_since  timestamptz,
    orders_total  bigint NOT NULL DEFAULT 0,
    products_total bigint NOT NULL DEFAULT 0,
    connected_at  timestamptz NOT NULL DEFAULT now()
);

-- Stored and never applied: the integration's switch for its topic (`autoImportOrders`,
-- `syncProducts`) was off when it came. Reprocessing one applies it.
ALTER TYPE shopify_webhook_state ADD VALUE 'ignored';

-- The tracking number Shopify's fulfillment of the shipment has, as last known: written
-- when a fulfillment webhook is applied and when pushTracking has sent one. A shipment of
-- a Shopify order whose tracking number differs from it is pushed. Not watched by the
-- shipment triggers, so writing it makes no event.
ALTER TABLE shipments ADD COLUMN shopify_tracking_number text;
