-- Waymore real-time events: triggers on the shop tables write each event, with its payload
-- in seed 000's shape, into an outbox in the same transaction as the change, and NOTIFY
-- the dispatcher. Nothing is written while the shop is not connected to Waymore.

-- The cart page, sent in CartUpdate (set when connecting, from SHOP_URL).
ALTER TABLE waymore_connection ADD COLUMN cart_url text NOT NULL DEFAULT '';

CREATE TYPE waymore_event_state AS ENUM ('pending', 'delivered', 'failed');

CREATE TABLE waymore_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event           text NOT NULL,
    -- Events of one entity ('order:12', 'cart:5', ...) are delivered in order.
    entity_key      text NOT NULL,
    -- The account connected when the change committed.
    uuid            text NOT NULL,
    data            json NOT NULL,
    txid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    state           waymore_event_state NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX waymore_outbox_pending_idx ON waymore_outbox (id) WHERE state = 'pending';
CREATE INDEX waymore_outbox_pending_entity_idx ON waymore_outbox (entity_key, id) WHERE state = 'pending';
CREATE INDEX waymore_outbox_txid_idx ON waymore_outbox (txid, entity_key);
CREATE INDEX waymore_outbox_delivered_idx ON waymore_outbox (delivered_at) WHERE state = 'delivered';

-- Queues one event, unless the shop is not connected or `once` and this transaction already
-- queued the same event for the same entity (five item changes make one CartUpdate).
CREATE FUNCTION waymore_enqueue(p_event text, p_key text, p_data json, p_once boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_uuid text;
BEGIN
    SELECT uuid INTO v_uuid FROM waymore_connection;
    IF v_uuid IS NULL THEN
        RETURN;
    END IF;
    IF p_once AND waymore_queued(p_event, p_key) THEN
        RETURN;
    END IF;
    INSERT INTO waymore_outbox (event, entity_key, uuid, data) VALUES (p_event, p_key, v_uuid, p_data);
    PERFORM pg_notify('waymore_outbox', '');
END
$$;

-- True when this transaction already queued `p_event` for `p_key`.
CREATE FUNCTION waymore_queued(p_event text, p_key text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM waymore_outbox
                   WHERE txid = pg_current_xact_id() AND entity_key = p_key AND event = p_event)
$$;

-- Cheap guard for the triggers: is a Waymore account connected?
CREATE FUNCTION waymore_connected() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT 1 FROM waymore_connection) $$;

-- Payload builders ------------------------------------------------------------------------

-- CustomerAdd / CustomerUpdate data: the customer and its addresses.
CREATE FUNCTION waymore_customer_json(p_id bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'customer', json_build_object(
            'id', c.id::text,
            'lastname', coalesce(c.lastname, ''),
            'firstname', coalesce(c.firstname, ''),
            'birthday', coalesce(to_char(c.birthday, 'YYYY-MM-DD'), ''),
            'email', c.email,
            'phone', coalesce(c.phone, '')),
        'addresses', coalesce((
            SELECT json_agg(json_build_object(
                       'country', coalesce(a.country, ''),
                       'city', coalesce(a.city, ''),
                       'address1', a.address1,
                       'postcode', coalesce(a.postcode, ''),
                       'company', coalesce(a.company, '')) ORDER BY a.is_default DESC, a.id)
            FROM customer_addresses a WHERE a.customer_id = c.id), '[]'::json))
    FROM customers c WHERE c.id = p_id
$$;

