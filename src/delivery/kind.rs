//! What a kind of destination is: how its stored config becomes a [`Target`], how one claimed
//! delivery goes out to it, and what each answer means. Integrations implement
//! [`DestinationKind`] in their own folders; startup registers them in [`Kinds`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::outbound::{Answer, NoAnswer};

/// One claimed delivery with its event, as a kind sends it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub delivery_id: i64,
    pub event_id: i64,
    pub attempts: i32,
    pub name: String,
    pub entity_type: String,
    pub entity_id: String,
    pub payload: String,
    pub occurred_at: DateTime<Utc>,
    /// What wrote the change, outermost first (`events.cause`); empty for the shop itself.
    pub cause: Vec<String>,
}

/// What became of one send.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The destination took the event; its status.
    Delivered(u16),
    /// Nothing was sent: a later event of the same ordering key is queued, and the kind
    /// sends the entity's state as it is then, which carries this event's change too. The
    /// delivery is done, with no status.
    Superseded,
    /// Try again later: the destination is down, full or slow. It may say when.
    Retry {
        problem: Problem,
        retry_after: Option<Duration>,
    },
    /// The destination refused this event for good (the event's fault): it is failed, and
    /// the later events of its ordering key wait behind it until it is retried.
    Refused(Problem),
    /// The destination says its own configuration is wrong (credentials, account, address):
    /// the whole destination is held, every delivery kept, until an operator releases it.
    Misconfigured(Problem),
}

/// Why a send did not go through: the status when the destination answered, and words.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: Option<u16>,
    pub error: String,
}

impl Outcome {
    /// The common reading of an HTTP answer; `misconfigured` says which statuses mean the
    /// destination's configuration is wrong. 2xx delivered; 408, 425, 429 and 5xx retried
    /// (honouring `Retry-After`); other 4xx refused. A redirect is never followed: it is
    /// a misconfiguration too (the URL moved).
    pub fn of_answer(answer: Answer, misconfigured: impl Fn(u16) -> bool) -> Outcome {
        let status = answer.status;
        if answer.is_success() {
            return Outcome::Delivered(status);
        }
        let problem = Problem {
            status: Some(status),
            error: format!("the destination answered {status}: {}", answer.excerpt()),
        };
        match status {
            _ if misconfigured(status) || (300..400).contains(&status) => {
                Outcome::Misconfigured(problem)
            }
            408 | 425 | 429 | 500..=599 => Outcome::Retry {
                problem,
                retry_after: answer.retry_after,
            },
            _ => Outcome::Refused(problem),
        }
    }

    /// No answer: retried, unless the address was refused, which only an operator can fix.
    pub fn of_no_answer(no_answer: NoAnswer) -> Outcome {
        let problem = Problem {
            status: None,
            error: no_answer.to_string(),
        };
        match no_answer {
            NoAnswer::Refused(_) => Outcome::Misconfigured(problem),
            NoAnswer::Timeout | NoAnswer::Unreachable(_) => Outcome::Retry {
                problem,
                retry_after: None,
            },
        }
    }

    /// An event this destination has no form for.
    pub fn unsendable(error: impl std::fmt::Display) -> Outcome {
        Outcome::Refused(Problem {
            status: None,
            error: format!("the event cannot be sent to this destination: {error}"),
        })
    }

    /// A retry for want of room at the destination, not for anything about the event: it
    /// was turned away (429, 503), or got no answer (a full accept queue, a timeout).
    pub fn turned_away(&self) -> bool {
        matches!(
            self,
            Outcome::Retry { problem, .. } if matches!(problem.status, None | Some(429 | 503))
        )
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Delivered(status) => Some(*status),
            Outcome::Superseded => None,
            Outcome::Retry { problem, .. }
            | Outcome::Refused(problem)
            | Outcome::Misconfigured(problem) => problem.status,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Delivered(_) | Outcome::Superseded => None,
            Outcome::Retry { problem, .. }
            | Outcome::Refused(problem)
            | Outcome::Misconfigured(problem) => Some(&problem.error),
        }
    }
}

pub type Sending<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// Where one destination's deliveries go, parsed from its config.
pub trait Target: Send + Sync {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a>;
}

/// A kind of destination.
pub trait DestinationKind: Send + Sync + 'static {
    /// As stored in `destinations.kind`.
    fn name(&self) -> &'static str;

    /// The destination's stored config as what its deliveries go out with; an error says
    /// what is wrong with it (the destination is held until it is fixed).
    fn target(&self, config: &serde_json::Value) -> Result<Arc<dyn Target>, String>;

    /// The longest one send can take: leases outlast it.
    fn timeout(&self) -> Duration;

    /// Where it sends, as status may show it (never a secret).
    fn address(&self, _config: &serde_json::Value) -> Option<String> {
        None
    }

    /// The fields of its config that are secret: sealed at rest, and opened into the
    /// config only to make its target.
    fn secret_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// An integration creates and removes destinations of this kind itself (operators
    /// cannot remove them).
    fn managed(&self) -> bool {
        false
    }

    /// Each send waits for the partner's request limit first, so how long it takes says
    /// nothing of the partner's load: a slow send does not cut the number in flight (which
    /// for such a kind is how many changes one request can carry).
    fn paced(&self) -> bool {
        false
    }
}

/// The kinds this process knows, by name.
#[derive(Clone, Default)]
pub struct Kinds(HashMap<&'static str, Arc<dyn DestinationKind>>);

impl FromIterator<Arc<dyn DestinationKind>> for Kinds {
    fn from_iter<I: IntoIterator<Item = Arc<dyn DestinationKind>>>(kinds: I) -> Self {
        Kinds(kinds.into_iter().map(|kind| (kind.name(), kind)).collect())
    }
}

impl Kinds {
    pub fn with(mut self, kind: impl DestinationKind) -> Self {
        self.0.insert(kind.name(), Arc::new(kind));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn DestinationKind>> {
        self.0.get(name)
    }
}
