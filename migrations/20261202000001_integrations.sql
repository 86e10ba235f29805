-- Integrations configured at run time (seed 004), their secrets sealed, and Web Push
-- subscriptions.

-- Every secret shopbridge keeps, sealed by the service (XChaCha20-Poly1305 under
-- SHOPBRIDGE_SECRET_KEY or its key file): `sealed` is a version byte, the key's 8-byte id,
-- a 24-byte nonce and the ciphertext. `owner` and `name` are the associated data, so a
-- value copied into another row does not open. Owners: 'destination/<id>' (a destination's
-- secret config), 'integration/<guid>' (its credentials), 'vapid' (the Web Push key pair),
-- 'push_subscription/<id>' (a browser's auth secret).
CREATE TABLE secrets (
    owner      text NOT NULL,
    name       text NOT NULL,
    sealed     bytea NOT NULL CHECK (length(sealed) > 33),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, name)
);
CREATE TRIGGER secrets_touch_updated_at BEFORE UPDATE ON secrets
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- The key a sealed value was sealed under: its 8-byte id.
CREATE FUNCTION sealed_key_id(sealed bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN substring(sealed FROM 2 FOR 8);

-- A rotation finds what is still sealed under an old key.
CREATE INDEX secrets_key_idx ON secrets (sealed_key_id(sealed));

-- A row's secrets go with it.
CREATE FUNCTION forget_secrets() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM secrets WHERE owner = TG_ARGV[0] || '/' || OLD.id::text;
    RETURN NULL;
END
$$;
CREATE TRIGGER destinations_forget_secrets AFTER DELETE ON destinations
    FOR EACH ROW EXECUTE FUNCTION forget_secrets('destination');

-- A provider from the catalog, configured: its settings and the credentials that are not
-- secret (`details`: a store URL, a username); its secret credentials are sealed in
-- `secrets` under 'integration/<id>'. A disabled one is kept but does nothing: its webhooks
-- are answered 503 and its destination is held.
CREATE TABLE integrations (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider       text NOT NULL,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    settings       jsonb NOT NULL DEFAULT '{}',
    details        jsonb NOT NULL DEFAULT '{}',
    -- The destination it feeds, when it has one (Waymore, a webhook).
    destination_id bigint REFERENCES destinations (id) ON DELETE SET NULL,
    -- To the second, as the API shows it.
    connected_at   timestamptz NOT NULL DEFAULT date_trunc('second', now()),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- Providers are configured once each, but for webhooks: a shop has several.
CREATE UNIQUE INDEX integrations_once_per_provider_idx ON integrations (provider)
    WHERE provider <> 'webhook';
CREATE TRIGGER integrations_touch_updated_at BEFORE UPDATE ON integrations
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER integrations_forget_secrets AFTER DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION forget_secrets('integration');

-- A shop connected to Waymore before is an integration already.
INSERT INTO integrations (provider, details, destination_id, connected_at)
SELECT 'waymore', jsonb_build_object('username', c.username), d.id,
       date_trunc('second', c.connected_at)
FROM waymore_connection c LEFT JOIN destinations d ON d.name = 'waymore';

-- Every serve process keeps the integrations in memory: a change to one tells them all at
-- its commit (channel `shopbridge_integrations`). Changing an integration's credentials
-- updates its row in the same transaction.
CREATE FUNCTION integrations_announce() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('shopbridge_integrations', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER integrations_announce AFTER INSERT OR UPDATE OR DELETE ON integrations
    FOR EACH STATEMENT EXECUTE FUNCTION integrations_announce();

-- The shop's VAPID key pair (RFC 8292), made once: the public key is served to the shop's
-- service worker; the private key is sealed under 'vapid'.
CREATE TABLE vapid_keys (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    public_key text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A browser's Web Push subscription: where to send and the key to encrypt to (RFC 8291);
-- its auth secret is sealed under 'push_subscription/<id>'. Saving the same endpoint
-- again updates it.
CREATE TABLE push_subscriptions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint       text NOT NULL UNIQUE,
    p256dh         text NOT NULL,
    customer_id    bigint REFERENCES customers (id) ON DELETE SET NULL,
    customer_email text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscriptions_customer_idx ON push_subscriptions (customer_id)
    WHERE customer_id IS NOT NULL;
CREATE INDEX push_subscriptions_email_idx ON push_subscriptions (lower(customer_email))
    WHERE customer_email IS NOT NULL;
CREATE TRIGGER push_subscriptions_touch_updated_at BEFORE UPDATE ON push_subscriptions
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE TRIGGER push_subscriptions_forget_secrets AFTER DELETE ON push_subscriptions
    FOR EACH ROW EXECUTE FUNCTION forget_secrets('push_subscription');
