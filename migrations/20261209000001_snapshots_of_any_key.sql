-- The customer and order snapshots take the key of the shop's rows whatever its type:
-- bigint on the reference schema, text, uuid… over a mapped shop, whose capture
-- (src/shop/capture.rs) records the same payloads through the mapping's views.
DROP FUNCTION customer_snapshot(bigint);
DROP FUNCTION order_snapshot(bigint);

CREATE FUNCTION customer_snapshot(p_id anyelement) RETURNS jsonb
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

CREATE FUNCTION order_snapshot(p_id anyelement) RETURNS jsonb
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
