-- One shop event log for every integration.
--
-- Triggers on the shop tables record *domain events* (`order.created`, `product.stock_changed`,
-- ...) into `events`, in the same transaction as the change, with a payload showing the
-- committed state. Each destination (Waymore, a webhook, ...) says which event names it takes;
-- recording an event also creates one row in `deliveries` per destination that takes it, and
-- NOTIFYs `shop_events`. Delivery workers claim deliveries with short leases, send them, and
-- record every attempt in `delivery_attempts`. Nothing is recorded while no destination wants
-- the event.
--
-- This replaces the Waymore-only outbox: its undelivered rows are carried over below.

CREATE TABLE destinations (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    kind                 text NOT NULL CHECK (kind IN ('waymore', 'webhook')),
    -- Event names it takes: exact names, `prefix.*` or `*`.
    events               text[] NOT NULL,
    -- How to reach it: Waymore {"uuid", "cart_url"}; webhook {"url", "secret"}.
    config               jsonb NOT NULL DEFAULT '{}',
    enabled              boolean NOT NULL DEFAULT true,
    -- Held: nothing more is sent until released (a disconnect waits for what is in flight).
    held                 boolean NOT NULL DEFAULT false,
    -- Circuit breaker shared by every process: after a transient failure nothing is sent
    -- until `paused_until`; then one probe at a time until a delivery succeeds.
    consecutive_failures integer NOT NULL DEFAULT 0,
    paused_until         timestamptz,
    last_error           text,
    last_error_at        timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER destinations_touch_updated_at BEFORE UPDATE ON destinations
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    text NOT NULL,
    -- One ordering key's events reach a destination in commit order ('order:12', 'cart:5').
    ordering_key text NOT NULL,
    payload      jsonb NOT NULL,
    -- 'shop' for the triggers; an integration's name for events that arrive from outside.
    source       text NOT NULL DEFAULT 'shop',
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- "Did this transaction already record this event for this entity?"
CREATE INDEX events_txid_idx ON events (txid, entity_id);
CREATE INDEX events_entity_idx ON events (entity_type, entity_id, id);
CREATE INDEX events_occurred_at_idx ON events USING brin (occurred_at);

CREATE TYPE delivery_state AS ENUM ('pending', 'delivered', 'failed', 'canceled');

CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    destination_id  bigint NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    ordering_key    text NOT NULL,
    state           delivery_state NOT NULL DEFAULT 'pending',
    -- The head of its ordering key's queue: nothing earlier of the key is open. Only ready
    -- deliveries are looked at when claiming, so a backlog queued behind its heads costs
    -- nothing to skip. Set on insert, and on the next delivery when the head is delivered.
    ready           boolean NOT NULL DEFAULT false,
    -- The inserting transaction. Its check of the queue may have raced with the head being
    -- delivered; workers re-check the deliveries of transactions that were not yet visible
    -- at their previous round.
    txid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- A worker holds a delivery while it sends it; an expired lease (its process died) lets
    -- another worker take it. Outcomes are written only by the lease's holder.
    lease_token     uuid,
    leased_until    timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX deliveries_pending_idx ON deliveries (destination_id, event_id) WHERE state = 'pending';
CREATE INDEX deliveries_ready_idx ON deliveries (destination_id, event_id) WHERE state = 'pending' AND ready;
CREATE INDEX deliveries_unready_idx ON deliveries (txid) WHERE state = 'pending' AND NOT ready;
-- Open deliveries hold back the later events of their ordering key.
CREATE INDEX deliveries_open_key_idx ON deliveries (destination_id, ordering_key, event_id)
    WHERE state IN ('pending', 'failed');
CREATE INDEX deliveries_event_idx ON deliveries (event_id);
CREATE INDEX deliveries_failed_idx ON deliveries (destination_id, event_id) WHERE state = 'failed';
CREATE INDEX deliveries_delivered_idx ON deliveries (destination_id) WHERE state = 'delivered';

CREATE TABLE delivery_attempts (
    delivery_id  bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    delivered    boolean NOT NULL,
    status       integer,
    error        text
);
CREATE INDEX delivery_attempts_delivery_id_idx ON delivery_attempts (delivery_id);

-- Recording ---------------------------------------------------------------------------------

-- Does a destination taking `events` take `p_name`? Exact names, `prefix.*`, or `*`.
CREATE FUNCTION destination_takes(p_events text[], p_name text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_name = ANY (p_events) OR EXISTS (
        SELECT 1 FROM unnest(p_events) p
        WHERE p = '*' OR (p LIKE '%.*' AND starts_with(p_name, left(p, -1))))
$$;

-- Cheap guard for the triggers: does any enabled destination want this event?
CREATE FUNCTION event_wanted(p_name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM destinations WHERE enabled AND destination_takes(events, p_name))
$$;

-- True when this transaction already recorded `p_name` for this entity.
CREATE FUNCTION event_recorded(p_name text, p_entity_type text, p_entity_id text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM events
                   WHERE txid = pg_current_xact_id() AND entity_id = p_entity_id
                     AND entity_type = p_entity_type AND name = p_name)
$$;

-- Is a delivery of this ordering key still open for the destination (the new one queues
-- behind it)? Takes no lock: a head finishing meanwhile is caught by the workers'
-- re-check of recent deliveries (see `txid`).
CREATE FUNCTION delivery_queued(p_destination bigint, p_key text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM deliveries
                   WHERE destination_id = p_destination AND ordering_key = p_key
                     AND state IN ('pending', 'failed'))
$$;

-- Records one event with a delivery for every enabled destination that takes it, and
-- announces it. Nothing when no destination wants it, or when `p_once` and this transaction
-- already recorded it for the entity (five item changes make one cart.updated). The event id.
CREATE FUNCTION record_event(p_name text, p_entity_type text, p_entity_id text,
                             p_ordering_key text, p_payload jsonb,
                             p_once boolean DEFAULT false, p_source text DEFAULT 'shop')
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_once AND event_recorded(p_name, p_entity_type, p_entity_id) THEN
        RETURN NULL;
    END IF;
    WITH destination AS (
        SELECT id FROM destinations WHERE enabled AND destination_takes(events, p_name)
    ), event AS (
        INSERT INTO events (name, entity_type, entity_id, ordering_key, payload, source)
        SELECT p_name, p_entity_type, p_entity_id, p_ordering_key, p_payload, p_source
        WHERE EXISTS (SELECT 1 FROM destination)
        RETURNING id
    ), delivery AS (
        INSERT INTO deliveries (event_id, destination_id, ordering_key, ready)
        SELECT event.id, d.id, p_ordering_key, NOT delivery_queued(d.id, p_ordering_key)
        FROM event, destination d
    )
    SELECT id INTO v_id FROM event;
    IF v_id IS NOT NULL THEN
        PERFORM pg_notify('shop_events', '');
    END IF;
    RETURN v_id;
END
$$;

-- Timestamps in payloads: UTC, second precision, whatever the writer's TimeZone.
CREATE FUNCTION event_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- Payloads: the entity as committed ---------------------------------------------------------

-- customer.created / customer.updated: the customer with its addresses, default first.
CREATE FUNCTION customer_snapshot(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'customer', jsonb_build_object(
            'id', c.id, 'email', c.email, 'firstname', c.firstname, 'lastname', c.lastname,
            'phone', c.phone, 'birthday', c.birthday,
            'created_at', event_time(c.created_at), 'updated_at', event_time(c.updated_at)),
        'addresses', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', a.id, 'is_default', a.is_default, 'company', a.company,
                       'address1', a.address1, 'address2', a.address2, 'city', a.city,
                       'province', a.province, 'postcode', a.postcode, 'country', a.country,
                       'phone', a.phone) ORDER BY a.is_default DESC, a.id)
            FROM customer_addresses a WHERE a.customer_id = c.id), '[]'))
    FROM customers c WHERE c.id = p_id
