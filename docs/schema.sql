-- The schema `shopbridge migrate` produces, as `shopbridge schema` prints it
-- (pg_dump --schema-only, normalised). Generated: do not edit.

--
-- Name: shopbridge; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA shopbridge;

--
-- Name: payment_state; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.payment_state AS ENUM (
    'pending',
    'confirmed',
    'failed',
    'refunded'
);

--
-- Name: delivery_state; Type: TYPE; Schema: shopbridge; Owner: -
--

CREATE TYPE shopbridge.delivery_state AS ENUM (
    'pending',
    'delivered',
    'failed',
    'canceled'
);

--
-- Name: job_state; Type: TYPE; Schema: shopbridge; Owner: -
--

CREATE TYPE shopbridge.job_state AS ENUM (
    'pending',
    'running',
    'completed',
    'failed',
    'canceled'
);

--
-- Name: shopify_webhook_state; Type: TYPE; Schema: shopbridge; Owner: -
--

CREATE TYPE shopbridge.shopify_webhook_state AS ENUM (
    'pending',
    'applied',
    'failed',
    'ignored'
);

--
-- Name: touch_parent_updated_at(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.touch_parent_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
DECLARE
    parent_table text := TG_ARGV[0];
    fk_column    text := TG_ARGV[1];
    changed_ids  text := CASE TG_OP
        WHEN 'INSERT' THEN format('SELECT %I FROM new_rows', fk_column)
        WHEN 'DELETE' THEN format('SELECT %I FROM old_rows', fk_column)
        ELSE format('SELECT %1$I FROM new_rows UNION SELECT %1$I FROM old_rows', fk_column)
    END;
BEGIN
    EXECUTE format(
        'UPDATE %I SET updated_at = now() WHERE id IN (%s) AND updated_at IS DISTINCT FROM now()',
        parent_table, changed_ids);
    RETURN NULL;
END
$_$;

--
-- Name: touch_updated_at(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

--
-- Name: cart_updated(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.cart_updated() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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

--
-- Name: category_named(text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.category_named(p_name text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: crawl_horizon(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.crawl_horizon() RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    SELECT least(now(), min(xact_start))
    FROM pg_stat_activity
    WHERE datname = current_database()
      AND backend_type = 'client backend'
      AND pid <> pg_backend_pid()
      AND xact_start IS NOT NULL
$$;

--
-- Name: customer_created(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.customer_created() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    IF event_wanted('customer.created') AND EXISTS (SELECT 1 FROM customers WHERE id = NEW.id) THEN
        PERFORM record_event('customer.created', 'customer', NEW.id::text, 'customer:' || NEW.id,
                             customer_snapshot(NEW.id), true);
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: customer_deleted(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.customer_deleted() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    IF event_wanted('customer.deleted') THEN
        PERFORM record_event('customer.deleted', 'customer', OLD.id::text, 'customer:' || OLD.id,
                             jsonb_build_object('id', OLD.id, 'email', OLD.email));
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: customer_snapshot(anyelement); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.customer_snapshot(p_id anyelement) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN (
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
); END$$;

--
-- Name: customer_updated(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.customer_updated() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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

--
-- Name: delivery_queued(bigint, text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.delivery_queued(p_destination bigint, p_key text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET enable_seqscan TO 'off'
    AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM deliveries
                   WHERE destination_id = p_destination AND ordering_key = p_key
                     AND state IN ('pending', 'failed'));
END
$$;

--
-- Name: destination_takes(text[], text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.destination_takes(p_events text[], p_name text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $$BEGIN RETURN (
    SELECT p_name = ANY (p_events) OR EXISTS (
        SELECT 1 FROM unnest(p_events) p
        WHERE p = '*' OR (p LIKE '%.*' AND starts_with(p_name, left(p, -1))))
); END$$;

--
-- Name: discount_snapshot(anyelement); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.discount_snapshot(d anyelement) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object('price', d.price, 'date_start', event_time(d.date_start),
                              'date_end', event_time(d.date_end), 'min_quantity', d.min_quantity)
$$;

--
-- Name: event_recorded(text, text, text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.event_recorded(p_name text, p_entity_type text, p_entity_id text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET enable_seqscan TO 'off'
    AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM events
                   WHERE txid = pg_current_xact_id() AND entity_id = p_entity_id
                     AND entity_type = p_entity_type AND name = p_name);
END
$$;

--
-- Name: event_time(timestamp with time zone); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.event_time(t timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

--
-- Name: event_wanted(text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.event_wanted(p_name text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN (
    SELECT EXISTS (SELECT 1 FROM destinations WHERE enabled AND destination_takes(events, p_name))
); END$$;

--
-- Name: forget_secrets(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.forget_secrets() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    DELETE FROM secrets WHERE owner = TG_ARGV[0] || '/' || OLD.id::text;
    RETURN NULL;
END
$$;

--
-- Name: integrations_announce(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.integrations_announce() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    PERFORM pg_notify('shopbridge_integrations', '');
    RETURN NULL;
END
$$;

--
-- Name: newsletter_changed(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.newsletter_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    PERFORM record_event('newsletter.changed', 'newsletter_subscription', lower(NEW.email),
        'newsletter:' || lower(NEW.email),
        jsonb_build_object('email', NEW.email, 'customer_id', NEW.customer_id,
                           'subscribed', NEW.subscribed));
    RETURN NULL;
END
$$;

--
-- Name: one_receive(text, text, boolean, text, text, text, text, jsonb, text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.one_receive(p_kind text, p_sent_kind text, p_test boolean, p_customer_id text, p_cart_id text, p_offer_id text, p_problem text, p_payload jsonb, p_body text, OUT id bigint, OUT event_id bigint) RETURNS record
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- The row's id is taken first so the shop event can name it, and the row is written
    -- once, with the event's id.
    id := nextval(pg_get_serial_sequence('one_events', 'id'));
    IF p_kind IS NOT NULL AND NOT p_test AND p_customer_id IS NOT NULL THEN
        event_id := record_event_unannounced(
            CASE p_kind
                WHEN 'cart_opened' THEN 'customer.cart_opened'
                WHEN 'client_logged' THEN 'customer.logged_in'
                WHEN 'offer_opened' THEN 'customer.offer_opened'
            END,
            'customer', p_customer_id, 'one:customer:' || p_customer_id,
            jsonb_build_object('customerId', p_customer_id,
                               'receivedAt', event_time(now()),
                               'oneEventId', id,
                               'raw', p_payload)
            || jsonb_strip_nulls(jsonb_build_object('cartId', p_cart_id, 'offerId', p_offer_id)),
            false, 'one');
    END IF;
    INSERT INTO one_events (id, kind, sent_kind, test, customer_id, cart_id, offer_id, problem,
                            payload, body, event_id)
    VALUES (one_receive.id, p_kind, p_sent_kind, p_test, p_customer_id, p_cart_id, p_offer_id,
            p_problem, p_payload, p_body, one_receive.event_id);
END
$$;

--
-- Name: order_changed(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.order_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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

--
-- Name: order_created(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.order_created() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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

--
-- Name: order_snapshot(anyelement); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.order_snapshot(p_id anyelement) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN (
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
); END$$;

--
-- Name: order_updated(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.order_updated() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
DECLARE
    v_id bigint;
BEGIN
    -- Separate statements: a field reference is only evaluated for the table that has it.
    IF TG_TABLE_NAME = 'orders' THEN
        v_id := NEW.id;
        IF OLD.customer_id IS NOT NULL AND NEW.customer_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        v_id := OLD.order_id;
    ELSE
        v_id := NEW.order_id;
    END IF;
    IF event_wanted('order.updated')
       AND EXISTS (SELECT 1 FROM orders WHERE id = v_id)
       AND NOT event_recorded('order.created', 'order', v_id::text) THEN
        PERFORM record_event('order.updated', 'order', v_id::text, 'order:' || v_id,
                             order_snapshot(v_id), true);
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: pending_deliveries(bigint); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.pending_deliveries(destination bigint) RETURNS TABLE(delivery_id bigint, event_id bigint, event_name text, entity_type text, entity_id text, created_at timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT d.id, e.id, e.name, e.entity_type, e.entity_id, d.created_at
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.destination_id = destination AND d.state = 'pending'
$$;

--
-- Name: product_changed(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.product_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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

--
-- Name: product_snapshot(anyelement); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.product_snapshot(p_id anyelement) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN (
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
); END$$;

--
-- Name: product_stock_changed(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.product_stock_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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
    IF OLD.stock_quantity <= 0 AND NEW.stock_quantity > 0 AND event_wanted('product.back_in_stock') THEN
        PERFORM record_event('product.back_in_stock', 'product', v_product::text, 'product:' || v_product,
            jsonb_build_object('product_id', v_product, 'option_id', v_option,
                               'stock_quantity', NEW.stock_quantity,
                               'previous_stock_quantity', OLD.stock_quantity,
                               'product', (SELECT jsonb_build_object('id', p.id, 'sku', p.sku,
                                                   'name', p.name, 'price', p.price,
                                                   'url', p.url, 'image_url', p.image_url)
                                           FROM products p WHERE p.id = v_product)));
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: record_event(text, text, text, text, jsonb, boolean, text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.record_event(p_name text, p_entity_type text, p_entity_id text, p_ordering_key text, p_payload jsonb, p_once boolean DEFAULT false, p_source text DEFAULT 'shop'::text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_id bigint := record_event_unannounced(p_name, p_entity_type, p_entity_id,
                                            p_ordering_key, p_payload, p_once, p_source);
BEGIN
    IF v_id IS NOT NULL
       AND current_setting('shopbridge.announce', true) IS DISTINCT FROM 'after_commit'
       AND NOT pg_try_advisory_xact_lock_shared(6001133709951060805) THEN
        PERFORM pg_notify('shop_events', '');
    END IF;
    RETURN v_id;
END
$$;

--
-- Name: record_event_unannounced(text, text, text, text, jsonb, boolean, text); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.record_event_unannounced(p_name text, p_entity_type text, p_entity_id text, p_ordering_key text, p_payload jsonb, p_once boolean DEFAULT false, p_source text DEFAULT 'shop'::text) RETURNS bigint
    LANGUAGE plpgsql
    SET enable_seqscan TO 'off'
    SET jit TO 'off'
    AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_once AND event_recorded(p_name, p_entity_type, p_entity_id) THEN
        RETURN NULL;
    END IF;
    WITH destination AS (
        SELECT id FROM destinations WHERE enabled AND destination_takes(events, p_name)
    ), event AS (
        INSERT INTO events (name, entity_type, entity_id, ordering_key, payload, source, cause)
        SELECT p_name, p_entity_type, p_entity_id, p_ordering_key, p_payload, p_source,
               NULLIF(current_setting('shopbridge.cause', true), '')::text[]
        WHERE EXISTS (SELECT 1 FROM destination)
        RETURNING id
    ), delivery AS (
        INSERT INTO deliveries (event_id, destination_id, ordering_key, ready)
        SELECT event.id, d.id, p_ordering_key, NOT delivery_queued(d.id, p_ordering_key)
        FROM event, destination d
    )
    SELECT id INTO v_id FROM event;
    RETURN v_id;
END
$$;

--
-- Name: sealed_key_id(bytea); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.sealed_key_id(sealed bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN SUBSTRING(sealed FROM 2 FOR 8);

--
-- Name: search_recorded(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.search_recorded() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    PERFORM record_event('search.recorded', 'search', NEW.id::text, 'search:' || NEW.id,
        jsonb_build_object('id', NEW.id, 'customer_id', NEW.customer_id, 'query', NEW.query,
                           'results_count', NEW.results_count));
    RETURN NULL;
END
$$;

--
-- Name: shipment_changed(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.shipment_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
DECLARE
    v_name text := CASE TG_OP WHEN 'INSERT' THEN 'shipment.created' ELSE 'shipment.updated' END;
    v_previous jsonb := CASE TG_OP WHEN 'INSERT' THEN '{}'
                                   ELSE jsonb_build_object('previous_status', OLD.status) END;
    v_reached text := CASE WHEN NEW.status IN ('shipped', 'delivered')
                                AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status)
                           THEN 'shipment.' || NEW.status END;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM shipments WHERE id = NEW.id) THEN
        RETURN NULL;
    END IF;
    IF event_wanted(v_name)
       AND NOT event_recorded('shipment.created', 'shipment', NEW.id::text) THEN
        PERFORM record_event(v_name, 'shipment', NEW.id::text, 'order:' || NEW.order_id,
                             shipment_snapshot(NEW.id) || v_previous, true);
    END IF;
    IF v_reached IS NOT NULL AND event_wanted(v_reached) THEN
        PERFORM record_event(v_reached, 'shipment', NEW.id::text, 'order:' || NEW.order_id,
                             shipment_snapshot(NEW.id) || v_previous, true);
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: shipment_snapshot(bigint); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.shipment_snapshot(p_id bigint) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$BEGIN RETURN (
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
); END$$;

--
-- Name: utc_iso8601(timestamp with time zone); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.utc_iso8601(timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $_$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $_$;

--
-- Name: waymore_destination_sync(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.waymore_destination_sync() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        WITH disabled AS (
            UPDATE destinations SET enabled = false, held = false, hold_reason = NULL, config = '{}'
            WHERE name = 'waymore' RETURNING id
        )
        DELETE FROM secrets s USING disabled d WHERE s.owner = 'destination/' || d.id;
    ELSE
        UPDATE destinations
        SET enabled = true, held = false, hold_reason = NULL, consecutive_failures = 0,
            paused_until = NULL, config = config || jsonb_build_object('cart_url', NEW.cart_url)
        WHERE name = 'waymore';
    END IF;
    RETURN NULL;
END
$$;

--
-- Name: waymore_discount(anyelement); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.waymore_discount(d anyelement) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'price', d.price,
        'date_start', coalesce(to_char(d.date_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),
        'date_end', coalesce(to_char(d.date_end AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),
        'quantity', d.min_quantity)
$$;

--
-- Name: waymore_product_json(anyelement); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.waymore_product_json(p_id anyelement) RETURNS json
    LANGUAGE sql STABLE
    AS $$
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

--
-- Name: wishlist_changed(); Type: FUNCTION; Schema: shopbridge; Owner: -
--

CREATE FUNCTION shopbridge.wishlist_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'shopbridge', 'public'
    AS $$
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

--
-- Name: brands; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.brands (
    id bigint NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: brands_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.brands ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.brands_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: cart_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.cart_items (
    id bigint NOT NULL,
    cart_id bigint NOT NULL,
    product_id bigint NOT NULL,
    option_id bigint,
    quantity integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT cart_items_quantity_check CHECK ((quantity > 0))
);

--
-- Name: cart_items_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.cart_items ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.cart_items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: carts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.carts (
    id bigint NOT NULL,
    customer_id bigint,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: carts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.carts ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.carts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: categories; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.categories (
    id bigint NOT NULL,
    parent_id bigint,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: categories_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.categories ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.categories_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: customer_addresses; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.customer_addresses (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    company text,
    address1 text DEFAULT ''::text NOT NULL,
    address2 text,
    city text,
    province text,
    postcode text,
    country text,
    phone text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: customer_addresses_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.customer_addresses ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.customer_addresses_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: customers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.customers (
    id bigint NOT NULL,
    email text NOT NULL,
    firstname text,
    lastname text,
    phone text,
    birthday date,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shopify_id bigint
);

--
-- Name: customers_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.customers ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.customers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: discounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.discounts (
    id bigint NOT NULL,
    product_id bigint NOT NULL,
    option_id bigint,
    price numeric(12,2) NOT NULL,
    date_start timestamp with time zone,
    date_end timestamp with time zone,
    min_quantity integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT discounts_check CHECK (((date_end IS NULL) OR (date_start IS NULL) OR (date_start < date_end))),
    CONSTRAINT discounts_min_quantity_check CHECK ((min_quantity > 0)),
    CONSTRAINT discounts_price_check CHECK ((price >= (0)::numeric))
);

--
-- Name: discounts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.discounts ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.discounts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: newsletter_subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.newsletter_subscriptions (
    id bigint NOT NULL,
    email text NOT NULL,
    customer_id bigint,
    subscribed boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: newsletter_subscriptions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.newsletter_subscriptions ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.newsletter_subscriptions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: order_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.order_items (
    id bigint NOT NULL,
    order_id bigint NOT NULL,
    product_id bigint,
    option_id bigint,
    sku text NOT NULL,
    name text NOT NULL,
    quantity integer NOT NULL,
    price numeric(12,2) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shopify_id bigint,
    CONSTRAINT order_items_price_check CHECK ((price >= (0)::numeric)),
    CONSTRAINT order_items_quantity_check CHECK ((quantity > 0))
);

--
-- Name: order_items_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.order_items ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.order_items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: order_statuses; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.order_statuses (
    code text NOT NULL,
    label text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: orders; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.orders (
    id bigint NOT NULL,
    reference text NOT NULL,
    customer_id bigint,
    customer_email text NOT NULL,
    status text NOT NULL,
    payment_state public.payment_state DEFAULT 'pending'::public.payment_state NOT NULL,
    payment_confirmed_at timestamp with time zone,
    payment_method text,
    shipping_method text,
    currency character(3) DEFAULT 'EUR'::bpchar NOT NULL,
    total numeric(12,2) NOT NULL,
    delivery_firstname text,
    delivery_lastname text,
    delivery_company text,
    delivery_address1 text,
    delivery_address2 text,
    delivery_city text,
    delivery_province text,
    delivery_postcode text,
    delivery_country text,
    delivery_phone text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shopify_id bigint,
    shopify_updated_at timestamp with time zone,
    subtotal numeric(12,2),
    discount_total numeric(12,2),
    shipping_total numeric(12,2),
    tax_total numeric(12,2),
    CONSTRAINT orders_check CHECK ((((payment_state = 'confirmed'::public.payment_state) = (payment_confirmed_at IS NOT NULL)) OR (payment_state = 'refunded'::public.payment_state))),
    CONSTRAINT orders_total_check CHECK ((total >= (0)::numeric))
);

--
-- Name: orders_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.orders ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.orders_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: product_categories; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.product_categories (
    product_id bigint NOT NULL,
    category_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: product_options; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.product_options (
    id bigint NOT NULL,
    product_id bigint NOT NULL,
    sku text NOT NULL,
    size text,
    color text,
    stock_quantity integer,
    price numeric(12,2),
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shopify_id bigint,
    CONSTRAINT product_options_price_check CHECK ((price >= (0)::numeric))
);

--
-- Name: product_options_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.product_options ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.product_options_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: products; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.products (
    id bigint NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    short_description text DEFAULT ''::text NOT NULL,
    brand_id bigint,
    price numeric(12,2) NOT NULL,
    stock_quantity integer DEFAULT 0 NOT NULL,
    image_url text,
    url text,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shopify_id bigint,
    shopify_updated_at timestamp with time zone,
    CONSTRAINT products_price_check CHECK ((price >= (0)::numeric))
);

--
-- Name: products_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.products ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.products_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: search_queries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.search_queries (
    id bigint NOT NULL,
    customer_id bigint,
    query text NOT NULL,
    results_count integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: search_queries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.search_queries ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.search_queries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: shipment_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.shipment_items (
    shipment_id bigint NOT NULL,
    order_item_id bigint NOT NULL,
    quantity integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT shipment_items_quantity_check CHECK ((quantity > 0))
);

--
-- Name: shipments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.shipments (
    id bigint NOT NULL,
    order_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    carrier text,
    tracking_number text,
    tracking_url text,
    shipped_at timestamp with time zone,
    delivered_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    shopify_id bigint,
    shopify_updated_at timestamp with time zone,
    shopify_tracking_number text,
    CONSTRAINT shipments_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'shipped'::text, 'delivered'::text, 'failed'::text, 'canceled'::text])))
);

--
-- Name: shipments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.shipments ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.shipments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: wishlist_items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.wishlist_items (
    id bigint NOT NULL,
    customer_id bigint NOT NULL,
    product_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: wishlist_items_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.wishlist_items ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME public.wishlist_items_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: cost_buckets; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.cost_buckets (
    key text NOT NULL,
    maximum double precision NOT NULL,
    restore_rate double precision NOT NULL,
    available double precision NOT NULL,
    at timestamp with time zone NOT NULL,
    CONSTRAINT cost_buckets_maximum_check CHECK ((maximum > (0)::double precision)),
    CONSTRAINT cost_buckets_restore_rate_check CHECK ((restore_rate > (0)::double precision))
);

--
-- Name: deliveries; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.deliveries (
    id bigint NOT NULL,
    event_id bigint NOT NULL,
    destination_id bigint NOT NULL,
    ordering_key text NOT NULL,
    state shopbridge.delivery_state DEFAULT 'pending'::shopbridge.delivery_state NOT NULL,
    ready boolean DEFAULT false NOT NULL,
    txid xid8 DEFAULT pg_current_xact_id() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    lease_token uuid,
    leased_until timestamp with time zone,
    last_status integer,
    last_error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone
);

--
-- Name: deliveries_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: delivery_attempts; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.delivery_attempts (
    delivery_id bigint NOT NULL,
    attempted_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered boolean NOT NULL,
    status integer,
    error text
);

--
-- Name: destinations; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.destinations (
    id bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    events text[] NOT NULL,
    config jsonb DEFAULT '{}'::jsonb NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    held boolean DEFAULT false NOT NULL,
    consecutive_failures integer DEFAULT 0 NOT NULL,
    paused_until timestamp with time zone,
    last_error text,
    last_error_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    hold_reason text,
    CONSTRAINT destinations_name_check CHECK ((name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text))
);

--
-- Name: destinations_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.destinations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.destinations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: events; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.events (
    id bigint NOT NULL,
    name text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    ordering_key text NOT NULL,
    payload jsonb NOT NULL,
    source text DEFAULT 'shop'::text NOT NULL,
    txid xid8 DEFAULT pg_current_xact_id() NOT NULL,
    occurred_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    cause text[]
);

--
-- Name: events_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.events ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: integrations; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.integrations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    provider text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    settings jsonb DEFAULT '{}'::jsonb NOT NULL,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    destination_id bigint,
    connected_at timestamp with time zone DEFAULT date_trunc('second'::text, now()) NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT integrations_status_check CHECK ((status = ANY (ARRAY['active'::text, 'disabled'::text])))
);

--
-- Name: job_keys; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.job_keys (
    kind text NOT NULL,
    stage text NOT NULL,
    n bigint NOT NULL,
    key text NOT NULL
);

--
-- Name: job_parts; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.job_parts (
    job_id bigint NOT NULL,
    stage text NOT NULL,
    after_id bigint NOT NULL,
    last_id bigint NOT NULL,
    count bigint NOT NULL
);

--
-- Name: job_stages; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.job_stages (
    job_id bigint NOT NULL,
    stage text NOT NULL,
    "position" smallint NOT NULL,
    upper_id bigint NOT NULL,
    total bigint NOT NULL,
    last_id bigint DEFAULT 0 NOT NULL,
    sent bigint DEFAULT 0 NOT NULL,
    done boolean DEFAULT false NOT NULL
);

--
-- Name: jobs; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.jobs (
    id bigint NOT NULL,
    kind text NOT NULL,
    state shopbridge.job_state DEFAULT 'pending'::shopbridge.job_state NOT NULL,
    part_size integer NOT NULL,
    last_error text,
    lease_token uuid,
    leased_until timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT jobs_part_size_check CHECK ((part_size > 0))
);

--
-- Name: jobs_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.jobs ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.jobs_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: one_events; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.one_events (
    id bigint NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    kind text,
    sent_kind text,
    test boolean DEFAULT false NOT NULL,
    customer_id text,
    cart_id text,
    offer_id text,
    problem text,
    payload jsonb NOT NULL,
    event_id bigint,
    body text,
    CONSTRAINT one_events_kind_check CHECK ((kind = ANY (ARRAY['cart_opened'::text, 'client_logged'::text, 'offer_opened'::text])))
);

--
-- Name: one_events_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.one_events ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME shopbridge.one_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: push_subscriptions; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.push_subscriptions (
    id bigint NOT NULL,
    endpoint text NOT NULL,
    p256dh text NOT NULL,
    customer_id bigint,
    customer_email text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: push_subscriptions_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.push_subscriptions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.push_subscriptions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: rate_limits; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.rate_limits (
    key text NOT NULL,
    next_at timestamp with time zone NOT NULL
);

--
-- Name: rfmcube_push_sent; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.rfmcube_push_sent (
    entity text NOT NULL,
    id bigint NOT NULL,
    email text NOT NULL,
    hash uuid,
    sent_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT rfmcube_push_sent_entity_check CHECK ((entity = ANY (ARRAY['customer'::text, 'order'::text])))
);

--
-- Name: secrets; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.secrets (
    owner text NOT NULL,
    name text NOT NULL,
    sealed bytea NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT secrets_sealed_check CHECK ((length(sealed) > 33))
);

--
-- Name: service_secrets; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.service_secrets (
    name text NOT NULL,
    value bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

--
-- Name: shopify_store; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.shopify_store (
    singleton boolean DEFAULT true NOT NULL,
    store_url text NOT NULL,
    name text NOT NULL,
    domain text NOT NULL,
    subscriptions jsonb DEFAULT '{}'::jsonb NOT NULL,
    orders_since timestamp with time zone,
    orders_total bigint DEFAULT 0 NOT NULL,
    products_total bigint DEFAULT 0 NOT NULL,
    connected_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT shopify_store_singleton_check CHECK (singleton)
);

--
-- Name: shopify_webhooks; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.shopify_webhooks (
    id bigint NOT NULL,
    webhook_id text NOT NULL,
    topic text NOT NULL,
    shop_domain text,
    triggered_at timestamp with time zone,
    api_version text,
    body text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    state shopbridge.shopify_webhook_state DEFAULT 'pending'::shopbridge.shopify_webhook_state NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    waiting_for_order bigint,
    outcome text,
    last_error text,
    applied_at timestamp with time zone
);

--
-- Name: shopify_webhooks_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.shopify_webhooks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.shopify_webhooks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: vapid_keys; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.vapid_keys (
    singleton boolean DEFAULT true NOT NULL,
    public_key text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT vapid_keys_singleton_check CHECK (singleton)
);

--
-- Name: waymore_connection; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.waymore_connection (
    singleton boolean DEFAULT true NOT NULL,
    username text NOT NULL,
    connected_at timestamp with time zone DEFAULT now() NOT NULL,
    cart_url text DEFAULT ''::text NOT NULL,
    uuid_hint text DEFAULT '…'::text NOT NULL,
    CONSTRAINT waymore_connection_singleton_check CHECK (singleton)
);

--
-- Name: workflow_executions; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.workflow_executions (
    id bigint NOT NULL,
    workflow_guid uuid NOT NULL,
    event_id bigint NOT NULL,
    event_name text NOT NULL,
    entity_type text NOT NULL,
    entity_id text NOT NULL,
    action text NOT NULL,
    state text NOT NULL,
    reason text,
    tries integer DEFAULT 0 NOT NULL,
    attempts jsonb DEFAULT '[]'::jsonb NOT NULL,
    sent_to bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workflow_executions_state_check CHECK ((state = ANY (ARRAY['retrying'::text, 'succeeded'::text, 'failed'::text, 'paused'::text, 'skipped'::text])))
);

--
-- Name: workflow_executions_id_seq; Type: SEQUENCE; Schema: shopbridge; Owner: -
--

ALTER TABLE shopbridge.workflow_executions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME shopbridge.workflow_executions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: workflows; Type: TABLE; Schema: shopbridge; Owner: -
--

CREATE TABLE shopbridge.workflows (
    guid uuid NOT NULL,
    name text NOT NULL,
    entity_type text NOT NULL,
    trigger_code text NOT NULL,
    managed boolean DEFAULT false NOT NULL,
    destination_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT workflows_entity_type_check CHECK ((entity_type = ANY (ARRAY['Order'::text, 'Shipment'::text, 'Customer'::text, 'Product'::text]))),
    CONSTRAINT workflows_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200)))
);

--
-- Name: brands brands_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.brands
    ADD CONSTRAINT brands_name_key UNIQUE (name);

--
-- Name: brands brands_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.brands
    ADD CONSTRAINT brands_pkey PRIMARY KEY (id);

--
-- Name: cart_items cart_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cart_items
    ADD CONSTRAINT cart_items_pkey PRIMARY KEY (id);

--
-- Name: carts carts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.carts
    ADD CONSTRAINT carts_pkey PRIMARY KEY (id);

--
-- Name: categories categories_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.categories
    ADD CONSTRAINT categories_pkey PRIMARY KEY (id);

--
-- Name: customer_addresses customer_addresses_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.customer_addresses
    ADD CONSTRAINT customer_addresses_pkey PRIMARY KEY (id);

--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

--
-- Name: discounts discounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.discounts
    ADD CONSTRAINT discounts_pkey PRIMARY KEY (id);

--
-- Name: newsletter_subscriptions newsletter_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.newsletter_subscriptions
    ADD CONSTRAINT newsletter_subscriptions_pkey PRIMARY KEY (id);

--
-- Name: order_items order_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_pkey PRIMARY KEY (id);

--
-- Name: order_items order_items_shopify_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_shopify_id_key UNIQUE (shopify_id);

--
-- Name: order_statuses order_statuses_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_statuses
    ADD CONSTRAINT order_statuses_pkey PRIMARY KEY (code);

--
-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

--
-- Name: orders orders_reference_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_reference_key UNIQUE (reference);

--
-- Name: orders orders_shopify_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_shopify_id_key UNIQUE (shopify_id);

--
-- Name: product_categories product_categories_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_categories
    ADD CONSTRAINT product_categories_pkey PRIMARY KEY (product_id, category_id);

--
-- Name: product_options product_options_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_options
    ADD CONSTRAINT product_options_pkey PRIMARY KEY (id);

--
-- Name: product_options product_options_shopify_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_options
    ADD CONSTRAINT product_options_shopify_id_key UNIQUE (shopify_id);

--
-- Name: product_options product_options_sku_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_options
    ADD CONSTRAINT product_options_sku_key UNIQUE (sku);

--
-- Name: products products_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (id);

--
-- Name: products products_shopify_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_shopify_id_key UNIQUE (shopify_id);

--
-- Name: products products_sku_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_sku_key UNIQUE (sku);

--
-- Name: search_queries search_queries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.search_queries
    ADD CONSTRAINT search_queries_pkey PRIMARY KEY (id);

--
-- Name: shipment_items shipment_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shipment_items
    ADD CONSTRAINT shipment_items_pkey PRIMARY KEY (shipment_id, order_item_id);

--
-- Name: shipments shipments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shipments
    ADD CONSTRAINT shipments_pkey PRIMARY KEY (id);

--
-- Name: shipments shipments_shopify_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shipments
    ADD CONSTRAINT shipments_shopify_id_key UNIQUE (shopify_id);

--
-- Name: wishlist_items wishlist_items_customer_id_product_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.wishlist_items
    ADD CONSTRAINT wishlist_items_customer_id_product_id_key UNIQUE (customer_id, product_id);

--
-- Name: wishlist_items wishlist_items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.wishlist_items
    ADD CONSTRAINT wishlist_items_pkey PRIMARY KEY (id);

--
-- Name: cost_buckets cost_buckets_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.cost_buckets
    ADD CONSTRAINT cost_buckets_pkey PRIMARY KEY (key);

--
-- Name: deliveries deliveries_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.deliveries
    ADD CONSTRAINT deliveries_pkey PRIMARY KEY (id);

--
-- Name: destinations destinations_name_key; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.destinations
    ADD CONSTRAINT destinations_name_key UNIQUE (name);

--
-- Name: destinations destinations_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.destinations
    ADD CONSTRAINT destinations_pkey PRIMARY KEY (id);

--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (id);

--
-- Name: integrations integrations_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.integrations
    ADD CONSTRAINT integrations_pkey PRIMARY KEY (id);

--
-- Name: job_keys job_keys_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.job_keys
    ADD CONSTRAINT job_keys_pkey PRIMARY KEY (kind, stage, n);

--
-- Name: job_parts job_parts_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.job_parts
    ADD CONSTRAINT job_parts_pkey PRIMARY KEY (job_id, stage, after_id);

--
-- Name: job_stages job_stages_job_id_position_key; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.job_stages
    ADD CONSTRAINT job_stages_job_id_position_key UNIQUE (job_id, "position");

--
-- Name: job_stages job_stages_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.job_stages
    ADD CONSTRAINT job_stages_pkey PRIMARY KEY (job_id, stage);

--
-- Name: jobs jobs_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.jobs
    ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);

--
-- Name: one_events one_events_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.one_events
    ADD CONSTRAINT one_events_pkey PRIMARY KEY (id);

--
-- Name: push_subscriptions push_subscriptions_endpoint_key; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.push_subscriptions
    ADD CONSTRAINT push_subscriptions_endpoint_key UNIQUE (endpoint);

--
-- Name: push_subscriptions push_subscriptions_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.push_subscriptions
    ADD CONSTRAINT push_subscriptions_pkey PRIMARY KEY (id);

--
-- Name: rate_limits rate_limits_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.rate_limits
    ADD CONSTRAINT rate_limits_pkey PRIMARY KEY (key);

--
-- Name: rfmcube_push_sent rfmcube_push_sent_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.rfmcube_push_sent
    ADD CONSTRAINT rfmcube_push_sent_pkey PRIMARY KEY (entity, id);

--
-- Name: secrets secrets_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.secrets
    ADD CONSTRAINT secrets_pkey PRIMARY KEY (owner, name);

--
-- Name: service_secrets service_secrets_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.service_secrets
    ADD CONSTRAINT service_secrets_pkey PRIMARY KEY (name);

--
-- Name: shopify_store shopify_store_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.shopify_store
    ADD CONSTRAINT shopify_store_pkey PRIMARY KEY (singleton);

--
-- Name: shopify_webhooks shopify_webhooks_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.shopify_webhooks
    ADD CONSTRAINT shopify_webhooks_pkey PRIMARY KEY (id);

--
-- Name: shopify_webhooks shopify_webhooks_webhook_id_key; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.shopify_webhooks
    ADD CONSTRAINT shopify_webhooks_webhook_id_key UNIQUE (webhook_id);

--
-- Name: vapid_keys vapid_keys_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.vapid_keys
    ADD CONSTRAINT vapid_keys_pkey PRIMARY KEY (singleton);

--
-- Name: waymore_connection waymore_connection_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.waymore_connection
    ADD CONSTRAINT waymore_connection_pkey PRIMARY KEY (singleton);

--
-- Name: workflow_executions workflow_executions_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.workflow_executions
    ADD CONSTRAINT workflow_executions_pkey PRIMARY KEY (id);

--
-- Name: workflow_executions workflow_executions_workflow_guid_event_id_key; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.workflow_executions
    ADD CONSTRAINT workflow_executions_workflow_guid_event_id_key UNIQUE (workflow_guid, event_id);

--
-- Name: workflows workflows_destination_id_key; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.workflows
    ADD CONSTRAINT workflows_destination_id_key UNIQUE (destination_id);

--
-- Name: workflows workflows_pkey; Type: CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.workflows
    ADD CONSTRAINT workflows_pkey PRIMARY KEY (guid);

--
-- Name: cart_items_line_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX cart_items_line_key ON public.cart_items USING btree (cart_id, product_id, COALESCE(option_id, (0)::bigint));

--
-- Name: cart_items_product_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX cart_items_product_id_idx ON public.cart_items USING btree (product_id);

--
-- Name: carts_customer_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX carts_customer_id_idx ON public.carts USING btree (customer_id);

--
-- Name: categories_parent_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX categories_parent_id_idx ON public.categories USING btree (parent_id);

--
-- Name: customer_addresses_customer_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX customer_addresses_customer_id_idx ON public.customer_addresses USING btree (customer_id);

--
-- Name: customer_addresses_one_default_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX customer_addresses_one_default_idx ON public.customer_addresses USING btree (customer_id) WHERE is_default;

--
-- Name: customers_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX customers_created_at_id_idx ON public.customers USING btree (created_at, id);

--
-- Name: customers_email_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX customers_email_key ON public.customers USING btree (lower(email));

--
-- Name: customers_shopify_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX customers_shopify_id_idx ON public.customers USING btree (shopify_id);

--
-- Name: customers_updated_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX customers_updated_at_id_idx ON public.customers USING btree (updated_at, id);

--
-- Name: discounts_option_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX discounts_option_id_idx ON public.discounts USING btree (option_id);

--
-- Name: discounts_product_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX discounts_product_id_idx ON public.discounts USING btree (product_id);

--
-- Name: newsletter_subscriptions_customer_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX newsletter_subscriptions_customer_id_idx ON public.newsletter_subscriptions USING btree (customer_id);

--
-- Name: newsletter_subscriptions_email_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX newsletter_subscriptions_email_key ON public.newsletter_subscriptions USING btree (lower(email));

--
-- Name: order_items_order_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX order_items_order_id_idx ON public.order_items USING btree (order_id);

--
-- Name: order_items_product_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX order_items_product_id_idx ON public.order_items USING btree (product_id);

--
-- Name: orders_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX orders_created_at_id_idx ON public.orders USING btree (created_at, id);

--
-- Name: orders_customer_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id);

--
-- Name: orders_guest_email_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX orders_guest_email_idx ON public.orders USING btree (lower(customer_email), id) WHERE (customer_id IS NULL);

--
-- Name: orders_updated_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX orders_updated_at_id_idx ON public.orders USING btree (updated_at, id);

--
-- Name: product_categories_category_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX product_categories_category_id_idx ON public.product_categories USING btree (category_id);

--
-- Name: product_options_product_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX product_options_product_id_idx ON public.product_options USING btree (product_id);

--
-- Name: products_brand_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX products_brand_id_idx ON public.products USING btree (brand_id);

--
-- Name: products_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX products_created_at_id_idx ON public.products USING btree (created_at, id);

--
-- Name: products_updated_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX products_updated_at_id_idx ON public.products USING btree (updated_at, id);

--
-- Name: search_queries_customer_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX search_queries_customer_id_idx ON public.search_queries USING btree (customer_id);

--
-- Name: shipment_items_order_item_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX shipment_items_order_item_id_idx ON public.shipment_items USING btree (order_item_id);

--
-- Name: shipments_order_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX shipments_order_id_idx ON public.shipments USING btree (order_id);

--
-- Name: wishlist_items_product_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX wishlist_items_product_id_idx ON public.wishlist_items USING btree (product_id);

--
-- Name: deliveries_canceled_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_canceled_idx ON shopbridge.deliveries USING btree (destination_id) WHERE (state = 'canceled'::shopbridge.delivery_state);

--
-- Name: deliveries_delivered_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_delivered_idx ON shopbridge.deliveries USING btree (destination_id) WHERE (state = 'delivered'::shopbridge.delivery_state);

--
-- Name: deliveries_event_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_event_idx ON shopbridge.deliveries USING btree (event_id);

--
-- Name: deliveries_failed_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_failed_idx ON shopbridge.deliveries USING btree (destination_id, event_id) WHERE (state = 'failed'::shopbridge.delivery_state);

--
-- Name: deliveries_open_key_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_open_key_idx ON shopbridge.deliveries USING btree (destination_id, ordering_key, event_id) WHERE (state = ANY (ARRAY['pending'::shopbridge.delivery_state, 'failed'::shopbridge.delivery_state]));

--
-- Name: deliveries_pending_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_pending_idx ON shopbridge.deliveries USING btree (destination_id, event_id) WHERE (state = 'pending'::shopbridge.delivery_state);

--
-- Name: deliveries_ready_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_ready_idx ON shopbridge.deliveries USING btree (destination_id, event_id) WHERE ((state = 'pending'::shopbridge.delivery_state) AND ready);

--
-- Name: deliveries_unready_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX deliveries_unready_idx ON shopbridge.deliveries USING btree (txid) WHERE ((state = 'pending'::shopbridge.delivery_state) AND (NOT ready));

--
-- Name: delivery_attempts_delivery_id_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX delivery_attempts_delivery_id_idx ON shopbridge.delivery_attempts USING btree (delivery_id);

--
-- Name: events_entity_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX events_entity_idx ON shopbridge.events USING btree (entity_type, entity_id, id);

--
-- Name: events_occurred_at_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX events_occurred_at_idx ON shopbridge.events USING brin (occurred_at);

--
-- Name: events_txid_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX events_txid_idx ON shopbridge.events USING btree (txid, entity_id);

--
-- Name: integrations_once_per_provider_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE UNIQUE INDEX integrations_once_per_provider_idx ON shopbridge.integrations USING btree (provider) WHERE (provider <> 'webhook'::text);

--
-- Name: jobs_one_unfinished_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE UNIQUE INDEX jobs_one_unfinished_idx ON shopbridge.jobs USING btree (kind) WHERE (state = ANY (ARRAY['pending'::shopbridge.job_state, 'running'::shopbridge.job_state, 'failed'::shopbridge.job_state]));

--
-- Name: one_events_customer_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX one_events_customer_idx ON shopbridge.one_events USING btree (customer_id, id);

--
-- Name: one_events_kind_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX one_events_kind_idx ON shopbridge.one_events USING btree (kind, id);

--
-- Name: one_events_received_at_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX one_events_received_at_idx ON shopbridge.one_events USING brin (received_at);

--
-- Name: push_subscriptions_customer_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX push_subscriptions_customer_idx ON shopbridge.push_subscriptions USING btree (customer_id) WHERE (customer_id IS NOT NULL);

--
-- Name: push_subscriptions_email_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX push_subscriptions_email_idx ON shopbridge.push_subscriptions USING btree (lower(customer_email)) WHERE (customer_email IS NOT NULL);

--
-- Name: rfmcube_push_sent_tombstone_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX rfmcube_push_sent_tombstone_idx ON shopbridge.rfmcube_push_sent USING btree (lower(email)) WHERE (hash IS NULL);

--
-- Name: secrets_key_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX secrets_key_idx ON shopbridge.secrets USING btree (shopbridge.sealed_key_id(sealed));

--
-- Name: shopify_webhooks_due_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX shopify_webhooks_due_idx ON shopbridge.shopify_webhooks USING btree (next_attempt_at, id) WHERE (state = 'pending'::shopbridge.shopify_webhook_state);

--
-- Name: shopify_webhooks_error_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX shopify_webhooks_error_idx ON shopbridge.shopify_webhooks USING btree (id) WHERE (last_error IS NOT NULL);

--
-- Name: shopify_webhooks_failed_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX shopify_webhooks_failed_idx ON shopbridge.shopify_webhooks USING btree (id) WHERE (state = 'failed'::shopbridge.shopify_webhook_state);

--
-- Name: shopify_webhooks_received_at_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX shopify_webhooks_received_at_idx ON shopbridge.shopify_webhooks USING brin (received_at);

--
-- Name: shopify_webhooks_waiting_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX shopify_webhooks_waiting_idx ON shopbridge.shopify_webhooks USING btree (waiting_for_order) WHERE ((state = 'pending'::shopbridge.shopify_webhook_state) AND (waiting_for_order IS NOT NULL));

--
-- Name: workflow_executions_age_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX workflow_executions_age_idx ON shopbridge.workflow_executions USING btree (updated_at);

--
-- Name: workflow_executions_listing_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX workflow_executions_listing_idx ON shopbridge.workflow_executions USING btree (workflow_guid, id DESC);

--
-- Name: workflow_executions_paused_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX workflow_executions_paused_idx ON shopbridge.workflow_executions USING btree (workflow_guid) WHERE (state = 'paused'::text);

--
-- Name: workflows_entity_type_idx; Type: INDEX; Schema: shopbridge; Owner: -
--

CREATE INDEX workflows_entity_type_idx ON shopbridge.workflows USING btree (entity_type, created_at);

--
-- Name: brands brands_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER brands_touch_updated_at BEFORE UPDATE ON public.brands FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: cart_items cart_items_touch_parent_on_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cart_items_touch_parent_on_delete AFTER DELETE ON public.cart_items REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('carts', 'cart_id');

--
-- Name: cart_items cart_items_touch_parent_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cart_items_touch_parent_on_insert AFTER INSERT ON public.cart_items REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('carts', 'cart_id');

--
-- Name: cart_items cart_items_touch_parent_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cart_items_touch_parent_on_update AFTER UPDATE ON public.cart_items REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('carts', 'cart_id');

--
-- Name: cart_items cart_items_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cart_items_touch_updated_at BEFORE UPDATE ON public.cart_items FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: cart_items cart_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER cart_updated AFTER INSERT OR DELETE OR UPDATE ON public.cart_items DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.cart_updated();

--
-- Name: carts carts_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER carts_touch_updated_at BEFORE UPDATE ON public.carts FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: categories categories_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER categories_touch_updated_at BEFORE UPDATE ON public.categories FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: customer_addresses customer_address_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER customer_address_changed AFTER INSERT OR DELETE OR UPDATE ON public.customer_addresses DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.customer_updated();

--
-- Name: customer_addresses customer_addresses_touch_parent_on_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_addresses_touch_parent_on_delete AFTER DELETE ON public.customer_addresses REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('customers', 'customer_id');

--
-- Name: customer_addresses customer_addresses_touch_parent_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_addresses_touch_parent_on_insert AFTER INSERT ON public.customer_addresses REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('customers', 'customer_id');

--
-- Name: customer_addresses customer_addresses_touch_parent_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_addresses_touch_parent_on_update AFTER UPDATE ON public.customer_addresses REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('customers', 'customer_id');

--
-- Name: customer_addresses customer_addresses_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_addresses_touch_updated_at BEFORE UPDATE ON public.customer_addresses FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: customers customer_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER customer_created AFTER INSERT ON public.customers DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.customer_created();

--
-- Name: customers customer_deleted; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_deleted AFTER DELETE ON public.customers FOR EACH ROW EXECUTE FUNCTION shopbridge.customer_deleted();

--
-- Name: customers customer_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER customer_updated AFTER UPDATE ON public.customers DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((((((old.email IS DISTINCT FROM new.email) OR (old.firstname IS DISTINCT FROM new.firstname)) OR (old.lastname IS DISTINCT FROM new.lastname)) OR (old.phone IS DISTINCT FROM new.phone)) OR (old.birthday IS DISTINCT FROM new.birthday))) EXECUTE FUNCTION shopbridge.customer_updated();

--
-- Name: customers customers_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customers_touch_updated_at BEFORE UPDATE ON public.customers FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: discounts discounts_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER discounts_touch_updated_at BEFORE UPDATE ON public.discounts FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: newsletter_subscriptions newsletter_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER newsletter_changed AFTER UPDATE OF subscribed ON public.newsletter_subscriptions FOR EACH ROW WHEN ((old.subscribed IS DISTINCT FROM new.subscribed)) EXECUTE FUNCTION shopbridge.newsletter_changed();

--
-- Name: newsletter_subscriptions newsletter_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER newsletter_created AFTER INSERT ON public.newsletter_subscriptions FOR EACH ROW EXECUTE FUNCTION shopbridge.newsletter_changed();

--
-- Name: newsletter_subscriptions newsletter_subscriptions_touch_parent_on_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER newsletter_subscriptions_touch_parent_on_delete AFTER DELETE ON public.newsletter_subscriptions REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('customers', 'customer_id');

--
-- Name: newsletter_subscriptions newsletter_subscriptions_touch_parent_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER newsletter_subscriptions_touch_parent_on_insert AFTER INSERT ON public.newsletter_subscriptions REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('customers', 'customer_id');

--
-- Name: newsletter_subscriptions newsletter_subscriptions_touch_parent_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER newsletter_subscriptions_touch_parent_on_update AFTER UPDATE ON public.newsletter_subscriptions REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('customers', 'customer_id');

--
-- Name: newsletter_subscriptions newsletter_subscriptions_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER newsletter_subscriptions_touch_updated_at BEFORE UPDATE ON public.newsletter_subscriptions FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: product_options option_stock_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER option_stock_changed AFTER UPDATE OF stock_quantity ON public.product_options DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((old.stock_quantity IS DISTINCT FROM new.stock_quantity)) EXECUTE FUNCTION shopbridge.product_stock_changed();

--
-- Name: orders order_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER order_changed AFTER UPDATE OF status, payment_state ON public.orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (((old.status IS DISTINCT FROM new.status) OR (old.payment_state IS DISTINCT FROM new.payment_state))) EXECUTE FUNCTION shopbridge.order_changed();

--
-- Name: orders order_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER order_created AFTER INSERT ON public.orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.order_created();

--
-- Name: order_items order_item_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER order_item_changed AFTER INSERT OR DELETE OR UPDATE ON public.order_items DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.order_updated();

--
-- Name: order_items order_items_touch_parent_on_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER order_items_touch_parent_on_delete AFTER DELETE ON public.order_items REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('orders', 'order_id');

--
-- Name: order_items order_items_touch_parent_on_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER order_items_touch_parent_on_insert AFTER INSERT ON public.order_items REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('orders', 'order_id');

--
-- Name: order_items order_items_touch_parent_on_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER order_items_touch_parent_on_update AFTER UPDATE ON public.order_items REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.touch_parent_updated_at('orders', 'order_id');

--
-- Name: order_items order_items_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER order_items_touch_updated_at BEFORE UPDATE ON public.order_items FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: order_statuses order_statuses_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER order_statuses_touch_updated_at BEFORE UPDATE ON public.order_statuses FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: orders order_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER order_updated AFTER UPDATE ON public.orders DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((((((((((((old.reference IS DISTINCT FROM new.reference) OR (old.customer_id IS DISTINCT FROM new.customer_id)) OR (old.customer_email IS DISTINCT FROM new.customer_email)) OR (old.payment_method IS DISTINCT FROM new.payment_method)) OR (old.shipping_method IS DISTINCT FROM new.shipping_method)) OR (old.currency IS DISTINCT FROM new.currency)) OR (old.total IS DISTINCT FROM new.total)) OR (old.delivery_city IS DISTINCT FROM new.delivery_city)) OR (old.delivery_province IS DISTINCT FROM new.delivery_province)) OR (old.delivery_postcode IS DISTINCT FROM new.delivery_postcode)) OR (old.delivery_country IS DISTINCT FROM new.delivery_country))) EXECUTE FUNCTION shopbridge.order_updated();

--
-- Name: orders orders_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER orders_touch_updated_at BEFORE UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: product_categories product_categories_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER product_categories_touch_updated_at BEFORE UPDATE ON public.product_categories FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: products product_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER product_created AFTER INSERT ON public.products DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.product_changed();

--
-- Name: product_options product_options_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER product_options_touch_updated_at BEFORE UPDATE ON public.product_options FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: products product_stock_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER product_stock_changed AFTER UPDATE OF stock_quantity ON public.products DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((old.stock_quantity IS DISTINCT FROM new.stock_quantity)) EXECUTE FUNCTION shopbridge.product_stock_changed();

--
-- Name: products product_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER product_updated AFTER UPDATE ON public.products DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((((((((((old.sku IS DISTINCT FROM new.sku) OR (old.name IS DISTINCT FROM new.name)) OR (old.description IS DISTINCT FROM new.description)) OR (old.short_description IS DISTINCT FROM new.short_description)) OR (old.brand_id IS DISTINCT FROM new.brand_id)) OR (old.price IS DISTINCT FROM new.price)) OR (old.image_url IS DISTINCT FROM new.image_url)) OR (old.url IS DISTINCT FROM new.url)) OR (old.active IS DISTINCT FROM new.active))) EXECUTE FUNCTION shopbridge.product_changed();

--
-- Name: products products_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER products_touch_updated_at BEFORE UPDATE ON public.products FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: search_queries search_queries_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER search_queries_touch_updated_at BEFORE UPDATE ON public.search_queries FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: search_queries search_recorded; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER search_recorded AFTER INSERT ON public.search_queries FOR EACH ROW EXECUTE FUNCTION shopbridge.search_recorded();

--
-- Name: shipments shipment_created; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER shipment_created AFTER INSERT ON public.shipments DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shopbridge.shipment_changed();

--
-- Name: shipment_items shipment_items_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER shipment_items_touch_updated_at BEFORE UPDATE ON public.shipment_items FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: shipments shipment_updated; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER shipment_updated AFTER UPDATE ON public.shipments DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (((((old.status IS DISTINCT FROM new.status) OR (old.carrier IS DISTINCT FROM new.carrier)) OR (old.tracking_number IS DISTINCT FROM new.tracking_number)) OR (old.tracking_url IS DISTINCT FROM new.tracking_url))) EXECUTE FUNCTION shopbridge.shipment_changed();

--
-- Name: shipments shipments_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER shipments_touch_updated_at BEFORE UPDATE ON public.shipments FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: wishlist_items wishlist_changed; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER wishlist_changed AFTER INSERT OR DELETE ON public.wishlist_items FOR EACH ROW EXECUTE FUNCTION shopbridge.wishlist_changed();

--
-- Name: wishlist_items wishlist_items_touch_updated_at; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER wishlist_items_touch_updated_at BEFORE UPDATE ON public.wishlist_items FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: destinations destinations_forget_secrets; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER destinations_forget_secrets AFTER DELETE ON shopbridge.destinations FOR EACH ROW EXECUTE FUNCTION shopbridge.forget_secrets('destination');

--
-- Name: destinations destinations_touch_updated_at; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER destinations_touch_updated_at BEFORE UPDATE ON shopbridge.destinations FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: integrations integrations_announce; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER integrations_announce AFTER INSERT OR DELETE OR UPDATE ON shopbridge.integrations FOR EACH STATEMENT EXECUTE FUNCTION shopbridge.integrations_announce();

--
-- Name: integrations integrations_forget_secrets; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER integrations_forget_secrets AFTER DELETE ON shopbridge.integrations FOR EACH ROW EXECUTE FUNCTION shopbridge.forget_secrets('integration');

--
-- Name: integrations integrations_touch_updated_at; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER integrations_touch_updated_at BEFORE UPDATE ON shopbridge.integrations FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: jobs jobs_touch_updated_at; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER jobs_touch_updated_at BEFORE UPDATE ON shopbridge.jobs FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: push_subscriptions push_subscriptions_forget_secrets; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER push_subscriptions_forget_secrets AFTER DELETE ON shopbridge.push_subscriptions FOR EACH ROW EXECUTE FUNCTION shopbridge.forget_secrets('push_subscription');

--
-- Name: push_subscriptions push_subscriptions_touch_updated_at; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER push_subscriptions_touch_updated_at BEFORE UPDATE ON shopbridge.push_subscriptions FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: secrets secrets_touch_updated_at; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER secrets_touch_updated_at BEFORE UPDATE ON shopbridge.secrets FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: waymore_connection waymore_destination_sync; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER waymore_destination_sync AFTER INSERT OR DELETE OR UPDATE ON shopbridge.waymore_connection FOR EACH ROW EXECUTE FUNCTION shopbridge.waymore_destination_sync();

--
-- Name: workflows workflows_touch_updated_at; Type: TRIGGER; Schema: shopbridge; Owner: -
--

CREATE TRIGGER workflows_touch_updated_at BEFORE UPDATE ON shopbridge.workflows FOR EACH ROW EXECUTE FUNCTION public.touch_updated_at();

--
-- Name: cart_items cart_items_cart_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cart_items
    ADD CONSTRAINT cart_items_cart_id_fkey FOREIGN KEY (cart_id) REFERENCES public.carts(id) ON DELETE CASCADE;

--
-- Name: cart_items cart_items_option_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cart_items
    ADD CONSTRAINT cart_items_option_id_fkey FOREIGN KEY (option_id) REFERENCES public.product_options(id) ON DELETE CASCADE;

--
-- Name: cart_items cart_items_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cart_items
    ADD CONSTRAINT cart_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: carts carts_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.carts
    ADD CONSTRAINT carts_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE;

--
-- Name: categories categories_parent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.categories
    ADD CONSTRAINT categories_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES public.categories(id) ON DELETE SET NULL;

--
-- Name: customer_addresses customer_addresses_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.customer_addresses
    ADD CONSTRAINT customer_addresses_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE;

--
-- Name: discounts discounts_option_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.discounts
    ADD CONSTRAINT discounts_option_id_fkey FOREIGN KEY (option_id) REFERENCES public.product_options(id) ON DELETE CASCADE;

--
-- Name: discounts discounts_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.discounts
    ADD CONSTRAINT discounts_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: newsletter_subscriptions newsletter_subscriptions_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.newsletter_subscriptions
    ADD CONSTRAINT newsletter_subscriptions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE SET NULL;

--
-- Name: order_items order_items_option_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_option_id_fkey FOREIGN KEY (option_id) REFERENCES public.product_options(id) ON DELETE SET NULL;

--
-- Name: order_items order_items_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

--
-- Name: order_items order_items_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.order_items
    ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE SET NULL;

--
-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE SET NULL;

--
-- Name: orders orders_status_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_status_fkey FOREIGN KEY (status) REFERENCES public.order_statuses(code);

--
-- Name: product_categories product_categories_category_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_categories
    ADD CONSTRAINT product_categories_category_id_fkey FOREIGN KEY (category_id) REFERENCES public.categories(id) ON DELETE CASCADE;

--
-- Name: product_categories product_categories_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_categories
    ADD CONSTRAINT product_categories_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: product_options product_options_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.product_options
    ADD CONSTRAINT product_options_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: products products_brand_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_brand_id_fkey FOREIGN KEY (brand_id) REFERENCES public.brands(id) ON DELETE SET NULL;

--
-- Name: search_queries search_queries_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.search_queries
    ADD CONSTRAINT search_queries_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE SET NULL;

--
-- Name: shipment_items shipment_items_order_item_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shipment_items
    ADD CONSTRAINT shipment_items_order_item_id_fkey FOREIGN KEY (order_item_id) REFERENCES public.order_items(id) ON DELETE CASCADE;

--
-- Name: shipment_items shipment_items_shipment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shipment_items
    ADD CONSTRAINT shipment_items_shipment_id_fkey FOREIGN KEY (shipment_id) REFERENCES public.shipments(id) ON DELETE CASCADE;

--
-- Name: shipments shipments_order_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.shipments
    ADD CONSTRAINT shipments_order_id_fkey FOREIGN KEY (order_id) REFERENCES public.orders(id) ON DELETE CASCADE;

--
-- Name: wishlist_items wishlist_items_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.wishlist_items
    ADD CONSTRAINT wishlist_items_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE;

--
-- Name: wishlist_items wishlist_items_product_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.wishlist_items
    ADD CONSTRAINT wishlist_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES public.products(id) ON DELETE CASCADE;

--
-- Name: deliveries deliveries_destination_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.deliveries
    ADD CONSTRAINT deliveries_destination_id_fkey FOREIGN KEY (destination_id) REFERENCES shopbridge.destinations(id) ON DELETE CASCADE;

--
-- Name: deliveries deliveries_event_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.deliveries
    ADD CONSTRAINT deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES shopbridge.events(id) ON DELETE CASCADE;

--
-- Name: delivery_attempts delivery_attempts_delivery_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.delivery_attempts
    ADD CONSTRAINT delivery_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES shopbridge.deliveries(id) ON DELETE CASCADE;

--
-- Name: integrations integrations_destination_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.integrations
    ADD CONSTRAINT integrations_destination_id_fkey FOREIGN KEY (destination_id) REFERENCES shopbridge.destinations(id) ON DELETE SET NULL;

--
-- Name: job_parts job_parts_job_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.job_parts
    ADD CONSTRAINT job_parts_job_id_fkey FOREIGN KEY (job_id) REFERENCES shopbridge.jobs(id) ON DELETE CASCADE;

--
-- Name: job_stages job_stages_job_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.job_stages
    ADD CONSTRAINT job_stages_job_id_fkey FOREIGN KEY (job_id) REFERENCES shopbridge.jobs(id) ON DELETE CASCADE;

--
-- Name: push_subscriptions push_subscriptions_customer_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.push_subscriptions
    ADD CONSTRAINT push_subscriptions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE SET NULL;

--
-- Name: workflow_executions workflow_executions_workflow_guid_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.workflow_executions
    ADD CONSTRAINT workflow_executions_workflow_guid_fkey FOREIGN KEY (workflow_guid) REFERENCES shopbridge.workflows(guid) ON DELETE CASCADE;

--
-- Name: workflows workflows_destination_id_fkey; Type: FK CONSTRAINT; Schema: shopbridge; Owner: -
--

ALTER TABLE ONLY shopbridge.workflows
    ADD CONSTRAINT workflows_destination_id_fkey FOREIGN KEY (destination_id) REFERENCES shopbridge.destinations(id) ON DELETE CASCADE;
