//! A workflow's definition: its trigger, conditions and action, parsed from the wire once at
//! configure time and kept as its destination's config.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::conditions::Conditions;
use super::triggers::{self, EntityType, Trigger};
use crate::outbound::signature::WebhookSecret;

/// The action as configured (`{"type": "send_email", …}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionWire {
    SendEmail {
        /// `customer` (the entity's customer) or an email address.
        recipient: String,
        template: String,
    },
    SendPush {
        title: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        url: Option<String>,
        /// `customer` (default) or `all` subscriptions.
        #[serde(default)]
        audience: Option<String>,
    },
    Webhook {
        url: String,
        /// Signs every request; a `whsec_` secret is made when neither this nor `secrets`
        /// is given, and a change that gives neither keeps the ones it had.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
        /// Every secret that signs from now on (1 to 5): while rotating, the new one and the
        /// old one, then the new one alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secrets: Option<Vec<String>>,
    },
    UpdateStatus {
        status: String,
        /// `order` or `shipment`; the trigger's entity by default.
        #[serde(default)]
        target: Option<String>,
    },
}

impl ActionWire {
    pub fn type_name(&self) -> &'static str {
        match self {
            ActionWire::SendEmail { .. } => "send_email",
            ActionWire::SendPush { .. } => "send_push",
            ActionWire::Webhook { .. } => "webhook",
            ActionWire::UpdateStatus { .. } => "update_status",
        }
    }

    /// As listed: a webhook's secrets only as `configured` (a webhook action always has one).
    pub fn shown(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let (ActionWire::Webhook { .. }, Value::Object(fields)) = (self, &mut value) {
            fields.remove("secrets");
            fields.insert("secret".into(), Value::String("configured".into()));
        }
        value
    }

    /// The secrets a webhook action was given (`secret` or `secrets`), if any.
    fn given_secrets(&self) -> Result<Option<Vec<String>>, Invalid> {
        match self {
            ActionWire::Webhook {
                secret: Some(_),
                secrets: Some(_),
                ..
            } => Err(invalid(
                "action.secrets",
                "give `secret` or `secrets`, not both.",
            )),
            ActionWire::Webhook {
                secrets: Some(secrets),
                ..
            } if secrets.is_empty() => Err(invalid(
                "action.secrets",
                "1 to 5 secrets; leave it out to keep the current ones.",
            )),
            ActionWire::Webhook {
                secret, secrets, ..
            } => Ok(secrets.clone().or_else(|| secret.clone().map(|s| vec![s]))),
            _ => Ok(None),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Recipient {
    Customer,
    Address(lettre::Address),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatusTarget {
    Order,
    Shipment,
}

impl StatusTarget {
    pub fn table(self) -> &'static str {
        match self {
            StatusTarget::Order => "orders",
            StatusTarget::Shipment => "shipments",
        }
    }
}

/// The statuses a shipment may have (the table's check).
pub const SHIPMENT_STATUSES: &[&str] = &["pending", "shipped", "delivered", "failed", "canceled"];

#[derive(Debug, Clone)]
pub enum Action {
    Email {
        recipient: Recipient,
        template: String,
    },
    Push {
        title: String,
        body: String,
        url: Option<String>,
        everyone: bool,
    },
    Webhook {
        url: String,
        secrets: Vec<String>,
    },
    Status {
        target: StatusTarget,
        status: String,
    },
}

/// A definition cannot be taken; the message names the field.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct Invalid {
    pub field: String,
    pub problem: String,
}

pub fn invalid(field: &str, problem: impl Into<String>) -> Invalid {
    Invalid {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

impl Action {
    /// The action for `trigger`, with what can be checked without the network or the
    /// database (URLs, templates and order statuses are checked by the caller).
    pub fn parse(wire: &ActionWire, trigger: &Trigger) -> Result<Self, Invalid> {
        let entity = trigger.entity_type;
        Ok(match wire {
            ActionWire::SendEmail {
                recipient,
                template,
            } => {
                let recipient = match recipient.trim() {
                    "customer" if entity == EntityType::Product => {
                        return Err(invalid(
                            "action.recipient",
                            "a product event has no customer; give an email address.",
                        ))
                    }
                    "customer" => Recipient::Customer,
                    address => Recipient::Address(address.parse().map_err(|_| {
                        invalid(
                            "action.recipient",
                            "\"customer\" or an email address (name@example.com).",
                        )
                    })?),
                };
                Action::Email {
                    recipient,
                    template: template.trim().to_owned(),
                }
            }
            ActionWire::SendPush {
                title,
                body,
                url,
                audience,
            } => {
                let title = title.trim();
                if title.is_empty() || title.chars().count() > 200 {
                    return Err(invalid("action.title", "1 to 200 characters."));
                }
                if body.chars().count() > 1000 {
                    return Err(invalid("action.body", "at most 1000 characters."));
                }
                if let Some(url) = url {
                    if url.len() > 2048 || !(url.starts_with("https://") || url.starts_with('/')) {
                        return Err(invalid(
                            "action.url",
                            "an https:// URL or a path on the shop, up to 2048 characters.",
                        ));
                    }
                }
                let everyone = match audience.as_deref().map(str::trim) {
                    None | Some("customer") if entity == EntityType::Product => {
                        return Err(invalid(
                            "action.audience",
                            "a product event has no customer; say \"all\" to push to every \
                             subscription.",
                        ))
                    }
                    None | Some("customer") => false,
                    Some("all") => true,
                    Some(_) => return Err(invalid("action.audience", "\"customer\" or \"all\".")),
                };
                Action::Push {
                    title: title.to_owned(),
                    body: body.clone(),
                    url: url.clone(),
                    everyone,
                }
            }
            ActionWire::Webhook { url, .. } => Action::Webhook {
                url: url.clone(),
                secrets: wire.given_secrets()?.unwrap_or_default(),
            },
            ActionWire::UpdateStatus { status, target } => {
                let target =
                    match (target.as_deref().map(str::trim), entity) {
                        (None | Some("order"), EntityType::Order)
                        | (Some("order"), EntityType::Shipment) => StatusTarget::Order,
                        (None | Some("shipment"), EntityType::Shipment) => StatusTarget::Shipment,
                        _ => return Err(invalid(
                            "action.target",
                            "update_status sets an order's status (Order and Shipment triggers) \
                             or a shipment's (Shipment triggers).",
                        )),
                    };
                let status = status.trim();
                if target == StatusTarget::Shipment && !SHIPMENT_STATUSES.contains(&status) {
                    return Err(invalid(
                        "action.status",
                        format!(
                            "a shipment's status is one of {}.",
                            SHIPMENT_STATUSES.join(", ")
                        ),
                    ));
                }
                if status.is_empty() || status.len() > 100 {
                    return Err(invalid("action.status", "1 to 100 characters."));
                }
                Action::Status {
                    target,
                    status: status.to_owned(),
                }
            }
        })
    }
}

/// What a workflow's destination keeps: enough to run it without reading anything else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub workflow: Uuid,
    pub trigger: String,
    #[serde(default)]
    pub conditions: Value,
    pub action: ActionWire,
    /// A webhook action's secrets, kept beside the action so they are sealed at rest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// The one secret of a webhook action stored before secrets rotated.
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
}

impl Stored {
    /// The config of `definition`'s destination, its webhook secrets moved out of the action.
    pub fn of(
        guid: Uuid,
        trigger: &Trigger,
        conditions: &Conditions,
        action: &ActionWire,
    ) -> Result<Self, Invalid> {
        let secrets = action.given_secrets()?.unwrap_or_default();
        let action = match action {
            ActionWire::Webhook { url, .. } => ActionWire::Webhook {
                url: url.clone(),
                secret: None,
                secrets: None,
            },
            other => other.clone(),
        };
        Ok(Stored {
            workflow: guid,
            trigger: trigger.code.to_owned(),
            conditions: conditions.to_json(),
            action,
            secrets,
            secret: None,
        })
    }

    /// A webhook action given no secret keeps `old`'s, the stored config it replaces.
    pub fn keep_secrets_of(&mut self, old: Value) {
        if let (ActionWire::Webhook { .. }, true) = (&self.action, self.secrets.is_empty()) {
            if let Ok(old) = serde_json::from_value::<Stored>(old) {
                self.secrets = old.all_secrets();
            }
        }
    }

    /// A webhook action with no secret gets a new `whsec_` one, so every request it sends is
    /// signed; the secret made.
    pub fn sign_if_unsigned(&mut self) -> Option<String> {
        let unsigned = matches!(self.action, ActionWire::Webhook { .. })
            && self.secrets.is_empty()
            && self.secret.is_none();
        unsigned.then(|| {
            let secret = WebhookSecret::generate().as_text();
            self.secrets.push(secret.clone());
            secret
        })
    }

    /// Every secret that signs, the one stored before rotation included.
    pub fn all_secrets(&self) -> Vec<String> {
        self.secrets.iter().chain(&self.secret).cloned().collect()
    }
}

/// A workflow ready to run.
#[derive(Debug, Clone)]
pub struct Definition {
    pub guid: Uuid,
    pub trigger: &'static Trigger,
    pub conditions: Conditions,
    pub wire: ActionWire,
    pub action: Action,
}

impl Definition {
    pub fn parse(mut stored: Stored) -> Result<Self, Invalid> {
        let all_secrets = stored.all_secrets();
        if let ActionWire::Webhook { secrets, .. } = &mut stored.action {
            *secrets = Some(all_secrets).filter(|s| !s.is_empty());
        }
        let trigger = triggers::by_code(&stored.trigger)
            .ok_or_else(|| invalid("trigger", format!("no trigger {:?}", stored.trigger)))?;
        let conditions = Conditions::parse(&stored.conditions, trigger)
            .map_err(|e| invalid(&format!("conditions.{}", e.field), e.problem))?;
        let action = Action::parse(&stored.action, trigger)?;
        Ok(Definition {
            guid: stored.workflow,
            trigger,
            conditions,
            wire: stored.action,
            action,
        })
    }
}
