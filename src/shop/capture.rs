//! Capture over a mapped shop: the triggers that feed the event log, generated from the
//! mapping's watches. Each watched table gets one deferred row trigger whose function finds
//! the key of the entity the changed row belongs to; at commit, that entity is read through
//! the mapping (the same snapshot the reference triggers record) and recorded as created,
//! updated or deleted, once per transaction and entity, in order under the entity's key.

use super::SCHEMA;

/// The entities capture knows on a mapped shop: their event names and snapshots.
pub struct Entity {
    pub name: &'static str,
    /// The reference relation the entity is read from.
    pub relation: &'static str,
    pub snapshot: &'static str,
    /// Whether the entity has a `.deleted` event.
    pub deletes: bool,
}

pub const ENTITIES: &[Entity] = &[
    Entity {
        name: "customer",
        relation: "customers",
        snapshot: "customer_snapshot",
        deletes: true,
    },
    Entity {
        name: "order",
        relation: "orders",
        snapshot: "order_snapshot",
        deletes: false,
    },
    Entity {
        name: "product",
        relation: "products",
        snapshot: "product_snapshot",
        deletes: false,
    },
];

/// One `watch()` of the mapping.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Watch {
    pub entity: String,
    /// The watched table, as `regclass` prints it.
    pub source: String,
    /// The entity's key, an SQL expression over the changed row `r`.
    pub key: String,
    /// This is the entity's own table: an insert creates the entity; a delete (or an update
    /// after which the entity no longer reads) deletes it.
    pub creates: bool,
}

/// Records `{entity}.created/updated/deleted` for the key `p_id` at commit, called by the
/// trigger of a change (`p_op`) to a row of the entity's own table (`p_own`) or of a table
/// that changes it. When this transaction also wrote the entity's own row, the own row's
/// trigger decides (it alone knows an insert from an update), whichever fires first. An
/// update that leaves the entity as it was last recorded is no event; a deletion is
/// recorded once.
const ENTITY_FUNCTION: &str = r#"
CREATE FUNCTION {schema}.{entity}_captured(p_id {key_type}, p_op text, p_own boolean)
RETURNS void LANGUAGE plpgsql SET search_path = {schema}, shopbridge, public AS $f$
DECLARE
    v_id text := p_id::text;
    v_key text := '{entity}:' || p_id;
    v_created boolean := p_own AND p_op = 'INSERT';
    v_last events;
    v_snapshot jsonb;
BEGIN
    IF p_id IS NULL OR event_recorded('{entity}.created', '{entity}', v_id)
       OR event_recorded('{entity}.updated', '{entity}', v_id) THEN
        RETURN;
    END IF;
    IF NOT p_own AND {own_row_written} THEN
        RETURN;
    END IF;
    SELECT * INTO v_last FROM events
    WHERE entity_type = '{entity}' AND entity_id = v_id ORDER BY id DESC LIMIT 1;
    IF EXISTS (SELECT 1 FROM {relation} WHERE id = p_id) THEN
        IF v_created AND event_wanted('{entity}.created') THEN
            PERFORM record_event('{entity}.created', '{entity}', v_id, v_key,
                                 {snapshot}(p_id), true);
        ELSIF NOT v_created AND event_wanted('{entity}.updated') THEN
            v_snapshot := {snapshot}(p_id);
            IF v_last.payload IS DISTINCT FROM v_snapshot
               OR v_last.name NOT IN ('{entity}.created', '{entity}.updated') THEN
                PERFORM record_event('{entity}.updated', '{entity}', v_id, v_key, v_snapshot, true);
            END IF;
        END IF;
    ELSIF p_own AND p_op <> 'INSERT' AND {deletes} AND v_last.name IS DISTINCT FROM '{entity}.deleted'
          AND event_wanted('{entity}.deleted') THEN
        PERFORM record_event('{entity}.deleted', '{entity}', v_id, v_key, jsonb_build_object(
            'id', p_id, 'email', v_last.payload -> '{entity}' ->> 'email'), true);
    END IF;
END
$f$;
"#;

/// The trigger of watch number `{n}` on `{source}`.
const WATCH_TRIGGER: &str = r#"
CREATE FUNCTION {schema}.capture_{n}() RETURNS trigger LANGUAGE plpgsql
SET search_path = {schema}, shopbridge, public AS $f$
DECLARE
    r {source};
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    PERFORM {entity}_captured(({key})::{key_type}, TG_OP, {creates});
    RETURN NULL;
END
$f$;
CREATE CONSTRAINT TRIGGER shopbridge_capture_{n} AFTER INSERT OR UPDATE OR DELETE ON {source}
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.capture_{n}();
"#;

/// The capture SQL for `watches`, each entity's key being of type `key_type(relation)`.
pub fn generate(watches: &[Watch], key_type: impl Fn(&str) -> String) -> Result<String, String> {
    let mut sql = String::new();
    for entity in ENTITIES {
        if !watches.iter().any(|w| w.entity == entity.name) {
            continue;
        }
        // The own row was inserted or updated by this transaction (its version is ours).
        let own_row_written = match watches.iter().find(|w| w.entity == entity.name && w.creates)
        {
            Some(own) => format!(
                "EXISTS (SELECT 1 FROM {} r WHERE ({}) = p_id AND r.xmin = pg_current_xact_id()::xid)",
                own.source, own.key
            ),
            None => "false".into(),
        };
        sql.push_str(
            &ENTITY_FUNCTION
                .replace("{schema}", SCHEMA)
                .replace("{entity}", entity.name)
                .replace("{relation}", entity.relation)
                .replace("{snapshot}", entity.snapshot)
                .replace("{deletes}", if entity.deletes { "true" } else { "false" })
                .replace("{own_row_written}", &own_row_written)
                .replace("{key_type}", &key_type(entity.relation)),
        );
    }
    for (n, watch) in watches.iter().enumerate() {
        let entity = ENTITIES
            .iter()
            .find(|e| e.name == watch.entity)
            .ok_or_else(|| {
                let known: Vec<_> = ENTITIES.iter().map(|e| e.name).collect();
                format!(
                    "watch on {}: no entity `{}` (capture knows {})",
                    watch.source,
                    watch.entity,
                    known.join(", ")
                )
            })?;
        sql.push_str(
            &WATCH_TRIGGER
                .replace("{schema}", SCHEMA)
                .replace("{n}", &(n + 1).to_string())
                .replace("{source}", &watch.source)
                .replace("{entity}", entity.name)
                .replace("{key}", &watch.key)
                .replace("{creates}", if watch.creates { "true" } else { "false" })
                .replace("{key_type}", &key_type(entity.relation)),
        );
    }
    Ok(sql)
}

/// What the generated SQL depends on besides the watches, for the installed fingerprint.
pub const TEMPLATES: [&str; 2] = [ENTITY_FUNCTION, WATCH_TRIGGER];
