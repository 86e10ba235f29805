-- The tables a Saleor 3.20 store reads users, orders and products from, with the columns,
-- types, keys and indexes its Django models make (saleor/saleor: account, channel, order,
-- product), trimmed to the tables shopbridge reads and what they need. Django names its
-- foreign-key indexes `<table>_<column>_<hash>`; the hashes here are made up.

CREATE TABLE channel_channel (
    id serial PRIMARY KEY,
    name varchar(250) NOT NULL,
    slug varchar(255) NOT NULL UNIQUE,
    is_active boolean NOT NULL,
    currency_code varchar(3) NOT NULL,
    default_country varchar(2) NOT NULL
);

CREATE TABLE account_address (
    id serial PRIMARY KEY,
    first_name varchar(256) NOT NULL,
    last_name varchar(256) NOT NULL,
    company_name varchar(256) NOT NULL,
    street_address_1 varchar(256) NOT NULL,
    street_address_2 varchar(256) NOT NULL,
    city varchar(256) NOT NULL,
    city_area varchar(128) NOT NULL,
    postal_code varchar(20) NOT NULL,
    country varchar(2) NOT NULL,
    country_area varchar(128) NOT NULL,
    phone varchar(128) NOT NULL,
    metadata jsonb,
    private_metadata jsonb,
    validation_skipped boolean NOT NULL DEFAULT false
);

CREATE TABLE account_user (
    id serial PRIMARY KEY,
    password varchar(128) NOT NULL,
    last_login timestamptz,
    email varchar(254) NOT NULL UNIQUE,
    first_name varchar(256) NOT NULL,
    last_name varchar(256) NOT NULL,
    is_staff boolean NOT NULL,
    is_active boolean NOT NULL,
    is_confirmed boolean NOT NULL,
    note text,
    date_joined timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_password_reset_request timestamptz,
    default_billing_address_id integer REFERENCES account_address (id) DEFERRABLE INITIALLY DEFERRED,
    default_shipping_address_id integer REFERENCES account_address (id) DEFERRABLE INITIALLY DEFERRED,
    language_code varchar(35) NOT NULL,
    uuid uuid NOT NULL UNIQUE,
    metadata jsonb,
    private_metadata jsonb,
    search_document text NOT NULL,
    external_reference varchar(250) UNIQUE
);
CREATE INDEX account_user_updated_at_8e9a0c3c ON account_user (updated_at);
CREATE INDEX account_user_default_shipping_address_id_1b1e5f1d
    ON account_user (default_shipping_address_id);

CREATE TABLE account_user_addresses (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES account_user (id) DEFERRABLE INITIALLY DEFERRED,
    address_id integer NOT NULL REFERENCES account_address (id) DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (user_id, address_id)
);
CREATE INDEX account_user_addresses_user_id_2fcc460f ON account_user_addresses (user_id);
CREATE INDEX account_user_addresses_address_id_ad6a3b36 ON account_user_addresses (address_id);

CREATE TABLE product_category (
    id serial PRIMARY KEY,
    name varchar(250) NOT NULL,
    slug varchar(255) NOT NULL UNIQUE,
    description jsonb,
    description_plaintext text NOT NULL,
    parent_id integer REFERENCES product_category (id) DEFERRABLE INITIALLY DEFERRED,
    lft integer NOT NULL,
    rght integer NOT NULL,
    tree_id integer NOT NULL,
    level integer NOT NULL,
    seo_title varchar(70),
    seo_description varchar(300),
    metadata jsonb,
    private_metadata jsonb,
    updated_at timestamptz NOT NULL
);

CREATE TABLE product_producttype (
    id serial PRIMARY KEY,
    name varchar(250) NOT NULL,
    slug varchar(255) NOT NULL UNIQUE,
    kind varchar(32) NOT NULL,
    has_variants boolean NOT NULL,
    is_shipping_required boolean NOT NULL
);

