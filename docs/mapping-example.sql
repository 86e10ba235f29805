-- A mapping for a shop written in-house, unlike any platform: its tables live in the schema
-- `shop`, clients are numbered (integer keys), purchases are keyed by uuids, money is kept
-- in integer cents, and a purchase's state is a row of a table of states. The shop's
-- tables, as this example assumes them:
--
--   shop.clients (client_no integer PRIMARY KEY, mail text, given_name text,
--                 family_name text, mobile text, born date, joined timestamptz,
--                 changed timestamptz, newsletter boolean)
--   shop.articles (code text PRIMARY KEY, title text, blurb text, cents integer,
--                  on_hand integer, listed boolean, added timestamptz, changed timestamptz)
--   shop.purchase_states (state_id smallint PRIMARY KEY, code text, title text)
--   shop.purchases (purchase_uuid uuid PRIMARY KEY, number text, client_no integer,
--                   mail text, state_id smallint, total_cents bigint, currency text,
--                   ship_city text, ship_zip text, ship_country text,
--                   placed_at timestamptz, changed timestamptz)
--   shop.purchase_lines (line_id bigint PRIMARY KEY, purchase_uuid uuid, article_code text,
--                        title text, qty integer, unit_cents integer, changed timestamptz)

CREATE VIEW customers AS
SELECT c.client_no AS id, coalesce(c.mail, '') AS email, c.given_name AS firstname,
       c.family_name AS lastname, c.mobile AS phone, c.born AS birthday,
       c.joined AS created_at, c.changed AS updated_at
FROM shop.clients c;

CREATE VIEW newsletter_subscriptions AS
SELECT c.client_no AS id, c.mail AS email, c.client_no AS customer_id,
       c.newsletter AS subscribed, c.joined AS created_at, c.changed AS updated_at
FROM shop.clients c
WHERE c.mail IS NOT NULL;

CREATE VIEW order_statuses AS
SELECT s.code, s.title AS label, NULL::timestamptz AS created_at,
       NULL::timestamptz AS updated_at
FROM shop.purchase_states s;

-- Cents become major units; the state's code is the status.
CREATE VIEW orders AS
SELECT p.purchase_uuid AS id, p.number AS reference, p.client_no AS customer_id,
       coalesce(p.mail, '') AS customer_email, s.code AS status,
       CASE WHEN s.code IN ('paid', 'shipped') THEN 'confirmed' ELSE 'pending' END
           AS payment_state,
       NULL::timestamptz AS payment_confirmed_at, NULL::text AS payment_method,
       NULL::text AS shipping_method, upper(p.currency) AS currency,
       p.total_cents / 100.0 AS total, NULL::text AS delivery_firstname,
       NULL::text AS delivery_lastname, NULL::text AS delivery_company,
       NULL::text AS delivery_address1, NULL::text AS delivery_address2,
       p.ship_city AS delivery_city, NULL::text AS delivery_province,
       p.ship_zip AS delivery_postcode, p.ship_country AS delivery_country,
       NULL::text AS delivery_phone, p.placed_at AS created_at, p.changed AS updated_at,
       NULL::numeric AS subtotal, NULL::numeric AS discount_total,
       NULL::numeric AS shipping_total, NULL::numeric AS tax_total
FROM shop.purchases p
JOIN shop.purchase_states s ON s.state_id = p.state_id;

CREATE VIEW order_items AS
SELECT l.line_id AS id, l.purchase_uuid AS order_id, l.article_code AS product_id,
       NULL::bigint AS option_id, l.article_code AS sku, l.title AS name, l.qty AS quantity,
       l.unit_cents / 100.0 AS price, l.changed AS created_at, l.changed AS updated_at
FROM shop.purchase_lines l;

CREATE VIEW products AS
SELECT a.code AS id, a.code AS sku, a.title AS name, coalesce(a.blurb, '') AS description,
       '' AS short_description, NULL::bigint AS brand_id, a.cents / 100.0 AS price,
       a.on_hand AS stock_quantity, NULL::text AS image_url, NULL::text AS url,
       a.listed AS active, a.added AS created_at, a.changed AS updated_at
FROM shop.articles a;

SELECT watch('customer', 'shop.clients', 'r.client_no', creates => true);
SELECT watch('order', 'shop.purchases', 'r.purchase_uuid', creates => true);
SELECT watch('order', 'shop.purchase_lines', 'r.purchase_uuid');
SELECT watch('product', 'shop.articles', 'r.code', creates => true);

SELECT needs_index('shop.clients', 'changed, client_no');
SELECT needs_index('shop.clients', 'joined, client_no');
SELECT needs_index('shop.purchases', 'changed, purchase_uuid');
SELECT needs_index('shop.purchases', 'placed_at, purchase_uuid');
SELECT needs_index('shop.purchase_lines', 'purchase_uuid');
