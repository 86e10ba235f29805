-- Deterministic demo shop, set-based. Runs in one transaction after the caller has set
-- shopbridge.seed_customers and shopbridge.seed_orders (set_config(..., true)).
-- "Random" choices are hashes of row numbers, so the same sizes give the same shop; all
-- dates fall in calendar year 2025, customers and orders growing steadily through it.

SET LOCAL work_mem = '256MB';
SET LOCAL temp_buffers = '1GB';
-- Compiling these one-off queries costs more than it saves.
SET LOCAL jit = off;
SET LOCAL maintenance_work_mem = '512MB';

-- Bulk-load mode, as pg_restore does it: constraints and indexes dropped and rebuilt at the
-- end (one sort per index, one set-based check per foreign key, instead of work per
-- inserted row), user triggers off (seeded history carries its own timestamps and is not a
-- stream of live shop changes). DDL is transactional: a failed seed rolls all of it back.
-- All of it in the shop's schema, where `customers` is; shopbridge's own is left alone.
CREATE TEMP TABLE seed_schema ON COMMIT DROP AS
SELECT relnamespace AS namespace FROM pg_class WHERE oid = 'customers'::regclass;

CREATE TEMP TABLE seed_ddl ON COMMIT DROP AS
SELECT c.conrelid::regclass AS table_name, c.conname AS name,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid)) AS create_sql,
       CASE c.contype WHEN 'f' THEN 1 ELSE 2 END AS drop_order
FROM pg_constraint c
WHERE (c.contype IN ('f', 'p', 'u') AND c.connamespace = (SELECT namespace FROM seed_schema))
   -- shopbridge's keys into the shop's tables (a push subscription's customer)
   OR (c.contype = 'f' AND c.confrelid IN (SELECT oid FROM pg_class
                                           WHERE relnamespace = (SELECT namespace FROM seed_schema)))
UNION ALL
SELECT i.indrelid::regclass, ic.relname,
       format('DROP INDEX %I', ic.relname),
       pg_get_indexdef(i.indexrelid),
       3
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE ic.relnamespace = (SELECT namespace FROM seed_schema)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);

DO $$
DECLARE
    statement text;
    t text;
BEGIN
    FOR statement IN SELECT drop_sql FROM seed_ddl ORDER BY drop_order LOOP
        EXECUTE statement;
    END LOOP;
    FOR t IN SELECT c.oid::regclass::text FROM pg_class c
             WHERE c.relnamespace = (SELECT namespace FROM seed_schema) AND c.relkind = 'r'
    LOOP
        EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', t);
    END LOOP;
END
$$;