$$;

-- A discount in payloads: {"price", "date_start", "date_end", "min_quantity"}.
CREATE FUNCTION discount_snapshot(d discounts) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object('price', d.price, 'date_start', event_time(d.date_start),
                              'date_end', event_time(d.date_end), 'min_quantity', d.min_quantity)
$$;

-- product.created / product.updated: the product with categories, its current discount and
-- its options (each with its own price, null when it has the product's, and discount).
CREATE FUNCTION product_snapshot(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'product', jsonb_build_object(
            'id', p.id, 'sku', p.sku, 'name', p.name, 'description', p.description,
            'short_description', p.short_description, 'brand', b.name, 'price', p.price,
            'stock_quantity', p.stock_quantity, 'image_url', p.image_url, 'url', p.url,
            'active', p.active),
        'categories', coalesce((
            SELECT jsonb_agg(c.name ORDER BY c.name)
            FROM product_categories pc JOIN categories c ON c.id = pc.category_id
            WHERE pc.product_id = p.id), '[]'),
        'discount', (
            SELECT discount_snapshot(d) FROM discounts d
            WHERE d.product_id = p.id AND d.option_id IS NULL
              AND (d.date_end IS NULL OR d.date_end > now())
            ORDER BY d.id DESC LIMIT 1),
        'options', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', o.id, 'sku', o.sku, 'size', o.size, 'color', o.color,
                       'stock_quantity', o.stock_quantity, 'price', o.price,
                       'discount', (
                           SELECT discount_snapshot(d) FROM discounts d
                           WHERE d.option_id = o.id AND (d.date_end IS NULL OR d.date_end > now())
                           ORDER BY d.id DESC LIMIT 1)) ORDER BY o.id)
            FROM product_options o WHERE o.product_id = p.id), '[]'))
    FROM products p LEFT JOIN brands b ON b.id = p.brand_id
    WHERE p.id = p_id
