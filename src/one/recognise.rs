//! What an ONe webhook payload says. ONe does not publish its payload fields, so any JSON
//! object is accepted and read by these rules:
//!
//! - **Where**: the object itself first, then the objects nested in it, breadth first (so
//!   `{"data": {"customerId": …}}` works); the first match wins.
//! - **Field names** are compared ignoring case, `_`, `-`, `.` and spaces: `customerId`,
//!   `customer_id` and `CUSTOMER-ID` are one name.
//! - **Kind**: the string in `event`, `eventType`, `eventName`, `type`, `callingEvent`,
//!   `trigger`, `action`, `topic`, `kind` or `name`, compared on its letters only:
//!   "cart" + "open" → cart opened (`Cart opened`, `CART_OPENED`, `cart.opened`);
//!   "logged", "login" or "signedin" → client logged (`Client logged`, `CLIENT_LOGGED`, `customer.logged_in`);
//!   "offer" + "open" → offer opened (`OfferOpened BO`, `OFFER_OPENED`);
//!   "test" alone → a test event.
//! - **Test**: a kind of "test", or a `test` / `isTest` / `testWebhook` field that is `true`.
//! - **Ids**: customer from `customerId`, `clientId`, `userId`, `customer.id`, `client.id`,
//!   `user.id`; cart from `cartId`, `shoppingCartId`, `basketId`, `cart.id`; offer from
//!   `offerId`, `offer.id`. Strings or numbers; blank or longer than 255 characters is none.
//!
//! What is not found is reported in `problem`, and the event is stored and shown anyway.

use std::collections::VecDeque;

use serde_json::{Map, Value};

/// The three events ONe can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CartOpened,
    ClientLogged,
    OfferOpened,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::CartOpened, Kind::ClientLogged, Kind::OfferOpened];

    /// As stored and as filtered on.
    pub fn code(self) -> &'static str {
        match self {
            Kind::CartOpened => "cart_opened",
            Kind::ClientLogged => "client_logged",
            Kind::OfferOpened => "offer_opened",
        }
    }

    /// As ONe's configuration names it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::CartOpened => "Cart opened",
            Kind::ClientLogged => "Client logged",
            Kind::OfferOpened => "Offer opened",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A received payload, read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recognised {
    pub kind: Option<Kind>,
    /// The kind as sent, when a kind field held a string.
    pub sent_kind: Option<String>,
    pub test: bool,
    pub customer_id: Option<String>,
    pub cart_id: Option<String>,
    pub offer_id: Option<String>,
    /// What is missing, for the page; `None` when the event is complete.
    pub problem: Option<String>,
}

const KIND_FIELDS: [&str; 10] = [
    "event",
    "eventtype",
    "eventname",
    "type",
    "callingevent",
    "trigger",
    "action",
    "topic",
    "kind",
    "name",
];
const TEST_FIELDS: [&str; 3] = ["test", "istest", "testwebhook"];
const CUSTOMER_FIELDS: [&str; 3] = ["customerid", "clientid", "userid"];
const CUSTOMER_OBJECTS: [&str; 3] = ["customer", "client", "user"];
const CART_FIELDS: [&str; 3] = ["cartid", "shoppingcartid", "basketid"];
const CART_OBJECTS: [&str; 2] = ["cart", "basket"];
const OFFER_FIELDS: [&str; 1] = ["offerid"];
const OFFER_OBJECTS: [&str; 1] = ["offer"];

/// Deeper nesting than this is not searched; ONe's wrappers are shallow.
const MAX_DEPTH: usize = 4;
const MAX_ID_CHARS: usize = 255;

