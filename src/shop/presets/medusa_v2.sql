-- Medusa 2.x, read from the tables of @medusajs/medusa 2.0.0's modules (order, customer,
-- product): text ids with prefixes, numeric money in major units, soft deletes
-- (`deleted_at`) everywhere, and orders kept per version: the order row names its current
-- `version`, and `order_item` and `order_summary` hold one row per version.
--
-- Each view below is a reference relation over the shop's own tables; relations left out
-- (newsletter, carts, wishlists, searches, shipments, discounts) are empty.

-- A customer, guest or with an account; soft-deleted ones are gone.
CREATE VIEW customers AS
SELECT c.id, coalesce(c.email, '') AS email, c.first_name AS firstname,
       c.last_name AS lastname, c.phone, NULL::date AS birthday, c.created_at, c.updated_at
FROM public.customer c
WHERE c.deleted_at IS NULL;

-- The default shipping address is the one the crawl shows.
CREATE VIEW customer_addresses AS
SELECT a.id, a.customer_id, a.is_default_shipping AS is_default, a.company,
       coalesce(a.address_1, '') AS address1, a.address_2 AS address2, a.city, a.province,
       a.postal_code AS postcode, upper(a.country_code) AS country, a.phone, a.created_at,
       a.updated_at
FROM public.customer_address a;

-- Medusa's order statuses, with the labels its admin shows.
CREATE VIEW order_statuses AS
SELECT code, label, NULL::timestamptz AS created_at, NULL::timestamptz AS updated_at
FROM (VALUES ('pending', 'Pending'), ('completed', 'Completed'), ('draft', 'Draft'),
             ('archived', 'Archived'), ('canceled', 'Canceled'),
             ('requires_action', 'Requires action')) AS s(code, label);

