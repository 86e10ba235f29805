-- The tables a Medusa 2.0.0 store reads orders, customers and products from, with the
-- columns, types, keys and indexes of its modules' migrations (order, customer, product):
-- written from those migrations' snapshots, trimmed to the tables shopbridge reads. Medusa's
-- own indexes are partial on `deleted_at IS NOT NULL`, as those migrations make them.

CREATE TABLE customer (
    id text PRIMARY KEY,
    company_name text,
    first_name text,
    last_name text,
    email text,
    phone text,
    has_account boolean NOT NULL DEFAULT false,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    created_by text
);
CREATE UNIQUE INDEX "IDX_customer_email_has_account_unique" ON customer (email, has_account)
    WHERE deleted_at IS NULL;

CREATE TABLE customer_address (
    id text PRIMARY KEY,
    address_name text,
    is_default_shipping boolean NOT NULL DEFAULT false,
    is_default_billing boolean NOT NULL DEFAULT false,
    customer_id text NOT NULL REFERENCES customer (id) ON DELETE CASCADE,
    company text,
    first_name text,
    last_name text,
    address_1 text,
    address_2 text,
    city text,
    country_code text,
    province text,
    postal_code text,
    phone text,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX "IDX_customer_address_customer_id" ON customer_address (customer_id);
CREATE UNIQUE INDEX "IDX_customer_address_unique_customer_shipping" ON customer_address (customer_id)
    WHERE is_default_shipping = true;

CREATE TABLE product_collection (
    id text PRIMARY KEY,
    title text NOT NULL,
    handle text NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE product (
    id text PRIMARY KEY,
    title text NOT NULL,
    handle text NOT NULL,
    subtitle text,
    description text,
    is_giftcard boolean NOT NULL DEFAULT false,
    status text NOT NULL,
    thumbnail text,
    weight text,
    length text,
    height text,
    width text,
    origin_country text,
    hs_code text,
    mid_code text,
    material text,
    collection_id text REFERENCES product_collection (id) ON DELETE SET NULL,
    type_id text,
    discountable boolean NOT NULL DEFAULT true,
    external_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    metadata jsonb,
    CONSTRAINT product_status_check CHECK (status IN ('draft', 'proposed', 'published', 'rejected'))
);
CREATE INDEX "IDX_product_deleted_at" ON product (deleted_at);

CREATE TABLE product_variant (
    id text PRIMARY KEY,
    title text NOT NULL,
    sku text,
    barcode text,
    ean text,
    upc text,
    allow_backorder boolean NOT NULL DEFAULT false,
    manage_inventory boolean NOT NULL DEFAULT true,
    hs_code text,
    origin_country text,
    mid_code text,
    material text,
    weight numeric,
    length numeric,
    height numeric,
    width numeric,
    metadata jsonb,
    variant_rank integer DEFAULT 0,
    product_id text REFERENCES product (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE product_category (
    id text PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    handle text NOT NULL,
    mpath text NOT NULL,
    is_active boolean NOT NULL DEFAULT false,
    is_internal boolean NOT NULL DEFAULT false,
    rank integer NOT NULL DEFAULT 0,
    parent_category_id text REFERENCES product_category (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE product_category_product (
    product_id text NOT NULL REFERENCES product (id) ON DELETE CASCADE,
    product_category_id text NOT NULL REFERENCES product_category (id) ON DELETE CASCADE,
    PRIMARY KEY (product_id, product_category_id)
);

CREATE TABLE order_address (
    id text PRIMARY KEY,
    customer_id text,
    company text,
    first_name text,
    last_name text,
    address_1 text,
    address_2 text,
    city text,
    country_code text,
    province text,
    postal_code text,
    phone text,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "order" (
    id text PRIMARY KEY,
    display_id serial NOT NULL,
    region_id text,
    customer_id text,
    version integer NOT NULL DEFAULT 1,
    sales_channel_id text,
    status text NOT NULL DEFAULT 'pending',
    is_draft_order boolean NOT NULL DEFAULT false,
    email text,
    currency_code text NOT NULL,
    shipping_address_id text REFERENCES order_address (id) ON DELETE SET NULL,
    billing_address_id text REFERENCES order_address (id) ON DELETE SET NULL,
    no_notification boolean,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    canceled_at timestamptz,
    CONSTRAINT order_status_check CHECK (status IN
        ('pending', 'completed', 'draft', 'archived', 'canceled', 'requires_action'))
);
CREATE INDEX "IDX_order_display_id" ON "order" (display_id) WHERE deleted_at IS NOT NULL;
CREATE INDEX "IDX_order_customer_id" ON "order" (customer_id) WHERE deleted_at IS NOT NULL;
CREATE INDEX "IDX_order_deleted_at" ON "order" (deleted_at) WHERE deleted_at IS NOT NULL;

CREATE TABLE order_line_item (
    id text PRIMARY KEY,
    title text NOT NULL,
    subtitle text,
    thumbnail text,
    variant_id text,
    product_id text,
    product_title text,
    product_description text,
    product_subtitle text,
    product_type text,
    product_collection text,
    product_handle text,
    variant_sku text,
    variant_barcode text,
    variant_title text,
    variant_option_values jsonb,
    requires_shipping boolean NOT NULL,
    is_discountable boolean NOT NULL,
    is_tax_inclusive boolean NOT NULL,
    compare_at_unit_price numeric,
    raw_compare_at_unit_price jsonb,
    unit_price numeric,
    raw_unit_price jsonb NOT NULL,
    is_custom_price boolean NOT NULL DEFAULT false,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX "IDX_order_line_item_product_id" ON order_line_item (product_id)
    WHERE deleted_at IS NOT NULL;

CREATE TABLE order_item (
    id text PRIMARY KEY,
    order_id text NOT NULL REFERENCES "order" (id),
    version integer NOT NULL,
    item_id text NOT NULL REFERENCES order_line_item (id),
    unit_price numeric,
    raw_unit_price jsonb,
    compare_at_unit_price numeric,
    raw_compare_at_unit_price jsonb,
    quantity numeric NOT NULL,
    raw_quantity jsonb NOT NULL,
    fulfilled_quantity numeric NOT NULL,
    raw_fulfilled_quantity jsonb NOT NULL,
    delivered_quantity numeric NOT NULL,
    raw_delivered_quantity jsonb NOT NULL,
    shipped_quantity numeric NOT NULL,
    raw_shipped_quantity jsonb NOT NULL,
    return_requested_quantity numeric NOT NULL,
    raw_return_requested_quantity jsonb NOT NULL,
    return_received_quantity numeric NOT NULL,
    raw_return_received_quantity jsonb NOT NULL,
    return_dismissed_quantity numeric NOT NULL,
    raw_return_dismissed_quantity jsonb NOT NULL,
    written_off_quantity numeric NOT NULL,
    raw_written_off_quantity jsonb NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX "IDX_order_item_order_id" ON order_item (order_id) WHERE deleted_at IS NOT NULL;
CREATE INDEX "IDX_order_item_version" ON order_item (version) WHERE deleted_at IS NOT NULL;
CREATE INDEX "IDX_order_item_item_id" ON order_item (item_id) WHERE deleted_at IS NOT NULL;

CREATE TABLE order_summary (
    id text PRIMARY KEY,
    order_id text NOT NULL REFERENCES "order" (id) ON DELETE CASCADE,
    version integer NOT NULL DEFAULT 1,
    totals jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX "IDX_order_summary_order_id_version" ON order_summary (order_id, version)
    WHERE deleted_at IS NOT NULL;

CREATE TABLE order_shipping_method (
    id text PRIMARY KEY,
    name text NOT NULL,
    description jsonb,
    amount numeric NOT NULL,
    raw_amount jsonb NOT NULL,
    is_tax_inclusive boolean NOT NULL DEFAULT false,
    is_custom_amount boolean NOT NULL DEFAULT false,
    shipping_option_id text,
    data jsonb,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE order_shipping (
    id text PRIMARY KEY,
    order_id text NOT NULL REFERENCES "order" (id),
    return_id text,
    exchange_id text,
    claim_id text,
    version integer NOT NULL,
    shipping_method_id text NOT NULL REFERENCES order_shipping_method (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX "IDX_order_shipping_order_id" ON order_shipping (order_id) WHERE deleted_at IS NOT NULL;