$$;

-- order.created: the order with its status label, delivery details, buyer (null for a
-- guest), the buyer's newsletter state and its items.
CREATE FUNCTION order_snapshot(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'order', jsonb_build_object(
            'id', o.id, 'reference', o.reference, 'status', o.status,
            'status_label', coalesce(s.label, o.status), 'customer_id', o.customer_id,
            'customer_email', o.customer_email, 'payment_state', o.payment_state,
            'payment_method', o.payment_method, 'shipping_method', o.shipping_method,
            'currency', o.currency, 'total', o.total, 'created_at', event_time(o.created_at),
            'delivery', jsonb_build_object(
                'firstname', o.delivery_firstname, 'lastname', o.delivery_lastname,
                'company', o.delivery_company, 'address1', o.delivery_address1,
                'address2', o.delivery_address2, 'city', o.delivery_city,
                'province', o.delivery_province, 'postcode', o.delivery_postcode,
                'country', o.delivery_country, 'phone', o.delivery_phone)),
        'customer', CASE WHEN c.id IS NOT NULL THEN jsonb_build_object(
            'id', c.id, 'email', c.email, 'firstname', c.firstname, 'lastname', c.lastname,
            'phone', c.phone, 'birthday', c.birthday) END,
        'newsletter', coalesce((SELECT ns.subscribed FROM newsletter_subscriptions ns
                                WHERE lower(ns.email) = lower(o.customer_email) LIMIT 1), false),
        'items', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', i.id, 'product_id', i.product_id, 'option_id', i.option_id,
                       'sku', i.sku, 'name', i.name, 'quantity', i.quantity, 'price', i.price)
                   ORDER BY i.id)
            FROM order_items i WHERE i.order_id = o.id), '[]'))
    FROM orders o
    LEFT JOIN customers c ON c.id = o.customer_id
    LEFT JOIN order_statuses s ON s.code = o.status
    WHERE o.id = p_id
$$;

