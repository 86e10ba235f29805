-- shopbridge's own objects live in a schema of their own, `shopbridge`, so that installing
-- it adds no table to the shop's schema: its event log, deliveries, destinations, jobs,
-- integrations, inboxes and secrets, and the functions its capture runs. Every shopbridge
-- session searches `shopbridge, public` (db::SEARCH_PATH); the trigger functions the shop's
-- own sessions run on the shop's tables set that search path themselves.
--
-- A database migrated before has everything in `public`; a fresh one ran the earlier
-- migrations with shopbridge's search path, so everything is in `shopbridge`. Either way,
-- what follows leaves the reference shop's tables, its `payment_state` type and its two
-- updated_at functions in `public`, and the rest in `shopbridge`. Over a shop mapped from
-- tables of its own (`shopbridge.mapping` set by the migrating session), the fresh reference
-- tables are dropped instead, and nothing moves into `public`. Only functions shopbridge
-- made are moved: the shop's own stay where they are.
DO $$
DECLARE
    shop_tables text[] := ARRAY[
        'brands', 'categories', 'products', 'product_categories', 'product_options',
        'discounts', 'customers', 'customer_addresses', 'newsletter_subscriptions', 'carts',
        'cart_items', 'wishlist_items', 'order_statuses', 'orders', 'order_items',
        'shipments', 'shipment_items', 'search_queries'];
    shop_functions text[] := ARRAY['touch_updated_at', 'touch_parent_updated_at'];
    own_tables text[] := ARRAY[
        'events', 'deliveries', 'delivery_attempts', 'destinations', 'jobs', 'job_stages',
        'job_parts', 'integrations', 'secrets', 'service_secrets', 'rate_limits',
        'cost_buckets', 'one_events', 'push_subscriptions', 'vapid_keys', 'rfmcube_push_sent',
        'shopify_store', 'shopify_webhooks', 'waymore_connection', 'workflows',
        'workflow_executions'];
    own_types text[] := ARRAY['delivery_state', 'job_state', 'shopify_webhook_state'];
    own_functions text[] := ARRAY[
        'cart_updated', 'category_named', 'crawl_horizon', 'customer_created',
        'customer_deleted', 'customer_snapshot', 'customer_updated', 'delivery_queued',
        'destination_takes', 'discount_snapshot', 'event_recorded', 'event_time',
        'event_wanted', 'forget_secrets', 'integrations_announce', 'newsletter_changed',
        'one_receive', 'order_changed', 'order_created', 'order_snapshot', 'order_updated',
        'pending_deliveries', 'product_changed', 'product_snapshot', 'product_stock_changed',
        'record_event', 'record_event_unannounced', 'sealed_key_id', 'search_recorded',
        'shipment_changed', 'shipment_snapshot', 'utc_iso8601', 'waymore_destination_sync',
        'waymore_discount', 'waymore_product_json', 'wishlist_changed'];
    name text;
    f regprocedure;
BEGIN
    IF coalesce(current_setting('shopbridge.mapping', true), '') NOT IN ('', 'reference') THEN
        FOREACH name IN ARRAY shop_tables LOOP
            EXECUTE format('DROP TABLE IF EXISTS shopbridge.%I CASCADE', name);
        END LOOP;
        DROP TYPE IF EXISTS shopbridge.payment_state CASCADE;
        shop_tables := '{}';
        shop_functions := '{}';
    END IF;
    FOREACH name IN ARRAY shop_tables LOOP
        IF to_regclass(format('shopbridge.%I', name)) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE shopbridge.%I SET SCHEMA public', name);
        END IF;
    END LOOP;
    IF to_regtype('shopbridge.payment_state') IS NOT NULL THEN
        ALTER TYPE shopbridge.payment_state SET SCHEMA public;
    END IF;
    FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'shopbridge' AND p.proname = ANY (shop_functions) LOOP
        EXECUTE format('ALTER FUNCTION %s SET SCHEMA public', f);
    END LOOP;

    FOREACH name IN ARRAY own_tables LOOP
        IF to_regclass(format('public.%I', name)) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE public.%I SET SCHEMA shopbridge', name);
        END IF;
    END LOOP;
    FOREACH name IN ARRAY own_types LOOP
        IF to_regtype(format('public.%I', name)) IS NOT NULL THEN
            EXECUTE format('ALTER TYPE public.%I SET SCHEMA shopbridge', name);
        END IF;
    END LOOP;
    FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname = ANY (own_functions) LOOP
        EXECUTE format('ALTER FUNCTION %s SET SCHEMA shopbridge', f);
    END LOOP;

    -- The shop's sessions search only their own schema: capture finds shopbridge's.
    FOR f IN SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'shopbridge' AND p.prorettype = 'trigger'::regtype LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = shopbridge, public', f);
    END LOOP;
END
$$;
