-- Shopify webhook intake (seed 003). Shopify POSTs orders, fulfillments and products; each
-- verified webhook is stored in `shopify_webhooks` before it is answered, then a background
-- worker applies it to the shop tables, where the existing triggers turn it into shop events.

-- Every row that came from Shopify keeps its Shopify id. Shopify ids exceed 2^53, so they
-- are bigint end to end, never a float. `shopify_updated_at` is the version last applied:
-- an older webhook for the same object never overwrites a newer one.
ALTER TABLE customers ADD COLUMN shopify_id bigint;
CREATE INDEX customers_shopify_id_idx ON customers (shopify_id);

ALTER TABLE orders
    ADD COLUMN shopify_id         bigint UNIQUE,
    ADD COLUMN shopify_updated_at timestamptz,
    -- The order's other totals, as the shop platform reports them (NULL when unknown).
    ADD COLUMN subtotal           numeric(12, 2),
    ADD COLUMN discount_total     numeric(12, 2),
    ADD COLUMN shipping_total     numeric(12, 2),
    ADD COLUMN tax_total          numeric(12, 2);

ALTER TABLE order_items ADD COLUMN shopify_id bigint UNIQUE;

ALTER TABLE shipments
    ADD COLUMN shopify_id         bigint UNIQUE,
    ADD COLUMN shopify_updated_at timestamptz;

ALTER TABLE products
    ADD COLUMN shopify_id         bigint UNIQUE,
    ADD COLUMN shopify_updated_at timestamptz;

ALTER TABLE product_options ADD COLUMN shopify_id bigint UNIQUE;

-- The top-level category called `p_name`, created when missing. Category names are not
-- unique in the shop schema, so concurrent creators of one name take turns on a lock.
CREATE FUNCTION category_named(p_name text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shopbridge.category'), hashtext(p_name));
    SELECT id INTO v_id FROM categories WHERE name = p_name AND parent_id IS NULL
    ORDER BY id LIMIT 1;
    IF v_id IS NULL THEN
        INSERT INTO categories (name) VALUES (p_name) RETURNING id INTO v_id;
    END IF;
    RETURN v_id;
END
$$;

CREATE TYPE shopify_webhook_state AS ENUM ('pending', 'applied', 'failed');

-- The inbox: every verified webhook, as received, and what applying it did.
CREATE TABLE shopify_webhooks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- X-Shopify-Webhook-Id: Shopify's retries repeat it, so a second copy is not stored.
    webhook_id        text NOT NULL UNIQUE,
    topic             text NOT NULL,
    shop_domain       text,
    triggered_at      timestamptz,
    api_version       text,
    -- The body exactly as received and verified.
    body              text NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    state             shopify_webhook_state NOT NULL DEFAULT 'pending',
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    -- A fulfillment whose order has not arrived waits for that order's Shopify id; applying
    -- the order makes it due at once.
    waiting_for_order bigint,
    -- What applying did ("created order 12", "older than the stored version: skipped").
    outcome           text,
    last_error        text,
    applied_at        timestamptz
);
CREATE INDEX shopify_webhooks_due_idx ON shopify_webhooks (next_attempt_at, id)
    WHERE state = 'pending';
CREATE INDEX shopify_webhooks_waiting_idx ON shopify_webhooks (waiting_for_order)
    WHERE state = 'pending' AND waiting_for_order IS NOT NULL;
CREATE INDEX shopify_webhooks_failed_idx ON shopify_webhooks (id) WHERE state = 'failed';
CREATE INDEX shopify_webhooks_error_idx ON shopify_webhooks (id) WHERE last_error IS NOT NULL;
CREATE INDEX shopify_webhooks_received_at_idx ON shopify_webhooks USING brin (received_at);