-- shipment.created / shipment.updated: the shipment and its lines.
CREATE FUNCTION shipment_snapshot(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'shipment', jsonb_build_object(
            'id', s.id, 'order_id', s.order_id, 'status', s.status, 'carrier', s.carrier,
            'tracking_number', s.tracking_number, 'tracking_url', s.tracking_url,
            'shipped_at', event_time(s.shipped_at), 'delivered_at', event_time(s.delivered_at)),
        'items', coalesce((
            SELECT jsonb_agg(jsonb_build_object('order_item_id', si.order_item_id,
                                                'quantity', si.quantity) ORDER BY si.order_item_id)
            FROM shipment_items si WHERE si.shipment_id = s.id), '[]'))
    FROM shipments s WHERE s.id = p_id
$$;

-- The Waymore triggers give way to the event triggers -----------------------------------------

DROP TRIGGER waymore_customer_add ON customers;
DROP TRIGGER waymore_customer_update ON customers;
DROP TRIGGER waymore_customer_address_change ON customer_addresses;
DROP TRIGGER waymore_cart_update ON cart_items;
DROP TRIGGER waymore_product_add ON products;
DROP TRIGGER waymore_product_update ON products;
DROP TRIGGER waymore_product_stock ON products;
DROP TRIGGER waymore_option_stock ON product_options;
DROP TRIGGER waymore_order_add ON orders;
DROP TRIGGER waymore_order_update ON orders;
DROP TRIGGER waymore_wishlist ON wishlist_items;
DROP TRIGGER waymore_newsletter_insert ON newsletter_subscriptions;
DROP TRIGGER waymore_newsletter_update ON newsletter_subscriptions;
DROP TRIGGER waymore_search ON search_queries;
DROP FUNCTION waymore_customer_added(), waymore_customer_changed(), waymore_cart_changed(),
    waymore_product_changed(), waymore_stock_changed(), waymore_order_added(),
    waymore_order_changed(), waymore_wishlist_changed(), waymore_newsletter_changed(),
    waymore_search_recorded(), waymore_enqueue(text, text, json, boolean),
    waymore_queued(text, text), waymore_connected(), waymore_customer_json(bigint),
    waymore_order_json(bigint);