-- ProductAdd / ProductUpdate data (also the mass export's product objects).
CREATE FUNCTION waymore_product_json(p_id bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'product_id', p.id::text,
        'name', p.name,
        'description', p.description,
        'short_description', p.short_description,
        'categories', coalesce((
            SELECT json_agg(c.name ORDER BY c.name)
            FROM product_categories pc JOIN categories c ON c.id = pc.category_id
            WHERE pc.product_id = p.id), '[]'::json),
        'stock_quantity', p.stock_quantity,
        'price', p.price,
        'discount', coalesce((
            SELECT waymore_discount(d) FROM discounts d
            WHERE d.product_id = p.id AND d.option_id IS NULL
              AND (d.date_end IS NULL OR d.date_end > now())
            ORDER BY d.id DESC LIMIT 1), '{}'::json),
        'image_link', coalesce(p.image_url, ''),
        'product_link', coalesce(p.url, ''),
        'product_options', coalesce((
            SELECT json_agg(json_build_object(
                       'option_id', o.id::text,
                       'size', o.size,
                       'color', o.color,
                       'stock_quantity', o.stock_quantity,
                       'price', coalesce(o.price, p.price),
                       'discount', coalesce((
                           SELECT waymore_discount(d) FROM discounts d
                           WHERE d.option_id = o.id AND (d.date_end IS NULL OR d.date_end > now())
                           ORDER BY d.id DESC LIMIT 1), '{}'::json)) ORDER BY o.id)
            FROM product_options o WHERE o.product_id = p.id), '[]'::json))
    FROM products p WHERE p.id = p_id
$$;

-- OrderAdd data: the order with its buyer and delivery details and its items as committed.
-- customer_id is a number here, as in Waymore's OrderAdd example; 0 for guests.
CREATE FUNCTION waymore_order_json(p_id bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'customer_id', coalesce(o.customer_id, 0),
        'order_details', json_build_object(
            'order_id', o.id::text,
            'order_status', coalesce(s.label, o.status),
            'shipping_method', coalesce(o.shipping_method, ''),
            'payment_method', coalesce(o.payment_method, ''),
            'total_price', o.total,
            'lastname', coalesce(c.lastname, o.delivery_lastname),
            'firstname', coalesce(c.firstname, o.delivery_firstname),
            'birthday', to_char(c.birthday, 'YYYY-MM-DD'),
            'email', o.customer_email,
            'company', o.delivery_company,
            'newsletter', coalesce((SELECT ns.subscribed FROM newsletter_subscriptions ns
                                    WHERE lower(ns.email) = lower(o.customer_email) LIMIT 1), false),
            'website', NULL,
            'address1', o.delivery_address1,
            'address2', o.delivery_address2,
            'postcode', o.delivery_postcode,
            'phone', coalesce(o.delivery_phone, c.phone),
            'phone_mobile', '',
            'city', o.delivery_city,
            'country', o.delivery_country),
        'order_products', coalesce((
            SELECT json_agg(json_build_object(
                       'product_id', i.product_id::text,
                       'quantity', i.quantity::text,
                       'option_id', i.option_id::text) ORDER BY i.id)
            FROM order_items i WHERE i.order_id = o.id), '[]'::json))
    FROM orders o
    LEFT JOIN customers c ON c.id = o.customer_id
    LEFT JOIN order_statuses s ON s.code = o.status
    WHERE o.id = p_id
$$;

-- Triggers --------------------------------------------------------------------------------
-- Payloads that include other rows (an order's items, a customer's addresses, a cart's
-- lines, a product's options) are built by constraint triggers deferred to commit, so they
-- show what the transaction committed; the others fire at once.

-- CustomerAdd: a customer inserted (with the addresses inserted in the same transaction).
CREATE FUNCTION waymore_customer_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF waymore_connected() AND EXISTS (SELECT 1 FROM customers WHERE id = NEW.id) THEN
        PERFORM waymore_enqueue('CustomerAdd', 'customer:' || NEW.id, waymore_customer_json(NEW.id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_customer_add AFTER INSERT ON customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION waymore_customer_added();

-- CustomerUpdate: the customer's own fields or its addresses changed. Once per transaction,
-- and not for a customer added in it.
CREATE FUNCTION waymore_customer_changed() RETURNS trigger
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
    IF waymore_connected()
       AND EXISTS (SELECT 1 FROM customers WHERE id = v_id)
       AND NOT waymore_queued('CustomerAdd', 'customer:' || v_id) THEN
        PERFORM waymore_enqueue('CustomerUpdate', 'customer:' || v_id, waymore_customer_json(v_id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_customer_update AFTER UPDATE ON customers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.email, OLD.firstname, OLD.lastname, OLD.phone, OLD.birthday)
          IS DISTINCT FROM (NEW.email, NEW.firstname, NEW.lastname, NEW.phone, NEW.birthday))
    EXECUTE FUNCTION waymore_customer_changed();
CREATE CONSTRAINT TRIGGER waymore_customer_address_change AFTER INSERT OR UPDATE OR DELETE ON customer_addresses
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION waymore_customer_changed();

-- CartUpdate: a cart's lines inserted, changed or deleted; the cart as committed (an empty
-- cart_products when the last line went). Once per cart and transaction.
CREATE FUNCTION waymore_cart_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_cart bigint;
    v_data json;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_cart := OLD.cart_id;
    ELSE
        v_cart := NEW.cart_id;
    END IF;
    IF NOT waymore_connected() OR waymore_queued('CartUpdate', 'cart:' || v_cart) THEN
        RETURN NULL;
    END IF;
    SELECT json_build_object(
               'customer_id', coalesce(ca.customer_id, 0)::text,
               'cart_products', coalesce((
                   SELECT json_agg(json_build_object(
                              'product_id', ci.product_id::text,
                              'option_id', ci.option_id::text,
                              'quantity', ci.quantity::text) ORDER BY ci.id)
                   FROM cart_items ci WHERE ci.cart_id = ca.id), '[]'::json),
               'cart_url', (SELECT cart_url FROM waymore_connection))
    INTO v_data
    FROM carts ca WHERE ca.id = v_cart;
    -- A deleted cart has no customer to tell.
    IF v_data IS NOT NULL THEN
        PERFORM waymore_enqueue('CartUpdate', 'cart:' || v_cart, v_data, true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_cart_update AFTER INSERT OR UPDATE OR DELETE ON cart_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION waymore_cart_changed();

-- ProductAdd: a product inserted, with the options inserted in the same transaction.
-- ProductUpdate: its own fields changed (stock alone is ProductStockUpdate). Once per
-- transaction, and not for a product added in it.
CREATE FUNCTION waymore_product_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_event text := CASE TG_OP WHEN 'INSERT' THEN 'ProductAdd' ELSE 'ProductUpdate' END;
BEGIN
    IF waymore_connected()
       AND EXISTS (SELECT 1 FROM products WHERE id = NEW.id)
       AND NOT waymore_queued('ProductAdd', 'product:' || NEW.id) THEN
        PERFORM waymore_enqueue(v_event, 'product:' || NEW.id, waymore_product_json(NEW.id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_product_add AFTER INSERT ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION waymore_product_changed();
CREATE CONSTRAINT TRIGGER waymore_product_update AFTER UPDATE ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.sku, OLD.name, OLD.description, OLD.short_description, OLD.brand_id, OLD.price,
           OLD.image_url, OLD.url, OLD.active)
          IS DISTINCT FROM
          (NEW.sku, NEW.name, NEW.description, NEW.short_description, NEW.brand_id, NEW.price,
           NEW.image_url, NEW.url, NEW.active))
    EXECUTE FUNCTION waymore_product_changed();

-- ProductStockUpdate: the stock of a product or of one of its options changed (option_id
-- present for an option). ProductOutOfStock: that stock went from above 0 to 0 or below.
-- Deferred like ProductAdd, so a product's events reach the outbox in the order of its
-- changes.
CREATE FUNCTION waymore_stock_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_product bigint;
    v_option text;
    v_data json;
BEGIN
    IF NOT waymore_connected() THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'products' THEN
        v_product := NEW.id;
    ELSE
        v_product := NEW.product_id;
        v_option := NEW.id::text;
    END IF;
    v_data := CASE WHEN v_option IS NULL
        THEN json_build_object('product_id', v_product::text, 'stock_quantity', NEW.stock_quantity)
        ELSE json_build_object('product_id', v_product::text, 'option_id', v_option,
                               'stock_quantity', NEW.stock_quantity) END;
    PERFORM waymore_enqueue('ProductStockUpdate', 'product:' || v_product, v_data);
    IF OLD.stock_quantity > 0 AND NEW.stock_quantity <= 0 THEN
        PERFORM waymore_enqueue('ProductOutOfStock', 'product:' || v_product,
            CASE WHEN v_option IS NULL THEN json_build_object('product_id', v_product::text)
                 ELSE json_build_object('product_id', v_product::text, 'option_id', v_option) END);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_product_stock AFTER UPDATE OF stock_quantity ON products
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity)
    EXECUTE FUNCTION waymore_stock_changed();
CREATE CONSTRAINT TRIGGER waymore_option_stock AFTER UPDATE OF stock_quantity ON product_options
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.stock_quantity IS DISTINCT FROM NEW.stock_quantity)
    EXECUTE FUNCTION waymore_stock_changed();

-- OrderAdd: an order inserted, with the items inserted in the same transaction; followed by
-- OrderPaymentConfirmed when it was placed already paid.
CREATE FUNCTION waymore_order_added() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_order orders;
BEGIN
    SELECT * INTO v_order FROM orders WHERE id = NEW.id;
    IF NOT waymore_connected() OR v_order.id IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM waymore_enqueue('OrderAdd', 'order:' || NEW.id, waymore_order_json(NEW.id), true);
    IF v_order.payment_state = 'confirmed' THEN
        PERFORM waymore_enqueue('OrderPaymentConfirmed', 'order:' || NEW.id,
            json_build_object('customer_id', coalesce(v_order.customer_id, 0)::text,
                              'order_id', v_order.id::text), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_order_add AFTER INSERT ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION waymore_order_added();

-- OrderStatusUpdate: the order's status changed. OrderPaymentConfirmed: its payment became
-- confirmed. Not for an order added in the same transaction (OrderAdd carries its state);
-- deferred like OrderAdd, so that is known and the order's events keep their order.
CREATE FUNCTION waymore_order_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := 'order:' || NEW.id;
    v_customer text := coalesce(NEW.customer_id, 0)::text;
BEGIN
    IF NOT waymore_connected() OR waymore_queued('OrderAdd', v_key) THEN
        RETURN NULL;
    END IF;
    IF OLD.status IS DISTINCT FROM NEW.status THEN
        PERFORM waymore_enqueue('OrderStatusUpdate', v_key, json_build_object(
            'customer_id', v_customer,
            'order_id', NEW.id::text,
            'order_status', coalesce((SELECT label FROM order_statuses WHERE code = NEW.status), NEW.status)));
    END IF;
    IF NEW.payment_state = 'confirmed' AND OLD.payment_state IS DISTINCT FROM 'confirmed' THEN
        PERFORM waymore_enqueue('OrderPaymentConfirmed', v_key,
            json_build_object('customer_id', v_customer, 'order_id', NEW.id::text), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER waymore_order_update AFTER UPDATE OF status, payment_state ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.payment_state IS DISTINCT FROM NEW.payment_state)
    EXECUTE FUNCTION waymore_order_changed();

-- WishlistAdd / WishlistDelete: a wishlist line inserted / deleted.
CREATE FUNCTION waymore_wishlist_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_row wishlist_items := CASE TG_OP WHEN 'INSERT' THEN NEW ELSE OLD END;
BEGIN
    IF waymore_connected() THEN
        PERFORM waymore_enqueue(
            CASE TG_OP WHEN 'INSERT' THEN 'WishlistAdd' ELSE 'WishlistDelete' END,
            'wishlist:' || v_row.customer_id || ':' || v_row.product_id,
            json_build_object('product_id', v_row.product_id::text, 'customer_id', v_row.customer_id::text));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER waymore_wishlist AFTER INSERT OR DELETE ON wishlist_items
    FOR EACH ROW EXECUTE FUNCTION waymore_wishlist_changed();

-- Newsletter: a subscription created, or its state changed (guests: customer_id "0").
CREATE FUNCTION waymore_newsletter_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF waymore_connected() THEN
        PERFORM waymore_enqueue('Newsletter', 'newsletter:' || lower(NEW.email), json_build_object(
            'customer_id', coalesce(NEW.customer_id, 0)::text,
            'email', NEW.email,
            'subscription', NEW.subscribed));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER waymore_newsletter_insert AFTER INSERT ON newsletter_subscriptions
    FOR EACH ROW EXECUTE FUNCTION waymore_newsletter_changed();
CREATE TRIGGER waymore_newsletter_update AFTER UPDATE OF subscribed ON newsletter_subscriptions
    FOR EACH ROW WHEN (OLD.subscribed IS DISTINCT FROM NEW.subscribed)
    EXECUTE FUNCTION waymore_newsletter_changed();

-- Search: a search query recorded (customer_id "" for visitors, as in Waymore's example).
CREATE FUNCTION waymore_search_recorded() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF waymore_connected() THEN
        PERFORM waymore_enqueue('Search', 'search:' || NEW.id, json_build_object(
            'customer_id', coalesce(NEW.customer_id::text, ''),
            'search_string', NEW.query));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER waymore_search AFTER INSERT ON search_queries
    FOR EACH ROW EXECUTE FUNCTION waymore_search_recorded();
