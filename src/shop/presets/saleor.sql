-- Saleor 3.20, read from its Django models (saleor/saleor: account, order, product):
-- integer keys for users, products and variants, uuids for orders and their lines, money as
-- numeric(12,3) in major units, statuses as Saleor's codes (one with a space: "partially
-- fulfilled"). Saleor deletes rows outright, and draft orders are not orders yet.
--
-- Relations left out (newsletter, carts, wishlists, searches, shipments, discounts, brands)
-- are empty.

-- Customers are the users who are not staff, and the staff who placed orders (as Saleor's
-- own customer list counts them).
CREATE VIEW customers AS
SELECT u.id, u.email, nullif(u.first_name, '') AS firstname,
       nullif(u.last_name, '') AS lastname, nullif(a.phone, '') AS phone,
       NULL::date AS birthday, u.date_joined AS created_at, u.updated_at
FROM public.account_user u
LEFT JOIN public.account_address a ON a.id = u.default_shipping_address_id
WHERE NOT u.is_staff
   OR EXISTS (SELECT 1 FROM public.order_order o WHERE o.user_id = u.id);

CREATE VIEW customer_addresses AS
SELECT a.id, ua.user_id AS customer_id, a.id = u.default_shipping_address_id AS is_default,
       nullif(a.company_name, '') AS company, a.street_address_1 AS address1,
       nullif(a.street_address_2, '') AS address2, nullif(a.city, '') AS city,
       nullif(a.country_area, '') AS province, nullif(a.postal_code, '') AS postcode,
       a.country, nullif(a.phone, '') AS phone, NULL::timestamptz AS created_at,
       NULL::timestamptz AS updated_at
FROM public.account_user_addresses ua
JOIN public.account_address a ON a.id = ua.address_id
JOIN public.account_user u ON u.id = ua.user_id;

-- Saleor's order statuses, with the labels its dashboard shows.
CREATE VIEW order_statuses AS
SELECT code, label, NULL::timestamptz AS created_at, NULL::timestamptz AS updated_at
FROM (VALUES ('unconfirmed', 'Unconfirmed'), ('unfulfilled', 'Unfulfilled'),
             ('partially fulfilled', 'Partially fulfilled'), ('fulfilled', 'Fulfilled'),
             ('partially returned', 'Partially returned'), ('returned', 'Returned'),
             ('canceled', 'Canceled'), ('expired', 'Expired')) AS s(code, label);

-- An order's total is its gross total; it is paid when Saleor counts it fully charged.
CREATE VIEW orders AS
SELECT o.id, o.number::text AS reference, o.user_id AS customer_id,
       coalesce(u.email, o.user_email) AS customer_email, o.status,
       CASE WHEN o.charge_status IN ('full', 'overcharged') THEN 'confirmed'
            ELSE 'pending' END AS payment_state,
       NULL::timestamptz AS payment_confirmed_at, NULL::text AS payment_method,
       o.shipping_method_name AS shipping_method, upper(o.currency) AS currency,
       o.total_gross_amount AS total, nullif(a.first_name, '') AS delivery_firstname,
       nullif(a.last_name, '') AS delivery_lastname,
       nullif(a.company_name, '') AS delivery_company,
       a.street_address_1 AS delivery_address1,
       nullif(a.street_address_2, '') AS delivery_address2, nullif(a.city, '') AS delivery_city,
       nullif(a.country_area, '') AS delivery_province,
       nullif(a.postal_code, '') AS delivery_postcode, a.country AS delivery_country,
       nullif(a.phone, '') AS delivery_phone, o.created_at, o.updated_at,
       o.subtotal_gross_amount AS subtotal, NULL::numeric AS discount_total,
       o.shipping_price_gross_amount AS shipping_total,
       o.total_gross_amount - o.total_net_amount AS tax_total
FROM public.order_order o
LEFT JOIN public.account_user u ON u.id = o.user_id
LEFT JOIN public.account_address a ON a.id = o.shipping_address_id
WHERE o.status <> 'draft';

-- A line keeps the product's name, sku and gross unit price as ordered.
CREATE VIEW order_items AS
SELECT l.id, l.order_id, v.product_id, l.variant_id AS option_id,
       coalesce(l.product_sku, l.product_variant_id, '') AS sku,
       l.product_name || coalesce(' (' || nullif(l.variant_name, '') || ')', '') AS name,
       l.quantity, l.unit_price_gross_amount AS price, l.created_at,
       l.created_at AS updated_at
FROM public.order_orderline l
LEFT JOIN public.product_productvariant v ON v.id = l.variant_id;

CREATE VIEW categories AS
SELECT c.id, c.parent_id, c.name, NULL::timestamptz AS created_at, c.updated_at
FROM public.product_category c;

CREATE VIEW product_categories AS
SELECT p.id AS product_id, p.category_id, p.created_at, p.updated_at
FROM public.product_product p
WHERE p.category_id IS NOT NULL;

-- Prices (per channel) and stock (per warehouse) are not read here.
CREATE VIEW products AS
SELECT p.id, p.slug AS sku, p.name, coalesce(p.description_plaintext, '') AS description,
       '' AS short_description, NULL::bigint AS brand_id, NULL::numeric AS price,
       NULL::integer AS stock_quantity, NULL::text AS image_url, NULL::text AS url,
       true AS active, p.created_at, p.updated_at
FROM public.product_product p;

CREATE VIEW product_options AS
SELECT v.id, v.product_id, coalesce(v.sku, '') AS sku, nullif(v.name, '') AS size,
       NULL::text AS color, NULL::integer AS stock_quantity, NULL::numeric AS price,
       v.created_at, v.updated_at
FROM public.product_productvariant v;

SELECT watch('customer', 'public.account_user', 'r.id', creates => true);
SELECT watch('customer', 'public.account_user_addresses', 'r.user_id');
SELECT watch('customer', 'public.account_address',
             '(SELECT ua.user_id FROM public.account_user_addresses ua
               WHERE ua.address_id = r.id LIMIT 1)');
SELECT watch('order', 'public.order_order', 'r.id', creates => true);
SELECT watch('order', 'public.order_orderline', 'r.order_id');
SELECT watch('product', 'public.product_product', 'r.id', creates => true);
SELECT watch('product', 'public.product_productvariant', 'r.product_id');

SELECT needs_index('public.account_user', 'updated_at, id');
SELECT needs_index('public.account_user', 'date_joined, id');
SELECT needs_index('public.order_order', 'updated_at, id');
SELECT needs_index('public.order_order', 'created_at, id');