pub fn recognise(payload: &Map<String, Value>) -> Recognised {
    let objects = objects_breadth_first(payload);
    let sent_kind = objects.iter().find_map(|object| {
        fields(object, &KIND_FIELDS)
            .filter_map(Value::as_str)
            .find(|name| parse_kind(name).is_some())
    });
    let sent_kind = sent_kind.or_else(|| {
        objects.iter().find_map(|object| {
            fields(object, &KIND_FIELDS[..5])
                .filter_map(Value::as_str)
                .next()
        })
    });
    let parsed = sent_kind.and_then(parse_kind);
    let kind = match parsed {
        Some(SentKind::Event(kind)) => Some(kind),
        _ => None,
    };
    let test = parsed == Some(SentKind::Test)
        || objects.iter().any(|object| {
            fields(object, &TEST_FIELDS).any(|v| v.as_bool() == Some(true) || v == "true")
        });
    let customer_id = find_id(&objects, &CUSTOMER_FIELDS, &CUSTOMER_OBJECTS);
    let cart_id = find_id(&objects, &CART_FIELDS, &CART_OBJECTS);
    let offer_id = find_id(&objects, &OFFER_FIELDS, &OFFER_OBJECTS);
    let mut missing = Vec::new();
    if kind.is_none() && !test {
        missing.push("no recognised event kind");
    }
    if customer_id.is_none() {
        missing.push("no customer id");
    }
    match kind {
        Some(Kind::CartOpened) if cart_id.is_none() => missing.push("no cart id"),
        Some(Kind::OfferOpened) if offer_id.is_none() => missing.push("no offer id"),
        _ => {}
    }
    Recognised {
        kind,
        sent_kind: sent_kind.map(|s| s.chars().take(MAX_ID_CHARS).collect()),
        test,
        customer_id,
        cart_id,
        offer_id,
        problem: (!missing.is_empty()).then(|| missing.join(", ")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentKind {
    Event(Kind),
    Test,
}

fn parse_kind(name: &str) -> Option<SentKind> {
    let letters: String = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if letters.contains("cart") && letters.contains("open") {
        Some(SentKind::Event(Kind::CartOpened))
    } else if letters.contains("offer") && letters.contains("open") {
        Some(SentKind::Event(Kind::OfferOpened))
    } else if ["logged", "login", "signedin"]
        .iter()
        .any(|word| letters.contains(word))
    {
        Some(SentKind::Event(Kind::ClientLogged))
    } else if letters.contains("test") {
        Some(SentKind::Test)
    } else {
        None
    }
}

/// The payload and every object within `MAX_DEPTH`, in breadth-first order (arrays are
/// looked into too).
fn objects_breadth_first(payload: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    let mut found = Vec::new();
    let mut queue = VecDeque::from([(payload, 0)]);
    while let Some((object, depth)) = queue.pop_front() {
        found.push(object);
        if depth == MAX_DEPTH {
            continue;
        }
        let mut children: VecDeque<&Value> = object.values().collect();
        while let Some(value) = children.pop_front() {
            match value {
                Value::Object(child) => queue.push_back((child, depth + 1)),
                Value::Array(items) if depth + 1 < MAX_DEPTH => children.extend(items),
                _ => {}
            }
        }
    }
    found
}

/// The values of `object`'s fields whose normalised names are in `names`, in `names` order.
fn fields<'a>(
    object: &'a Map<String, Value>,
    names: &'a [&str],
) -> impl Iterator<Item = &'a Value> + 'a {
    names.iter().flat_map(move |name| {
        object
            .iter()
            .filter(move |(key, _)| normalise(key) == *name)
            .map(|(_, value)| value)
    })
}

fn find_id(
    objects: &[&Map<String, Value>],
    id_fields: &[&str],
    id_objects: &[&str],
) -> Option<String> {
    objects.iter().find_map(|object| {
        fields(object, id_fields).find_map(scalar_id).or_else(|| {
            fields(object, id_objects)
                .filter_map(Value::as_object)
                .find_map(|inner| fields(inner, &["id"]).find_map(scalar_id))
        })
    })
}

fn scalar_id(value: &Value) -> Option<String> {
    let id = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!id.is_empty() && id.chars().count() <= MAX_ID_CHARS).then_some(id)
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(payload: Value) -> Recognised {
        recognise(payload.as_object().unwrap())
    }

    #[test]
    fn naming_variants_of_one_event_read_the_same() {
        let a = read(json!({"event": "Cart opened", "customerId": "c-1", "cartId": 77}));
        let b = read(json!({"eventType": "CART_OPENED", "customer_id": "c-1", "cart_id": "77"}));
        assert_eq!(a.kind, Some(Kind::CartOpened));
        assert_eq!(
            (a.customer_id.as_deref(), a.cart_id.as_deref()),
            (Some("c-1"), Some("77"))
        );
        assert_eq!(
            (b.kind, b.customer_id, b.cart_id),
            (a.kind, a.customer_id, a.cart_id)
        );
        assert_eq!(a.problem, None);
    }

    #[test]
    fn ids_are_found_in_nested_objects_and_under_entity_objects() {
        let r = read(json!({
            "type": "OfferOpened BO",
            "data": {"client": {"id": 12345678901234567890u64}, "offer": {"id": "o-9"}}
        }));
        assert_eq!(r.kind, Some(Kind::OfferOpened));
        assert_eq!(r.customer_id.as_deref(), Some("12345678901234567890"));
        assert_eq!(r.offer_id.as_deref(), Some("o-9"));
    }

    #[test]
    fn a_name_field_holding_a_person_does_not_hide_the_kind() {
        let r = read(json!({"name": "Maria", "data": {"event": "CLIENT_LOGGED", "clientId": 5}}));
        assert_eq!(r.kind, Some(Kind::ClientLogged));
        assert_eq!(r.sent_kind.as_deref(), Some("CLIENT_LOGGED"));
    }

    #[test]
    fn a_test_is_recognised_by_kind_or_by_flag() {
        let by_kind = read(json!({"event": "TEST_WEBHOOK"}));
        assert!(by_kind.test);
        assert_eq!(by_kind.kind, None);
        let by_flag = read(json!({"event": "Cart opened", "isTest": true, "customerId": 1}));
        assert!(by_flag.test);
        assert_eq!(by_flag.kind, Some(Kind::CartOpened));
    }

    #[test]
    fn what_cannot_be_recognised_is_named() {
        let r = read(json!({"event": "order.paid", "foo": [1, 2]}));
        assert_eq!(r.kind, None);
        assert_eq!(r.sent_kind.as_deref(), Some("order.paid"));
        assert_eq!(
            r.problem.as_deref(),
            Some("no recognised event kind, no customer id")
        );
        let r = read(json!({"event": "Cart opened", "customerId": "  "}));
        assert_eq!(r.problem.as_deref(), Some("no customer id, no cart id"));
    }

    #[test]
    fn overlong_ids_are_not_taken() {
        let r = read(json!({"event": "Client logged", "customerId": "x".repeat(300)}));
        assert_eq!(r.customer_id, None);
    }
}