-- An order as its current version stands: the total is that version's summary
-- (`current_order_total`, major units), paid when the summary's paid total covers it,
-- the delivery from its shipping address, the shipping method the latest version that
-- names one. Draft orders are not orders yet. The summary is read in a subquery of the
-- select list, so a query that does not use it (the window's count) never reads it.
CREATE VIEW orders AS
SELECT o.id, o.display_id::text AS reference, o.customer_id,
       coalesce(o.email, '') AS customer_email,
       CASE WHEN o.canceled_at IS NOT NULL THEN 'canceled' ELSE o.status END AS status,
       CASE WHEN (t.totals ->> 'refunded_total')::numeric > 0 THEN 'refunded'
            WHEN (t.totals ->> 'current_order_total')::numeric > 0
                 AND (t.totals ->> 'paid_total')::numeric
                     >= (t.totals ->> 'current_order_total')::numeric THEN 'confirmed'
            ELSE 'pending' END AS payment_state,
       NULL::timestamptz AS payment_confirmed_at, NULL::text AS payment_method,
       (SELECT sm.name FROM public.order_shipping os
        JOIN public.order_shipping_method sm ON sm.id = os.shipping_method_id
        WHERE os.order_id = o.id AND os.version <= o.version AND os.deleted_at IS NULL
        ORDER BY os.version DESC, os.created_at LIMIT 1) AS shipping_method,
       upper(o.currency_code) AS currency,
       coalesce((t.totals ->> 'current_order_total')::numeric, 0) AS total,
       a.first_name AS delivery_firstname, a.last_name AS delivery_lastname,
       a.company AS delivery_company, a.address_1 AS delivery_address1,
       a.address_2 AS delivery_address2, a.city AS delivery_city,
       a.province AS delivery_province, a.postal_code AS delivery_postcode,
       upper(a.country_code) AS delivery_country, a.phone AS delivery_phone,
       o.created_at, o.updated_at, NULL::numeric AS subtotal, NULL::numeric AS discount_total,
       NULL::numeric AS shipping_total, NULL::numeric AS tax_total
FROM public."order" o
CROSS JOIN LATERAL (
    SELECT (SELECT s.totals FROM public.order_summary s
            WHERE s.order_id = o.id AND s.version = o.version AND s.deleted_at IS NULL
            LIMIT 1) AS totals
) t
LEFT JOIN public.order_address a ON a.id = o.shipping_address_id
WHERE o.deleted_at IS NULL AND NOT o.is_draft_order;

-- The items of an order's current version. The line item (its id stable across versions)
-- keeps the title, sku and unit price at order time; a version may override the price.
CREATE VIEW order_items AS
SELECT li.id, oi.order_id, li.product_id, li.variant_id AS option_id,
       coalesce(li.variant_sku, '') AS sku, li.title AS name, oi.quantity::integer AS quantity,
       coalesce(oi.unit_price, li.unit_price, 0) AS price, li.created_at,
       greatest(oi.updated_at, li.updated_at) AS updated_at
FROM public.order_item oi
JOIN public."order" o ON o.id = oi.order_id AND o.version = oi.version
JOIN public.order_line_item li ON li.id = oi.item_id
WHERE oi.deleted_at IS NULL AND li.deleted_at IS NULL AND oi.quantity > 0;

-- Collections stand in for brands: Medusa has no brand of its own.
CREATE VIEW brands AS
SELECT c.id, c.title AS name, c.created_at, c.updated_at
FROM public.product_collection c
WHERE c.deleted_at IS NULL;

CREATE VIEW categories AS
SELECT c.id, c.parent_category_id AS parent_id, c.name, c.created_at, c.updated_at
FROM public.product_category c
WHERE c.deleted_at IS NULL;

CREATE VIEW product_categories AS
SELECT pc.product_id, pc.product_category_id AS category_id,
       NULL::timestamptz AS created_at, NULL::timestamptz AS updated_at
FROM public.product_category_product pc;

-- Prices and stock live in Medusa's pricing and inventory modules, not read here.
CREATE VIEW products AS
SELECT p.id, p.handle AS sku, p.title AS name, coalesce(p.description, '') AS description,
       coalesce(p.subtitle, '') AS short_description, p.collection_id AS brand_id,
       NULL::numeric AS price, NULL::integer AS stock_quantity, p.thumbnail AS image_url,
       NULL::text AS url, p.status = 'published' AS active, p.created_at, p.updated_at
FROM public.product p
WHERE p.deleted_at IS NULL;

CREATE VIEW product_options AS
SELECT v.id, v.product_id, coalesce(v.sku, '') AS sku, NULL::text AS size,
       NULL::text AS color, NULL::integer AS stock_quantity, NULL::numeric AS price,
       v.created_at, v.updated_at
FROM public.product_variant v
WHERE v.deleted_at IS NULL;

-- What capture watches: a change to any of these rows is a change of the entity whose key
-- the expression gives (`r` is the changed row).
SELECT watch('customer', 'public.customer', 'r.id', creates => true);
SELECT watch('customer', 'public.customer_address', 'r.customer_id');
SELECT watch('order', 'public.order', 'r.id', creates => true);
SELECT watch('order', 'public.order_item', 'r.order_id');
SELECT watch('order', 'public.order_summary', 'r.order_id');
SELECT watch('order', 'public.order_address',
             '(SELECT o.id FROM public."order" o WHERE o.shipping_address_id = r.id LIMIT 1)');
SELECT watch('order', 'public.order_line_item',
             '(SELECT oi.order_id FROM public.order_item oi WHERE oi.item_id = r.id LIMIT 1)');
SELECT watch('product', 'public.product', 'r.id', creates => true);
SELECT watch('product', 'public.product_variant', 'r.product_id');
SELECT watch('product', 'public.product_category_product', 'r.product_id');

-- The window queries' indexes: Medusa's own are partial on `deleted_at IS NOT NULL`.
SELECT needs_index('public.customer', 'updated_at, id', 'deleted_at IS NULL');
SELECT needs_index('public.customer', 'created_at, id', 'deleted_at IS NULL');
SELECT needs_index('public.order', 'updated_at, id', 'deleted_at IS NULL');
SELECT needs_index('public.order', 'created_at, id', 'deleted_at IS NULL');
SELECT needs_index('public.order_item', 'order_id, version', 'deleted_at IS NULL');
SELECT needs_index('public.order_item', 'item_id', 'deleted_at IS NULL');
SELECT needs_index('public.order_summary', 'order_id, version', 'deleted_at IS NULL');
