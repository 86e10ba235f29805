//! A workflow's conditions, matched against its event's payload. Every field must match:
//!
//! - `"status": "delivered"`: equal (as in the seed);
//! - `"status": {"in": ["shipped", "delivered"]}` / `{"notIn": […]}`;
//! - `"total": {"gte": 100}`, and `gt`, `lt`, `lte`, `eq`, `ne`;
//! - `"status": {"from": "shipped", "to": "delivered"}`: a change, `from` matched against
//!   the payload's `previous_<field>` (so only where the trigger's payload has it).
//!
//! Several operators on one field must all hold. A field the trigger's payload does not have
//! is refused when the workflow is configured, not left to never match.

use serde_json::{Map, Value};

use super::triggers::Trigger;

#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    /// The field's previous value (`previous_<field>`).
    From(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub test: Test,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions(pub Vec<Condition>);

/// Why a condition cannot be taken; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("conditions.{field}: {problem}")]
pub struct Invalid {
    pub field: String,
    pub problem: String,
}

const MAX_CONDITIONS: usize = 50;
const MAX_LIST: usize = 100;

impl Conditions {
    /// Reads the conditions for `trigger`: each field must be one its payload has.
    pub fn parse(value: &Value, trigger: &Trigger) -> Result<Self, Invalid> {
        let invalid = |field: &str, problem: String| Invalid {
            field: field.to_owned(),
            problem,
        };
        let object = match value {
            Value::Null => return Ok(Conditions::default()),
            Value::Object(object) => object,
            _ => {
                return Err(invalid(
                    "",
                    "must be an object of field: value or field: {operator: value}.".into(),
                ))
            }
        };
        if object.len() > MAX_CONDITIONS {
            return Err(invalid("", format!("at most {MAX_CONDITIONS} fields.")));
        }
        let mut conditions = Vec::new();
        for (field, wanted) in object {
            if !trigger.has_field(field) {
                return Err(invalid(
                    field,
                    format!(
                        "the {} trigger's payload has no such field; it has: {}.",
                        trigger.code,
                        trigger.fields.join(", ")
                    ),
                ));
            }
            let tests = match wanted {
                Value::Object(operators) => operators_of(operators, field, trigger)
                    .map_err(|problem| invalid(field, problem))?,
                plain => vec![Test::Eq(plain.clone())],
            };
            conditions.extend(tests.into_iter().map(|test| Condition {
                field: field.clone(),
                test,
            }));
        }
        Ok(Conditions(conditions))
    }

    /// The first condition `payload` does not meet, said in words; `None` when all hold.
    pub fn unmet(&self, trigger: &Trigger, payload: &Value) -> Option<String> {
        self.0.iter().find_map(|condition| {
            let actual = match &condition.test {
                Test::From(_) => trigger.value(payload, &format!("previous_{}", condition.field)),
                _ => trigger.value(payload, &condition.field),
            };
            (!condition.test.holds(actual)).then(|| {
                format!(
                    "{} {}, wanted {}",
                    match condition.test {
                        Test::From(_) => format!("previous_{}", condition.field),
                        _ => condition.field.clone(),
                    },
                    actual.map_or("is missing".to_owned(), |v| format!("is {v}")),
                    condition.test.describe()
                )
            })
        })
    }

    /// As configured, for listings.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        for condition in &self.0 {
            let entry = object
                .entry(condition.field.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let (operator, value) = condition.test.wire();
            if let Value::Object(operators) = entry {
                operators.insert(operator.to_owned(), value);
            }
        }
        // A field tested for equality alone reads as in the seed: `"status": "delivered"`.
        for value in object.values_mut() {
            if let Value::Object(operators) = value {
                if operators.len() == 1 {
                    if let Some(eq) = operators.get("eq") {
                        *value = eq.clone();
                    }
                }
            }
        }
        Value::Object(object)
    }
}

fn operators_of(
    operators: &Map<String, Value>,
    field: &str,
    trigger: &Trigger,
) -> Result<Vec<Test>, String> {
    if operators.is_empty() {
        return Err(
            "give at least one operator: eq, ne, in, notIn, gt, gte, lt, lte, from, to.".into(),
        );
    }
    let number = |name: &str, value: &Value| {
        value
            .as_f64()
            .ok_or_else(|| format!("{name} takes a number."))
    };
    let list = |name: &str, value: &Value| match value {
        Value::Array(items) if !items.is_empty() && items.len() <= MAX_LIST => Ok(items.clone()),
        _ => Err(format!("{name} takes a list of 1 to {MAX_LIST} values.")),
    };
    operators
        .iter()
        .map(|(name, value)| {
            Ok(match name.as_str() {
                "eq" | "to" => Test::Eq(value.clone()),
                "ne" => Test::Ne(value.clone()),
                "in" => Test::In(list(name, value)?),
                "notIn" => Test::NotIn(list(name, value)?),
                "gt" => Test::Gt(number(name, value)?),
                "gte" => Test::Gte(number(name, value)?),
                "lt" => Test::Lt(number(name, value)?),
                "lte" => Test::Lte(number(name, value)?),
                "from" if trigger.has_field(&format!("previous_{field}")) => {
                    Test::From(value.clone())
                }
                "from" => {
                    return Err(format!(
                        "from needs the previous value, which the {} trigger's payload does \
                         not carry for this field.",
                        trigger.code
                    ))
                }
                other => {
                    return Err(format!(
                        "unknown operator {other:?}; use eq, ne, in, notIn, gt, gte, lt, lte, \
                         from, to."
                    ))
                }
            })
        })
        .collect()
}