CREATE TABLE product_product (
    id serial PRIMARY KEY,
    name varchar(250) NOT NULL,
    slug varchar(255) NOT NULL UNIQUE,
    description jsonb,
    description_plaintext text NOT NULL,
    product_type_id integer NOT NULL REFERENCES product_producttype (id) DEFERRABLE INITIALLY DEFERRED,
    category_id integer REFERENCES product_category (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    weight double precision,
    default_variant_id integer,
    rating double precision,
    search_document text NOT NULL,
    search_index_dirty boolean NOT NULL,
    seo_title varchar(70),
    seo_description varchar(300),
    metadata jsonb,
    private_metadata jsonb,
    external_reference varchar(250) UNIQUE
);
CREATE INDEX product_product_category_id_0c725779 ON product_product (category_id);
CREATE INDEX product_product_updated_at_3e8d5d84 ON product_product (updated_at);

CREATE TABLE product_productvariant (
    id serial PRIMARY KEY,
    sku varchar(255) UNIQUE,
    name varchar(255) NOT NULL,
    product_id integer NOT NULL REFERENCES product_product (id) DEFERRABLE INITIALLY DEFERRED,
    track_inventory boolean NOT NULL,
    is_preorder boolean NOT NULL,
    preorder_end_date timestamptz,
    preorder_global_threshold integer,
    quantity_limit_per_customer integer,
    weight double precision,
    sort_order integer,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    metadata jsonb,
    private_metadata jsonb,
    external_reference varchar(250) UNIQUE
);
CREATE INDEX product_productvariant_product_id_43c5a310 ON product_productvariant (product_id);

CREATE SEQUENCE order_order_number_seq;

CREATE TABLE order_order (
    id uuid PRIMARY KEY,
    number integer NOT NULL UNIQUE DEFAULT nextval('order_order_number_seq'),
    use_old_id boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expired_at timestamptz,
    status varchar(32) NOT NULL,
    authorize_status varchar(32) NOT NULL,
    charge_status varchar(32) NOT NULL,
    user_id integer REFERENCES account_user (id) DEFERRABLE INITIALLY DEFERRED,
    language_code varchar(35) NOT NULL,
    tracking_client_id varchar(36) NOT NULL,
    billing_address_id integer REFERENCES account_address (id) DEFERRABLE INITIALLY DEFERRED,
    shipping_address_id integer REFERENCES account_address (id) DEFERRABLE INITIALLY DEFERRED,
    user_email varchar(254) NOT NULL,
    original_id uuid REFERENCES order_order (id) DEFERRABLE INITIALLY DEFERRED,
    origin varchar(32) NOT NULL,
    currency varchar(3) NOT NULL,
    shipping_method_name varchar(255),
    collection_point_name varchar(255),
    channel_id integer NOT NULL REFERENCES channel_channel (id) DEFERRABLE INITIALLY DEFERRED,
    shipping_price_net_amount numeric(12, 3) NOT NULL,
    shipping_price_gross_amount numeric(12, 3) NOT NULL,
    base_shipping_price_amount numeric(12, 3) NOT NULL,
    undiscounted_base_shipping_price_amount numeric(12, 3) NOT NULL,
    checkout_token varchar(36) NOT NULL,
    total_net_amount numeric(12, 3) NOT NULL,
    undiscounted_total_net_amount numeric(12, 3) NOT NULL,
    total_gross_amount numeric(12, 3) NOT NULL,
    undiscounted_total_gross_amount numeric(12, 3) NOT NULL,
    total_charged_amount numeric(12, 3) NOT NULL,
    total_authorized_amount numeric(12, 3) NOT NULL,
    subtotal_net_amount numeric(12, 3) NOT NULL,
    subtotal_gross_amount numeric(12, 3) NOT NULL,
    voucher_code varchar(255),
    display_gross_prices boolean NOT NULL,
    customer_note text NOT NULL,
    weight double precision NOT NULL,
    redirect_url varchar(200),
    search_document text NOT NULL,
    should_refresh_prices boolean NOT NULL,
    tax_exemption boolean NOT NULL,
    metadata jsonb,
    private_metadata jsonb,
    external_reference varchar(250) UNIQUE
);
CREATE INDEX order_order_updated_at_a8b1b0d4 ON order_order (updated_at);
CREATE INDEX idx_order_created_at ON order_order (created_at);
CREATE INDEX order_order_user_id_7cf9bc2b ON order_order (user_id);
CREATE INDEX order_order_shipping_address_id_57e64931 ON order_order (shipping_address_id);

CREATE TABLE order_orderline (
    id uuid PRIMARY KEY,
    old_id integer UNIQUE,
    created_at timestamptz NOT NULL,
    order_id uuid NOT NULL REFERENCES order_order (id) DEFERRABLE INITIALLY DEFERRED,
    variant_id integer REFERENCES product_productvariant (id) DEFERRABLE INITIALLY DEFERRED,
    product_name varchar(386) NOT NULL,
    variant_name varchar(255) NOT NULL,
    translated_product_name varchar(386) NOT NULL,
    translated_variant_name varchar(255) NOT NULL,
    product_sku varchar(255),
    product_variant_id varchar(255),
    is_shipping_required boolean NOT NULL,
    is_gift_card boolean NOT NULL,
    quantity integer NOT NULL,
    quantity_fulfilled integer NOT NULL,
    is_gift boolean NOT NULL,
    currency varchar(3) NOT NULL,
    unit_discount_amount numeric(12, 3) NOT NULL,
    unit_discount_type varchar(10),
    unit_discount_reason text,
    unit_discount_value numeric(12, 3) NOT NULL,
    unit_price_net_amount numeric(12, 3) NOT NULL,
    unit_price_gross_amount numeric(12, 3) NOT NULL,
    total_price_net_amount numeric(12, 3) NOT NULL,
    total_price_gross_amount numeric(12, 3) NOT NULL,
    undiscounted_unit_price_gross_amount numeric(12, 3) NOT NULL,
    undiscounted_unit_price_net_amount numeric(12, 3) NOT NULL,
    undiscounted_total_price_gross_amount numeric(12, 3) NOT NULL,
    undiscounted_total_price_net_amount numeric(12, 3) NOT NULL,
    base_unit_price_amount numeric(12, 3) NOT NULL,
    undiscounted_base_unit_price_amount numeric(12, 3) NOT NULL,
    tax_rate numeric(5, 4),
    is_price_overridden boolean,
    voucher_code varchar(255),
    sale_id varchar(255),
    draft_base_price_expire_at timestamptz,
    metadata jsonb,
    private_metadata jsonb
);
CREATE INDEX order_orderline_order_id_eb04ec2d ON order_orderline (order_id);
CREATE INDEX order_orderline_variant_id_866774cb ON order_orderline (variant_id);
