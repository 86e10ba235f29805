//! Which events a destination takes: exact names, prefixes, everything.

use serde::Deserialize;
use utoipa::ToSchema;

/// An event name (`order.created`), a prefix (`order.*`) or `*`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(try_from = "String")]
#[schema(value_type = String, example = "order.*", pattern = "^(\\*|[a-z_]+(\\.[a-z_]+)*(\\.\\*)?)$")]
pub struct EventPattern(String);

impl TryFrom<String> for EventPattern {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, Self::Error> {
        if valid_event_pattern(&pattern) {
            Ok(EventPattern(pattern))
        } else {
            Err(format!(
                "{pattern:?} is not an event name (`order.created`), a prefix (`order.*`) or `*`"
            ))
        }
    }
}

impl EventPattern {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Known event names a destination may ask for (and `prefix.*`, `*`); events that arrive from
/// outside may be named anything under their integration's prefix.
fn valid_event_pattern(pattern: &str) -> bool {
    let name = pattern.strip_suffix(".*").unwrap_or(pattern);
    pattern == "*"
        || (!name.is_empty()
            && name.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            }))
}

#[cfg(test)]
mod tests {
    use super::valid_event_pattern;

    #[test]
    fn event_patterns_are_names_prefixes_or_everything() {
        for good in [
            "*",
            "order.*",
            "order.created",
            "customer.cart_opened",
            "one.*",
        ] {
            assert!(valid_event_pattern(good), "{good}");
        }
        for bad in [
            "",
            ".*",
            "order.",
            "Order.created",
            "order..created",
            "order.*.x",
            "a b",
        ] {
            assert!(!valid_event_pattern(bad), "{bad}");
        }
    }
}