/// Numbers compare as numbers whether the payload or the condition wrote them as text.
fn same(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|n: &f64| n.is_finite()),
        _ => None,
    }
}

impl Test {
    fn holds(&self, actual: Option<&Value>) -> bool {
        let compare = |limit: f64, ok: fn(f64, f64) -> bool| {
            actual.and_then(number).is_some_and(|n| ok(n, limit))
        };
        match self {
            Test::Eq(wanted) | Test::From(wanted) => actual.is_some_and(|a| same(a, wanted)),
            Test::Ne(wanted) => !actual.is_some_and(|a| same(a, wanted)),
            Test::In(list) => actual.is_some_and(|a| list.iter().any(|w| same(a, w))),
            Test::NotIn(list) => !actual.is_some_and(|a| list.iter().any(|w| same(a, w))),
            Test::Gt(limit) => compare(*limit, |n, l| n > l),
            Test::Gte(limit) => compare(*limit, |n, l| n >= l),
            Test::Lt(limit) => compare(*limit, |n, l| n < l),
            Test::Lte(limit) => compare(*limit, |n, l| n <= l),
        }
    }

    fn wire(&self) -> (&'static str, Value) {
        let list = |l: &Vec<Value>| Value::Array(l.clone());
        match self {
            Test::Eq(v) => ("eq", v.clone()),
            Test::Ne(v) => ("ne", v.clone()),
            Test::In(l) => ("in", list(l)),
            Test::NotIn(l) => ("notIn", list(l)),
            Test::Gt(n) => ("gt", Value::from(*n)),
            Test::Gte(n) => ("gte", Value::from(*n)),
            Test::Lt(n) => ("lt", Value::from(*n)),
            Test::Lte(n) => ("lte", Value::from(*n)),
            Test::From(v) => ("from", v.clone()),
        }
    }

    fn describe(&self) -> String {
        let (operator, value) = self.wire();
        match operator {
            "eq" | "from" => value.to_string(),
            "ne" => format!("not {value}"),
            "in" => format!("one of {value}"),
            "notIn" => format!("none of {value}"),
            "gt" => format!("> {value}"),
            "gte" => format!(">= {value}"),
            "lt" => format!("< {value}"),
            _ => format!("<= {value}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::triggers::by_code;
    use serde_json::json;

    fn parse(code: &str, conditions: Value) -> Result<Conditions, Invalid> {
        Conditions::parse(&conditions, by_code(code).unwrap())
    }

    #[test]
    fn the_seed_s_equality_matches_the_entity_s_status() {
        let conditions = parse("shipment_delivered", json!({"status": "delivered"})).unwrap();
        let trigger = by_code("shipment_delivered").unwrap();
        assert_eq!(
            conditions.unmet(trigger, &json!({"shipment": {"status": "delivered"}})),
            None
        );
        assert_eq!(
            conditions
                .unmet(trigger, &json!({"shipment": {"status": "shipped"}}))
                .unwrap(),
            "status is \"shipped\", wanted \"delivered\""
        );
    }

    #[test]
    fn lists_numbers_and_changes_are_tested() {
        let trigger = by_code("order_created").unwrap();
        let big = parse(
            "order_created",
            json!({"total": {"gte": 100}, "currency": {"in": ["EUR", "USD"]}}),
        )
        .unwrap();
        assert_eq!(
            big.unmet(
                trigger,
                &json!({"order": {"total": "120.50", "currency": "EUR"}})
            ),
            None
        );
        assert!(big
            .unmet(
                trigger,
                &json!({"order": {"total": 99.99, "currency": "EUR"}})
            )
            .is_some());
        assert!(big
            .unmet(
                trigger,
                &json!({"order": {"total": 120, "currency": "GBP"}})
            )
            .is_some());
        let change = by_code("order_status_changed").unwrap();
        let transition = parse(
            "order_status_changed",
            json!({"status": {"from": "shipped", "to": "delivered"}}),
        )
        .unwrap();
        assert_eq!(
            transition.unmet(
                change,
                &json!({"status": "delivered", "previous_status": "shipped"})
            ),
            None
        );
        assert!(transition
            .unmet(
                change,
                &json!({"status": "delivered", "previous_status": "pending"})
            )
            .is_some());
        let not_in = parse(
            "order_status_changed",
            json!({"status": {"notIn": ["canceled"]}}),
        )
        .unwrap();
        assert!(not_in
            .unmet(change, &json!({"status": "canceled"}))
            .is_some());
    }

    #[test]
    fn an_unknown_field_or_operator_is_refused_naming_it() {
        let error = parse("shipment_delivered", json!({"total": 5})).unwrap_err();
        assert_eq!(error.field, "total");
        assert_eq!(
            parse("order_created", json!({"status": {"like": "x"}}))
                .unwrap_err()
                .field,
            "status"
        );
        assert_eq!(
            parse("order_created", json!({"total": {"gte": "a lot"}}))
                .unwrap_err()
                .field,
            "total"
        );
        let from = parse("order_created", json!({"status": {"from": "new"}})).unwrap_err();
        assert!(from.problem.contains("previous"), "{from}");
        assert!(parse("order_created", json!(["status"])).is_err());
    }

    #[test]
    fn conditions_read_back_as_configured() {
        let given = json!({"status": "delivered", "carrier": {"in": ["UPS"]}});
        assert_eq!(
            parse("shipment_delivered", given.clone())
                .unwrap()
                .to_json(),
            given
        );
    }
}