-- A uniform pseudo-random non-negative bigint for (row, salt).
CREATE FUNCTION pg_temp.h(bigint, bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS 'SELECT hashint8extended($1, $2) & 9223372036854775807';

CREATE TEMP TABLE seed_params ON COMMIT DROP AS
SELECT n_customers,
       n_orders,
       greatest(30, least(2000, n_orders / 500)) AS n_products,
       timestamptz '2025-01-01 00:00:00+00' AS t0,
       365 * 86400 AS span_seconds
FROM (SELECT current_setting('shopbridge.seed_customers')::int AS n_customers,
             current_setting('shopbridge.seed_orders')::int AS n_orders) s;

CREATE TEMP TABLE seed_places (n int PRIMARY KEY, city text, province text, country text, postcode text) ON COMMIT DROP;
INSERT INTO seed_places VALUES
    (0, 'Athens', 'Attica', 'Greece', '105'),
    (1, 'Thessaloniki', 'Central Macedonia', 'Greece', '546'),
    (2, 'Patras', 'Western Greece', 'Greece', '262'),
    (3, 'Milan', 'MI', 'Italy', '201'),
    (4, 'Rome', 'RM', 'Italy', '001'),
    (5, 'Berlin', 'Berlin', 'Germany', '101'),
    (6, 'Paris', 'Île-de-France', 'France', '750'),
    (7, 'Madrid', 'Madrid', 'Spain', '280'),
    (8, 'Lisbon', 'Lisboa', 'Portugal', '110'),
    (9, 'Amsterdam', 'North Holland', 'Netherlands', '101');

INSERT INTO brands (id, name, created_at, updated_at)
SELECT n, name, t0, t0
FROM seed_params,
     unnest(ARRAY['Aegean Threads', 'Nordwind', 'Lumen', 'Casa Verde', 'Urban Fox', 'Helios',
                  'Marea', 'Kastro', 'Olivia & Co', 'Stride', 'Pinecone', 'Atlas Gear'])
         WITH ORDINALITY AS b(name, n);

INSERT INTO categories (id, parent_id, name, created_at, updated_at)
SELECT id, parent_id, name, t0, t0
FROM seed_params,
     (VALUES (1, NULL, 'Clothes'), (2, 1, 'Men'), (3, 1, 'Women'), (4, 1, 'Kids'),
             (5, NULL, 'Shoes'), (6, NULL, 'Accessories'), (7, 6, 'Bags'), (8, 6, 'Jewellery'),
             (9, NULL, 'Home'), (10, 9, 'Kitchen'), (11, 9, 'Decor'), (12, NULL, 'Sports'))
         AS c(id, parent_id, name);

INSERT INTO products (id, sku, name, description, short_description, brand_id, price,
                      stock_quantity, image_url, url, created_at, updated_at)
SELECT g,
       'SKU-' || lpad(g::text, 6, '0'),
       name,
       'The ' || lower(name) || ', made to last and easy to care for.',
       name || ' by ' || (SELECT b.name FROM brands b WHERE b.id = brand_id),
       brand_id,
       round(5 + (pg_temp.h(g, 2) % 19500) / 100.0, 2),
       (pg_temp.h(g, 3) % 500)::int,
       'https://shop.example.com/media/p' || g || '.jpg',
       'https://shop.example.com/p/' || g,
       t0 - make_interval(days => (pg_temp.h(g, 4) % 365)::int),
       t0 + make_interval(secs => pg_temp.h(g, 5) % span_seconds)
FROM seed_params,
     generate_series(1, n_products) g,
     LATERAL (SELECT (ARRAY['Classic', 'Slim', 'Organic', 'Linen', 'Vintage', 'Everyday', 'Premium', 'Soft'])[1 + pg_temp.h(g, 6) % 8]
                     || ' ' ||
                     (ARRAY['T-shirt', 'Jeans', 'Sneakers', 'Backpack', 'Necklace', 'Mug', 'Vase', 'Hoodie', 'Dress', 'Scarf', 'Yoga Mat', 'Lamp'])[1 + pg_temp.h(g, 7) % 12] AS name,
                     1 + pg_temp.h(g, 8) % 12 AS brand_id) n;

INSERT INTO product_categories (product_id, category_id, created_at, updated_at)
SELECT DISTINCT p.id, c.category_id, p.created_at, p.created_at
FROM products p,
     LATERAL (VALUES (1 + pg_temp.h(p.id, 9) % 12), (1 + pg_temp.h(p.id, 10) % 12)) c(category_id);

-- Four products in ten come in sizes/colours with their own stock; some options cost more.
INSERT INTO product_options (product_id, sku, size, color, stock_quantity, price, created_at, updated_at)
SELECT p.id,
       p.sku || '-' || k,
       (ARRAY['S', 'M', 'L', 'XL'])[k],
       (ARRAY['White', 'Black', 'Red', 'Blue', 'Green'])[1 + pg_temp.h(p.id, 11) % 5],
       (pg_temp.h(p.id * 10 + k, 12) % 200)::int,
       CASE WHEN k = 4 THEN p.price + 5 END,
       p.created_at, p.created_at
FROM products p,
     generate_series(1, 2 + (pg_temp.h(p.id, 13) % 3)::int) k
WHERE pg_temp.h(p.id, 14) % 10 < 4
ORDER BY p.id, k;

INSERT INTO discounts (product_id, price, date_start, date_end, min_quantity, created_at, updated_at)
SELECT p.id,
       round(p.price * 0.8, 2),
       CASE WHEN pg_temp.h(p.id, 16) % 2 = 0 THEN t0 + interval '150 days' END,
       CASE WHEN pg_temp.h(p.id, 16) % 2 = 0 THEN t0 + interval '180 days' END,
       CASE WHEN pg_temp.h(p.id, 17) % 4 = 0 THEN 2 END,
       p.created_at, p.created_at
FROM products p, seed_params
WHERE pg_temp.h(p.id, 15) % 100 < 15;

-- Each product's options, so an order or cart line can pick one in a join, not a lookup.
CREATE TEMP TABLE seed_catalog ON COMMIT DROP AS
SELECT p.id, p.sku, p.name, p.price,
       array_agg(o.id ORDER BY o.id) FILTER (WHERE o.id IS NOT NULL) AS option_ids,
       array_agg(coalesce(o.price, p.price) ORDER BY o.id) FILTER (WHERE o.id IS NOT NULL) AS option_prices,
       array_agg(o.sku ORDER BY o.id) FILTER (WHERE o.id IS NOT NULL) AS option_skus
FROM products p LEFT JOIN product_options o ON o.product_id = p.id
GROUP BY p.id, p.sku, p.name, p.price;
ALTER TABLE seed_catalog ADD PRIMARY KEY (id);
ANALYZE seed_catalog, seed_places, products, product_options;

INSERT INTO customers (id, email, firstname, lastname, phone, birthday, created_at, updated_at)
SELECT g,
       lower(replace(first || '.' || last, ' ', '') || '.' || g || '@example.com'),
       first,
       last,
       '+30 69' || lpad((pg_temp.h(g, 20) % 100000000)::text, 8, '0'),
       CASE WHEN pg_temp.h(g, 21) % 10 < 7
            THEN date '1950-01-01' + (pg_temp.h(g, 22) % 20000)::int END,
       created,
       CASE WHEN pg_temp.h(g, 23) % 10 < 3
            THEN created + make_interval(secs => pg_temp.h(g, 24) % (60 * 86400))
            ELSE created END
FROM seed_params,
     generate_series(1, n_customers) g,
     LATERAL (SELECT (ARRAY['Maria', 'Giorgos', 'Eleni', 'Nikos', 'Anna', 'Kostas', 'Sofia', 'Dimitris', 'Giulia', 'Marco', 'Lena', 'Jonas', 'Claire', 'Lucas', 'Inês', 'Pablo'])[1 + pg_temp.h(g, 25) % 16] AS first,
                     (ARRAY['Papadopoulou', 'Papadopoulos', 'Rossi', 'Bianchi', 'Müller', 'Schmidt', 'Martin', 'Bernard', 'García', 'López', 'Silva', 'Santos', 'de Vries', 'Jansen', 'Georgiou', 'Ioannou'])[1 + pg_temp.h(g, 26) % 16] AS last,
                     t0 + make_interval(secs => (g - 1)::bigint * span_seconds / n_customers) AS created) n;

-- Every customer has a default address; three in ten have a second one.
INSERT INTO customer_addresses (customer_id, is_default, company, address1, city, province,
                                postcode, country, phone, created_at, updated_at)
SELECT c.id,
       k = 1,
       CASE WHEN pg_temp.h(c.id, 30 + k) % 10 = 0 THEN 'Acme ' || c.lastname END,
       (1 + pg_temp.h(c.id, 32 + k) % 200) || ' ' ||
           (ARRAY['Ermou', 'Via Roma', 'Hauptstraße', 'Rue de la Paix', 'Gran Vía', 'Rua Augusta'])[1 + pg_temp.h(c.id, 34 + k) % 6],
       p.city, p.province,
       p.postcode || lpad((pg_temp.h(c.id, 36 + k) % 100)::text, 2, '0'),
       p.country, c.phone, c.created_at, c.created_at
FROM customers c
CROSS JOIN LATERAL generate_series(1, CASE WHEN pg_temp.h(c.id, 30) % 10 < 3 THEN 2 ELSE 1 END) k
JOIN seed_places p ON p.n = pg_temp.h(c.id, 38 + k) % 10
ORDER BY c.id, k;
ANALYZE customers, customer_addresses;

-- Four customers in ten signed up for the newsletter (some later left), plus guests.
INSERT INTO newsletter_subscriptions (email, customer_id, subscribed, created_at, updated_at)
SELECT c.email, c.id, pg_temp.h(c.id, 41) % 100 < 85, c.created_at, c.updated_at
FROM customers c
WHERE pg_temp.h(c.id, 40) % 10 < 4
UNION ALL
SELECT 'guest.subscriber.' || g || '@example.net', NULL, true,
       t0 + make_interval(secs => pg_temp.h(g, 42) % span_seconds),
       t0 + make_interval(secs => pg_temp.h(g, 42) % span_seconds)
FROM seed_params, generate_series(1, n_customers / 20) g;

-- One customer in ten has an open cart of one to three lines.
INSERT INTO carts (customer_id, created_at, updated_at)
SELECT c.id, c.updated_at, c.updated_at
FROM customers c
WHERE pg_temp.h(c.id, 50) % 10 = 0
ORDER BY c.id;
ANALYZE carts;

INSERT INTO cart_items (cart_id, product_id, option_id, quantity, created_at, updated_at)
SELECT cart.id, s.id,
       s.option_ids[1 + pg_temp.h(cart.id * 4 + k, 52) % cardinality(s.option_ids)],
       1 + (pg_temp.h(cart.id * 4 + k, 53) % 2)::int,
       cart.created_at, cart.created_at
FROM carts cart
CROSS JOIN LATERAL generate_series(1, 1 + (pg_temp.h(cart.id, 51) % 3)::int) k
CROSS JOIN seed_params
JOIN seed_catalog s ON s.id = 1 + (pg_temp.h(cart.id, 54) + k * (n_products / 3 + 1)) % n_products;

INSERT INTO wishlist_items (customer_id, product_id, created_at, updated_at)
SELECT c.id,
       1 + (pg_temp.h(c.id, 61) + k * (n_products / 3 + 1)) % n_products,
       c.updated_at, c.updated_at
FROM customers c
CROSS JOIN seed_params
CROSS JOIN LATERAL generate_series(1, 1 + (pg_temp.h(c.id, 62) % 3)::int) k
WHERE pg_temp.h(c.id, 60) % 100 < 15;

-- Order lines first, in a scratch table, so each order's total is the sum of its lines.
CREATE TEMP TABLE seed_lines ON COMMIT DROP AS
SELECT order_id, product_id, option_id,
       coalesce(s.option_skus[array_position(s.option_ids, option_id)], s.sku) AS sku,
       s.name, quantity,
       coalesce(s.option_prices[array_position(s.option_ids, option_id)], s.price) AS price,
       t0 + make_interval(secs => (order_id - 1)::bigint * span_seconds / n_orders) AS created_at
FROM seed_params
CROSS JOIN generate_series(1, n_orders) order_id
CROSS JOIN LATERAL generate_series(1, 1 + (pg_temp.h(order_id, 70) % 4)::int) k
CROSS JOIN LATERAL (SELECT 1 + (pg_temp.h(order_id, 71) + k * (n_products / 3 + 1)) % n_products AS product_id,
                           CASE WHEN pg_temp.h(order_id * 4 + k, 73) % 10 = 0 THEN 3
                                ELSE 1 + (pg_temp.h(order_id * 4 + k, 74) % 2)::int END AS quantity) pick
JOIN seed_catalog s ON s.id = pick.product_id
CROSS JOIN LATERAL (SELECT s.option_ids[1 + pg_temp.h(order_id * 4 + k, 72) % cardinality(s.option_ids)] AS option_id) o;

ANALYZE seed_lines;

-- 85% of orders come from registered customers who existed by then; the rest are guests.
-- Older orders have moved further along; payment is confirmed once an order is processed.
INSERT INTO orders (id, reference, customer_id, customer_email, status, payment_state,
                    payment_confirmed_at, payment_method, shipping_method, currency, total,
                    delivery_firstname, delivery_lastname, delivery_company, delivery_address1,
                    delivery_city, delivery_province, delivery_postcode, delivery_country,
                    delivery_phone, created_at, updated_at)
SELECT o.id,
       'SB' || lpad(o.id::text, 8, '0'),
       c.id,
       coalesce(c.email, 'guest.' || o.id || '@example.net'),
       o.status,
       CASE o.status WHEN 'pending' THEN 'pending' WHEN 'canceled' THEN 'failed'
                     WHEN 'refunded' THEN 'refunded' ELSE 'confirmed' END::payment_state,
       CASE WHEN o.status NOT IN ('pending', 'canceled')
            THEN o.created_at + make_interval(mins => 1 + (pg_temp.h(o.id, 83) % 120)::int) END,
       (ARRAY['credit card', 'PayPal', 'bank transfer', 'cash on delivery'])[1 + pg_temp.h(o.id, 84) % 4],
       (ARRAY['courier', 'standard post', 'store pickup'])[1 + pg_temp.h(o.id, 85) % 3],
       'EUR',
       t.total,
       coalesce(c.firstname, 'Guest'), coalesce(c.lastname, 'Customer'), a.company,
       coalesce(a.address1, '1 Market Street'),
       coalesce(a.city, gp.city), coalesce(a.province, gp.province),
       coalesce(a.postcode, gp.postcode || '00'), coalesce(a.country, gp.country),
       c.phone,
       o.created_at,
       CASE WHEN o.status = 'pending' THEN o.created_at
            ELSE o.created_at + make_interval(hours => 1 + (pg_temp.h(o.id, 86) % 240)::int) END
FROM (SELECT g AS id,
             t0 + make_interval(secs => (g - 1)::bigint * span_seconds / n_orders) AS created_at,
             CASE WHEN pg_temp.h(g, 80) % 100 < 85
                  THEN 1 + pg_temp.h(g, 81) % greatest(1, g::bigint * n_customers / n_orders) END AS customer_pick,
             CASE WHEN roll < 70 THEN 'delivered' WHEN roll < 80 THEN 'shipped'
                  WHEN roll < 88 THEN 'processing' WHEN roll < 93 THEN 'pending'
                  WHEN roll < 97 THEN 'canceled' ELSE 'refunded' END AS status
      FROM seed_params,
           generate_series(1, n_orders) g,
           LATERAL (SELECT pg_temp.h(g, 82) % 100 AS roll) r) o
JOIN (SELECT order_id, sum(quantity * price) AS total FROM seed_lines GROUP BY order_id) t
    ON t.order_id = o.id
LEFT JOIN customers c ON c.id = o.customer_pick
LEFT JOIN customer_addresses a ON a.customer_id = c.id AND a.is_default
JOIN seed_places gp ON gp.n = pg_temp.h(o.id, 87) % 10;
ANALYZE orders;

INSERT INTO order_items (order_id, product_id, option_id, sku, name, quantity, price, created_at, updated_at)
SELECT order_id, product_id, option_id, sku, name, quantity, price, created_at, created_at
FROM seed_lines;

INSERT INTO shipments (order_id, status, carrier, tracking_number, tracking_url, shipped_at,
                       delivered_at, created_at, updated_at)
SELECT o.id,
       o.status,
       carrier,
       upper(left(carrier, 3)) || lpad((pg_temp.h(o.id, 91) % 10000000000)::text, 10, '0'),
       'https://track.example.com/' || lower(left(carrier, 3)) || '/' || o.id,
       o.payment_confirmed_at + interval '1 day',
       CASE WHEN o.status = 'delivered' THEN o.updated_at END,
       o.payment_confirmed_at + interval '1 day',
       o.updated_at
FROM orders o,
     LATERAL (SELECT (ARRAY['ACS', 'ELTA Courier', 'DHL', 'UPS'])[1 + pg_temp.h(o.id, 90) % 4] AS carrier) c
WHERE o.status IN ('shipped', 'delivered');

INSERT INTO search_queries (customer_id, query, results_count, created_at, updated_at)
SELECT CASE WHEN pg_temp.h(g, 100) % 2 = 0 THEN 1 + pg_temp.h(g, 101) % n_customers END,
       (ARRAY['blue jeans', 'linen dress', 'sneakers', 'gift for her', 'yoga mat', 'mug', 'backpack', 'lamp'])[1 + pg_temp.h(g, 102) % 8],
       (pg_temp.h(g, 103) % 40)::int,
       t0 + make_interval(secs => pg_temp.h(g, 104) % span_seconds),
       t0 + make_interval(secs => pg_temp.h(g, 104) % span_seconds)
FROM seed_params, generate_series(1, n_customers / 2) g;

-- Explicit ids were used above: move the identity sequences past them. Then leave
-- bulk-load mode: indexes and constraints back (checked here), triggers back on.
DO $$
DECLARE
    statement text;
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['brands', 'categories', 'products', 'customers', 'orders'] LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), (SELECT max(id) FROM %I))', t, t);
    END LOOP;
    FOR statement IN SELECT create_sql FROM seed_ddl ORDER BY drop_order DESC LOOP
        EXECUTE statement;
    END LOOP;
    FOR t IN SELECT c.oid::regclass::text FROM pg_class c
             WHERE c.relnamespace = (SELECT namespace FROM seed_schema) AND c.relkind = 'r'
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', t);
    END LOOP;
END
$$;
