-- Product payloads over any shop: the product snapshot and Waymore's product object take
-- the product's key whatever its type, and the discount helpers any row with a discount's
-- columns (the reference `discounts` table, or a mapping's view of the same name), so a
-- mapped shop, whose reference tables are views, uses the same definitions.
DROP FUNCTION product_snapshot(bigint);
DROP FUNCTION waymore_product_json(bigint);
DROP FUNCTION IF EXISTS discount_snapshot(public.discounts);
DROP FUNCTION IF EXISTS waymore_discount(public.discounts);

CREATE FUNCTION discount_snapshot(d anyelement) RETURNS jsonb
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT jsonb_build_object('price', d.price, 'date_start', event_time(d.date_start),
                              'date_end', event_time(d.date_end), 'min_quantity', d.min_quantity)
$$;

CREATE FUNCTION waymore_discount(d anyelement) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT json_build_object(
        'price', d.price,
        'date_start', coalesce(to_char(d.date_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),
        'date_end', coalesce(to_char(d.date_end AT TIME ZONE 'UTC', 'YYYY-MM-DD'), ''),
        'quantity', d.min_quantity)
$$;

CREATE FUNCTION product_snapshot(p_id anyelement) RETURNS jsonb
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

CREATE FUNCTION waymore_product_json(p_id anyelement) RETURNS json
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


-- The walk of a job stage over a relation whose key is not an integer: the keys as they
-- were when the job started, numbered in key order, so the job's parts are ranges of
-- positions (jobs::walk). One list per kind of job and stage: one job of a kind is
-- unfinished at a time, and the next one replaces its list.
CREATE TABLE job_keys (
    kind text NOT NULL,
    stage text NOT NULL,
    n bigint NOT NULL,
    key text NOT NULL,
    PRIMARY KEY (kind, stage, n)
);
