-- Workflows (seed 004): trigger → conditions → action.
--
-- A workflow is a destination of kind 'workflow' that takes its trigger's event: it inherits
-- the event log's guarantees (durable, per-entity order, retries, hold, replay, one send
-- across processes). Its definition (conditions, action) is the destination's config; the
-- `workflows` row adds what the API shows (name, entity type, trigger, managed). Enabled is
-- the destination's `enabled`: a disabled workflow takes no events.

-- What wrote a change, as the transaction said (`SET LOCAL shopbridge.cause`): the actors
-- whose actions, one after another, led to the event, outermost first; null for a change
-- the shop made. A workflow's status update writes with its own id added, and a workflow
-- whose id is already in an event's cause does not run on it: two workflows that would set
-- each other's status stop after one round.
ALTER TABLE events ADD COLUMN cause text[];

CREATE OR REPLACE FUNCTION record_event_unannounced(
    p_name text, p_entity_type text, p_entity_id text, p_ordering_key text, p_payload jsonb,
    p_once boolean DEFAULT false, p_source text DEFAULT 'shop') RETURNS bigint
LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
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

-- shipment.created / shipment.updated as before; an update's payload adds
-- `previous_status`. shipment.shipped / shipment.delivered: the status became 'shipped' /
-- 'delivered' (inserted so, or changed to it), once per change, so a workflow on "delivered"
-- fires once however often the row is touched afterwards.
CREATE OR REPLACE FUNCTION shipment_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
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

-- product.stock_changed / product.out_of_stock as before. product.back_in_stock: that stock
-- went from 0 or below to above 0, with what a "back in stock" message needs.
CREATE OR REPLACE FUNCTION product_stock_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
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

CREATE TABLE workflows (
    guid           uuid PRIMARY KEY,
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    entity_type    text NOT NULL CHECK (entity_type IN ('Order', 'Shipment', 'Customer', 'Product')),
    -- The trigger's code (`shipment_delivered`); the destination takes its event.
    trigger_code   text NOT NULL,
    -- Shipped with shopbridge, off until turned on; can be toggled, not deleted.
    managed        boolean NOT NULL DEFAULT false,
    destination_id bigint NOT NULL UNIQUE REFERENCES destinations (id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_entity_type_idx ON workflows (entity_type, created_at);
CREATE TRIGGER workflows_touch_updated_at BEFORE UPDATE ON workflows
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- One row per workflow and event it ran on: what became of it and every try's answer.
-- `tries` counts since the last resume (the retry budget); `attempts` keeps them all.
CREATE TABLE workflow_executions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_guid uuid NOT NULL REFERENCES workflows (guid) ON DELETE CASCADE,
    event_id      bigint NOT NULL,
    event_name    text NOT NULL,
    entity_type   text NOT NULL,
    entity_id     text NOT NULL,
    action        text NOT NULL,
    state         text NOT NULL
                  CHECK (state IN ('retrying', 'succeeded', 'failed', 'paused', 'skipped')),
    reason        text,
    tries         integer NOT NULL DEFAULT 0,
    attempts      jsonb NOT NULL DEFAULT '[]',
    -- Push subscriptions already sent to, so a retry sends only to the others.
    sent_to       bigint[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workflow_guid, event_id)
);
CREATE INDEX workflow_executions_listing_idx ON workflow_executions (workflow_guid, id DESC);
CREATE INDEX workflow_executions_paused_idx ON workflow_executions (workflow_guid)
    WHERE state = 'paused';
CREATE INDEX workflow_executions_age_idx ON workflow_executions (updated_at);

-- The managed workflows, off until an owner turns them on.
WITH managed (guid, name, entity_type, trigger_code, event, action) AS (VALUES
    ('7d0c5e1a-3b52-4f6e-9a41-1c2d3e4f5a01'::uuid, 'Email the customer when a shipment is delivered',
     'Shipment', 'shipment_delivered', 'shipment.delivered',
     '{"type": "send_email", "recipient": "customer", "template": "delivery_confirmation"}'::jsonb),
    ('7d0c5e1a-3b52-4f6e-9a41-1c2d3e4f5a02', 'Email the customer when a shipment is shipped',
     'Shipment', 'shipment_shipped', 'shipment.shipped',
     '{"type": "send_email", "recipient": "customer", "template": "shipment_shipped"}'),
    ('7d0c5e1a-3b52-4f6e-9a41-1c2d3e4f5a03', 'Email the customer an order confirmation',
     'Order', 'order_created', 'order.created',
     '{"type": "send_email", "recipient": "customer", "template": "order_confirmation"}')
), destination AS (
    INSERT INTO destinations (name, kind, events, config, enabled)
    SELECT 'workflow-' || replace(guid::text, '-', ''), 'workflow', ARRAY[event],
           jsonb_build_object('workflow', guid, 'trigger', trigger_code, 'conditions', '{}'::jsonb,
                              'action', action),
           false
    FROM managed
    RETURNING id, (config ->> 'workflow')::uuid AS guid
)
INSERT INTO workflows (guid, name, entity_type, trigger_code, managed, destination_id)
SELECT m.guid, m.name, m.entity_type, m.trigger_code, true, d.id
FROM managed m JOIN destination d USING (guid);