-- Event triggers ------------------------------------------------------------------------------
-- Payloads that include other rows (an order's items, a customer's addresses, a cart's lines,
-- a product's options) are built by constraint triggers deferred to commit, so they show what
-- the transaction committed; events that must come after those (status, payment, stock) are
-- deferred too, so one entity's events are recorded in the order of its changes.

-- customer.created: a customer inserted (with the addresses inserted in the same transaction).
CREATE FUNCTION customer_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF event_wanted('customer.created') AND EXISTS (SELECT 1 FROM customers WHERE id = NEW.id) THEN
        PERFORM record_event('customer.created', 'customer', NEW.id::text, 'customer:' || NEW.id,
                             customer_snapshot(NEW.id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER customer_created AFTER INSERT ON customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION customer_created();

-- customer.updated: the customer's own fields or its addresses changed. Once per
-- transaction, and not for a customer created in it.
CREATE FUNCTION customer_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    -- Separate statements: a field reference is only evaluated for the table that has it.
    IF TG_TABLE_NAME = 'customers' THEN
        v_id := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        v_id := OLD.customer_id;
    ELSE
        v_id := NEW.customer_id;
    END IF;
    IF event_wanted('customer.updated')
       AND EXISTS (SELECT 1 FROM customers WHERE id = v_id)
       AND NOT event_recorded('customer.created', 'customer', v_id::text) THEN
        PERFORM record_event('customer.updated', 'customer', v_id::text, 'customer:' || v_id,
                             customer_snapshot(v_id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER customer_updated AFTER UPDATE ON customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.email, OLD.firstname, OLD.lastname, OLD.phone, OLD.birthday)
          IS DISTINCT FROM (NEW.email, NEW.firstname, NEW.lastname, NEW.phone, NEW.birthday))
    EXECUTE FUNCTION customer_updated();
CREATE CONSTRAINT TRIGGER customer_address_changed AFTER INSERT OR UPDATE OR DELETE ON customer_addresses
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION customer_updated();

-- cart.updated: a cart's lines inserted, changed or deleted; the cart as committed (no items
-- when the last line went). Once per cart and transaction; nothing for a deleted cart.
CREATE FUNCTION cart_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_cart bigint := CASE TG_OP WHEN 'DELETE' THEN OLD.cart_id ELSE NEW.cart_id END;
    v_payload jsonb;
BEGIN
    IF NOT event_wanted('cart.updated') OR event_recorded('cart.updated', 'cart', v_cart::text) THEN
        RETURN NULL;
    END IF;
    SELECT jsonb_build_object(
               'cart', jsonb_build_object('id', ca.id, 'customer_id', ca.customer_id),
               'items', coalesce((
                   SELECT jsonb_agg(jsonb_build_object(
                              'id', ci.id, 'product_id', ci.product_id,
                              'option_id', ci.option_id, 'quantity', ci.quantity) ORDER BY ci.id)
                   FROM cart_items ci WHERE ci.cart_id = ca.id), '[]'))
    INTO v_payload
    FROM carts ca WHERE ca.id = v_cart;
    IF v_payload IS NOT NULL THEN
        PERFORM record_event('cart.updated', 'cart', v_cart::text, 'cart:' || v_cart, v_payload, true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER cart_updated AFTER INSERT OR UPDATE OR DELETE ON cart_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION cart_updated();

-- product.created: a product inserted, with the options inserted in the same transaction.
-- product.updated: its own fields changed (stock alone is product.stock_changed). Once per
-- transaction, and not for a product created in it.
CREATE FUNCTION product_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := CASE TG_OP WHEN 'INSERT' THEN 'product.created' ELSE 'product.updated' END;
BEGIN
    IF event_wanted(v_name)
       AND EXISTS (SELECT 1 FROM products WHERE id = NEW.id)
       AND NOT event_recorded('product.created', 'product', NEW.id::text) THEN
        PERFORM record_event(v_name, 'product', NEW.id::text, 'product:' || NEW.id,
                             product_snapshot(NEW.id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER product_created AFTER INSERT ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION product_changed();
CREATE CONSTRAINT TRIGGER product_updated AFTER UPDATE ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.sku, OLD.name, OLD.description, OLD.short_description, OLD.brand_id, OLD.price,
           OLD.image_url, OLD.url, OLD.active)
          IS DISTINCT FROM
          (NEW.sku, NEW.name, NEW.description, NEW.short_description, NEW.brand_id, NEW.price,
           NEW.image_url, NEW.url, NEW.active))
    EXECUTE FUNCTION product_changed();

-- product.stock_changed: the stock of a product or of one of its options changed
-- (`option_id` null for the product's own stock). product.out_of_stock: that stock went from
-- above 0 to 0 or below.
CREATE FUNCTION product_stock_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_product bigint;
    v_option bigint;
BEGIN
    -- Separate statements: a field reference is only evaluated for the table that has it.
    IF TG_TABLE_NAME = 'products' THEN
        v_product := NEW.id;
    ELSE
        v_product := NEW.product_id;
        v_option := NEW.id;
    END IF;
    PERFORM record_event('product.stock_changed', 'product', v_product::text, 'product:' || v_product,
        jsonb_build_object('product_id', v_product, 'option_id', v_option,
                           'stock_quantity', NEW.stock_quantity,
                           'previous_stock_quantity', OLD.stock_quantity));
    IF OLD.stock_quantity > 0 AND NEW.stock_quantity <= 0 THEN
        PERFORM record_event('product.out_of_stock', 'product', v_product::text, 'product:' || v_product,
            jsonb_build_object('product_id', v_product, 'option_id', v_option));
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER product_stock_changed AFTER UPDATE OF stock_quantity ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity)
    EXECUTE FUNCTION product_stock_changed();
CREATE CONSTRAINT TRIGGER option_stock_changed AFTER UPDATE OF stock_quantity ON product_options
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity)
    EXECUTE FUNCTION product_stock_changed();

-- order.created: an order inserted, with the items inserted in the same transaction; followed
-- by order.payment_confirmed when it was placed already paid.
CREATE FUNCTION order_created() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_order orders;
BEGIN
    SELECT * INTO v_order FROM orders WHERE id = NEW.id;
    IF v_order.id IS NULL THEN
        RETURN NULL;
    END IF;
    IF event_wanted('order.created') THEN
        PERFORM record_event('order.created', 'order', NEW.id::text, 'order:' || NEW.id,
                             order_snapshot(NEW.id), true);
    END IF;
    IF v_order.payment_state = 'confirmed' THEN
        PERFORM record_event('order.payment_confirmed', 'order', NEW.id::text, 'order:' || NEW.id,
            jsonb_build_object('order_id', v_order.id, 'customer_id', v_order.customer_id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER order_created AFTER INSERT ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_created();

-- order.status_changed / order.payment_confirmed, not for an order created in the same
-- transaction (order.created carries its state).
CREATE FUNCTION order_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := 'order:' || NEW.id;
BEGIN
    IF event_recorded('order.created', 'order', NEW.id::text) THEN
        RETURN NULL;
    END IF;
    IF OLD.status IS DISTINCT FROM NEW.status THEN
        PERFORM record_event('order.status_changed', 'order', NEW.id::text, v_key, jsonb_build_object(
            'order_id', NEW.id, 'customer_id', NEW.customer_id, 'status', NEW.status,
            'status_label', coalesce((SELECT label FROM order_statuses WHERE code = NEW.status), NEW.status),
            'previous_status', OLD.status));
    END IF;
    IF NEW.payment_state = 'confirmed' AND OLD.payment_state IS DISTINCT FROM 'confirmed' THEN
        PERFORM record_event('order.payment_confirmed', 'order', NEW.id::text, v_key,
            jsonb_build_object('order_id', NEW.id, 'customer_id', NEW.customer_id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER order_changed AFTER UPDATE OF status, payment_state ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.payment_state IS DISTINCT FROM NEW.payment_state)
    EXECUTE FUNCTION order_changed();

-- shipment.created: a shipment inserted (with its lines). shipment.updated: its status,
-- carrier or tracking changed; not for one created in the same transaction. Ordered with
-- the order's events, so a shipment never arrives before its order.
CREATE FUNCTION shipment_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_name text := CASE TG_OP WHEN 'INSERT' THEN 'shipment.created' ELSE 'shipment.updated' END;
BEGIN
    IF event_wanted(v_name)
       AND EXISTS (SELECT 1 FROM shipments WHERE id = NEW.id)
       AND NOT event_recorded('shipment.created', 'shipment', NEW.id::text) THEN
        PERFORM record_event(v_name, 'shipment', NEW.id::text, 'order:' || NEW.order_id,
                             shipment_snapshot(NEW.id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER shipment_created AFTER INSERT ON shipments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shipment_changed();
CREATE CONSTRAINT TRIGGER shipment_updated AFTER UPDATE ON shipments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.status, OLD.carrier, OLD.tracking_number, OLD.tracking_url)
          IS DISTINCT FROM (NEW.status, NEW.carrier, NEW.tracking_number, NEW.tracking_url))
    EXECUTE FUNCTION shipment_changed();

-- wishlist.added / wishlist.removed: a wishlist line inserted / deleted.
CREATE FUNCTION wishlist_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_row wishlist_items := CASE TG_OP WHEN 'INSERT' THEN NEW ELSE OLD END;
    v_key text := v_row.customer_id || ':' || v_row.product_id;
BEGIN
    PERFORM record_event(CASE TG_OP WHEN 'INSERT' THEN 'wishlist.added' ELSE 'wishlist.removed' END,
        'wishlist_item', v_key, 'wishlist:' || v_key,
        jsonb_build_object('customer_id', v_row.customer_id, 'product_id', v_row.product_id));
    RETURN NULL;
END
$$;
CREATE TRIGGER wishlist_changed AFTER INSERT OR DELETE ON wishlist_items
    FOR EACH ROW EXECUTE FUNCTION wishlist_changed();

-- newsletter.changed: a subscription created, or its state changed (guests included).
CREATE FUNCTION newsletter_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM record_event('newsletter.changed', 'newsletter_subscription', lower(NEW.email),
        'newsletter:' || lower(NEW.email),
        jsonb_build_object('email', NEW.email, 'customer_id', NEW.customer_id,
                           'subscribed', NEW.subscribed));
    RETURN NULL;
END
$$;
CREATE TRIGGER newsletter_created AFTER INSERT ON newsletter_subscriptions
    FOR EACH ROW EXECUTE FUNCTION newsletter_changed();
CREATE TRIGGER newsletter_changed AFTER UPDATE OF subscribed ON newsletter_subscriptions
    FOR EACH ROW WHEN (OLD.subscribed IS DISTINCT FROM NEW.subscribed)
    EXECUTE FUNCTION newsletter_changed();

-- search.recorded: a search query recorded.
CREATE FUNCTION search_recorded() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM record_event('search.recorded', 'search', NEW.id::text, 'search:' || NEW.id,
        jsonb_build_object('id', NEW.id, 'customer_id', NEW.customer_id, 'query', NEW.query,
                           'results_count', NEW.results_count));
    RETURN NULL;
END
$$;
CREATE TRIGGER search_recorded AFTER INSERT ON search_queries
    FOR EACH ROW EXECUTE FUNCTION search_recorded();

-- Waymore becomes a destination ---------------------------------------------------------------

-- The Waymore destination follows the shop's Waymore connection: connecting enables it with
-- the account's UUID, disconnecting disables it and forgets the UUID.
CREATE FUNCTION waymore_destination_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE destinations SET enabled = false, held = false, config = '{}' WHERE name = 'waymore';
    ELSE
        UPDATE destinations
        SET enabled = true, held = false, consecutive_failures = 0, paused_until = NULL,
            config = jsonb_build_object('uuid', NEW.uuid, 'cart_url', NEW.cart_url)
        WHERE name = 'waymore';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER waymore_destination_sync AFTER INSERT OR UPDATE OR DELETE ON waymore_connection
    FOR EACH ROW EXECUTE FUNCTION waymore_destination_sync();

INSERT INTO destinations (name, kind, events, enabled, config)
SELECT 'waymore', 'waymore',
       ARRAY['customer.created', 'customer.updated', 'cart.updated', 'product.created',
             'product.updated', 'product.stock_changed', 'product.out_of_stock',
             'order.created', 'order.status_changed', 'order.payment_confirmed',
             'wishlist.added', 'wishlist.removed', 'newsletter.changed', 'search.recorded'],
       c.uuid IS NOT NULL,
       CASE WHEN c.uuid IS NOT NULL
            THEN jsonb_build_object('uuid', c.uuid, 'cart_url', c.cart_url) ELSE '{}' END
FROM (SELECT 1) one LEFT JOIN waymore_connection c ON true;

-- The old outbox's undelivered events, already in Waymore's shape, go out as they are.
WITH legacy AS (
    INSERT INTO events (name, entity_type, entity_id, ordering_key, payload, source, occurred_at)
    SELECT 'waymore.legacy', 'waymore_outbox', o.id::text, o.entity_key,
           jsonb_build_object('event', o.event, 'data', o.data::jsonb), 'waymore', o.created_at
    FROM waymore_outbox o WHERE o.state <> 'delivered'
    ORDER BY o.id
    RETURNING id, ordering_key, entity_id
)
INSERT INTO deliveries (event_id, destination_id, ordering_key, state, attempts, last_error)
SELECT l.id, d.id, l.ordering_key, o.state::text::delivery_state, o.attempts, o.last_error
FROM legacy l
JOIN waymore_outbox o ON o.id = l.entity_id::bigint
JOIN destinations d ON d.name = 'waymore';
UPDATE deliveries d SET ready = true
WHERE d.state = 'pending' AND NOT EXISTS (
    SELECT 1 FROM deliveries e
    WHERE e.destination_id = d.destination_id AND e.ordering_key = d.ordering_key
      AND e.state IN ('pending', 'failed') AND e.event_id < d.event_id);

DROP TABLE waymore_event_attempts;
DROP TABLE waymore_outbox;
DROP TYPE waymore_event_state;
