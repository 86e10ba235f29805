-- Rfmcube's push API (seed 002), for shops Rfmcube cannot reach: the shop sends its customers
-- and orders. The backbone gains request budgets shared by every process; the event log
-- gains customer.deleted and order.updated; Rfmcube keeps what it was last sent.

-- Shared request budgets ---------------------------------------------------------------------

-- A partner's request limit, shared by every process (the limit is the partner's, not a
-- process's): `next_at` is when the next request of `key` may go. A request takes the slot
-- at greatest(next_at, now) and moves next_at one spacing on (GCRA without a burst), so
-- requests go out evenly spaced however many processes ask; a partner's `Retry-After`
-- moves next_at to when it said.
CREATE TABLE rate_limits (
    key     text PRIMARY KEY,
    next_at timestamptz NOT NULL
);

-- Events ------------------------------------------------------------------------------------

-- customer.deleted: a customer deleted in the shop, as it was ({"id", "email"}), so that
-- partners who keep customers remove theirs. Queued behind the customer's earlier events.
CREATE FUNCTION customer_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF event_wanted('customer.deleted') THEN
        PERFORM record_event('customer.deleted', 'customer', OLD.id::text, 'customer:' || OLD.id,
                             jsonb_build_object('id', OLD.id, 'email', OLD.email));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER customer_deleted AFTER DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION customer_deleted();

-- order.updated: an order's amount, buyer, delivery address, methods or items changed (its
-- status and payment have events of their own); the order as committed, once per
-- transaction, and not for an order created in it. Not when the change is the shop letting
-- go of a deleted customer's orders (customer_id set to null by the foreign key): that is
-- the customer's deletion, not a change of the order.
CREATE FUNCTION order_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    -- Separate statements: a field reference is only evaluated for the table that has it.
    IF TG_TABLE_NAME = 'orders' THEN
        v_id := NEW.id;
        IF OLD.customer_id IS NOT NULL AND NEW.customer_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM customers WHERE id = OLD.customer_id) THEN
            RETURN NULL;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        v_id := OLD.order_id;
    ELSE
        v_id := NEW.order_id;
    END IF;
    IF event_wanted('order.updated')
       AND EXISTS (SELECT 1 FROM orders WHERE id = v_id)
       AND NOT event_recorded('order.created', 'order', v_id::text) THEN
        PERFORM record_event('order.updated', 'order', v_id::text, 'order:' || v_id,
                             order_snapshot(v_id), true);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER order_updated AFTER UPDATE ON orders
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.reference, OLD.customer_id, OLD.customer_email, OLD.payment_method,
           OLD.shipping_method, OLD.currency, OLD.total, OLD.delivery_city,
           OLD.delivery_province, OLD.delivery_postcode, OLD.delivery_country)
          IS DISTINCT FROM
          (NEW.reference, NEW.customer_id, NEW.customer_email, NEW.payment_method,
           NEW.shipping_method, NEW.currency, NEW.total, NEW.delivery_city,
           NEW.delivery_province, NEW.delivery_postcode, NEW.delivery_country))
    EXECUTE FUNCTION order_updated();
CREATE CONSTRAINT TRIGGER order_item_changed AFTER INSERT OR UPDATE OR DELETE ON order_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_updated();

-- Rfmcube push ------------------------------------------------------------------------------

-- Guests are grouped by email: a guest's orders, and the first order of each guest.
CREATE INDEX orders_guest_email_idx ON orders (lower(customer_email), id)
    WHERE customer_id IS NULL;

-- What Rfmcube was last sent of each customer and order: an md5 of its JSON as built for
-- sending, so the consistency check finds what differs and sends only that. A customer
-- deleted in the shop stays as a tombstone (`hash` null) with its email: the shop keeps its
-- orders as guest orders, and they are not sent to Rfmcube again.
CREATE TABLE rfmcube_push_sent (
    entity  text NOT NULL CHECK (entity IN ('customer', 'order')),
    id      bigint NOT NULL,
    email   text NOT NULL,
    hash    uuid,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, id)
);
CREATE INDEX rfmcube_push_sent_tombstone_idx ON rfmcube_push_sent (lower(email))
    WHERE hash IS NULL;
