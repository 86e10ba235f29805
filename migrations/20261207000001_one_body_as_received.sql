-- The ONe inbox keeps each request body exactly as received, beside what is parsed.
-- PostgreSQL's jsonb cannot hold the NUL character (`\u0000`), which any JSON object may:
-- `payload` (and the shop event's `raw`) hold the parsed object with each NUL written as
-- U+FFFD, `body` the text as ONe sent it. Rows stored before have no body.
ALTER TABLE one_events ADD COLUMN body text;

DROP FUNCTION one_receive(text, text, boolean, text, text, text, text, jsonb);

-- Stores one received ONe event and, when it is a real (not test) event of a known kind for
-- a known customer, records it in the shop event log in the same transaction, as
-- customer.cart_opened / customer.logged_in / customer.offer_opened with source 'one'.
-- Ordering key 'one:customer:<id>': ONe's customer ids are ONe's, not the shop's.
-- Unannounced: the caller announces after the commit. Returns the inbox row's id and the
-- shop event's id (NULL when none was recorded).
CREATE FUNCTION one_receive(p_kind text, p_sent_kind text, p_test boolean,
                            p_customer_id text, p_cart_id text, p_offer_id text,
                            p_problem text, p_payload jsonb, p_body text,
                            OUT id bigint, OUT event_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
    -- The row's id is taken first so the shop event can name it, and the row is written
    -- once, with the event's id.
    id := nextval(pg_get_serial_sequence('one_events', 'id'));
    IF p_kind IS NOT NULL AND NOT p_test AND p_customer_id IS NOT NULL THEN
        event_id := record_event_unannounced(
            CASE p_kind
                WHEN 'cart_opened' THEN 'customer.cart_opened'
                WHEN 'client_logged' THEN 'customer.logged_in'
                WHEN 'offer_opened' THEN 'customer.offer_opened'
            END,
            'customer', p_customer_id, 'one:customer:' || p_customer_id,
            jsonb_build_object('customerId', p_customer_id,
                               'receivedAt', event_time(now()),
                               'oneEventId', id,
                               'raw', p_payload)
            || jsonb_strip_nulls(jsonb_build_object('cartId', p_cart_id, 'offerId', p_offer_id)),
            false, 'one');
    END IF;
    INSERT INTO one_events (id, kind, sent_kind, test, customer_id, cart_id, offer_id, problem,
                            payload, body, event_id)
    VALUES (one_receive.id, p_kind, p_sent_kind, p_test, p_customer_id, p_cart_id, p_offer_id,
            p_problem, p_payload, p_body, one_receive.event_id);
END
$$;
