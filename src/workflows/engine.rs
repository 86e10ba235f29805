//! Running a workflow on one event: the loop guard, the conditions, the action, and the
//! execution recorded. The `workflow` destination kind hands each claimed event here, so a
//! workflow has the event log's retries, order per entity, holds and replays.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use utoipa::ToSchema;

use super::definition::{Action, Definition, Recipient, StatusTarget, Stored};
use super::executions::{self, Record, State};
use super::triggers::{EntityType, Trigger};
use crate::configuration::{EmailSettings, WorkflowSettings};
use crate::delivery::kind::{Delivery, DestinationKind, Outcome, Problem, Sending, Target};
use crate::email::{Mailer, Rendered, Sent, SetupError, Templates};
use crate::outbound::Client;
use crate::secrets::vault::Vault;
use crate::webhook::{self, WebhookKind};
use crate::webpush::send::{self as push, Audience, Pushed, Pusher};

pub const KIND: &str = "workflow";

/// Pushes of one execution sent at once.
const PUSH_CONCURRENCY: usize = 16;

/// What runs workflows: the relays and clients their actions go out through.
pub struct Engine {
    pub pool: PgPool,
    pub vault: Vault,
    pub settings: WorkflowSettings,
    pub mailer: Option<Mailer>,
    pub templates: Templates,
    pub push_client: Client,
    pub webhooks: WebhookKind,
    /// The longest one action takes: twice the longest request it makes (a push to several
    /// subscriptions makes them in rounds). Leases outlast it, so a crash re-runs an action
    /// after it at the earliest.
    timeout: Duration,
    pusher: OnceCell<Arc<Pusher>>,
    strings: minijinja::Environment<'static>,
}

/// What one action did.
#[derive(Debug)]
enum Step {
    Done(String),
    /// For good, not retried (no recipient, refused by the partner).
    Failed(String),
    Later {
        answer: String,
        retry_after: Option<Duration>,
    },
    /// The action's own setup is wrong: the workflow is held until resumed.
    Held(String),
}

/// What an action would do, as the dry run shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Preview {
    SendEmail {
        to: Option<String>,
        #[serde(flatten)]
        email: Option<Rendered>,
        problem: Option<String>,
    },
    SendPush {
        /// Subscriptions it would go to.
        subscriptions: usize,
        #[schema(value_type = Object)]
        payload: Value,
        bytes: usize,
        problem: Option<String>,
    },
    Webhook {
        url: String,
        #[schema(value_type = Object)]
        body: Value,
    },
    UpdateStatus {
        table: &'static str,
        id: Option<i64>,
        from: Option<String>,
        to: String,
    },
}

/// The fields templates see and who the event is about.
struct Context {
    fields: Value,
    email: Option<String>,
    customer_id: Option<i64>,
}

impl Context {
    /// Where an email to `recipient` goes; `None` when the customer has no email.
    fn address(&self, recipient: &Recipient) -> Option<String> {
        match recipient {
            Recipient::Address(address) => Some(address.to_string()),
            Recipient::Customer => self.email.clone(),
        }
    }

    fn audience(&self, everyone: bool) -> Audience<'_> {
        match everyone {
            true => Audience::All,
            false => Audience::Customer {
                id: self.customer_id,
                email: self.email.as_deref(),
            },
        }
    }
}

impl Engine {
    /// The engine with the SMTP relay and templates `email` configures; an error says what
    /// is wrong with the relay's settings.
    pub fn new(
        pool: PgPool,
        vault: Vault,
        settings: WorkflowSettings,
        email: &EmailSettings,
        push_client: Client,
        webhooks: WebhookKind,
    ) -> Result<Self, SetupError> {
        let mut strings = minijinja::Environment::new();
        strings.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        Ok(Engine {
            pool,
            vault,
            settings,
            mailer: Mailer::from_settings(email)?,
            templates: Templates::new(email.templates_dir.clone()),
            push_client,
            timeout: 2 * webhooks.timeout().max(email.timeout),
            webhooks,
            pusher: OnceCell::new(),
            strings,
        })
    }

    /// Runs `definition` on `delivery` and records the execution.
    async fn run(&self, definition: &Definition, delivery: &Delivery) -> Outcome {
        let guid = definition.guid.to_string();
        let mut record = Record {
            workflow: definition.guid,
            delivery,
            action: definition.wire.type_name(),
            state: State::Skipped,
            reason: None,
            answer: String::new(),
            sent_to: Vec::new(),
        };
        let payload: Value = match serde_json::from_str(&delivery.payload) {
            Ok(payload) => payload,
            Err(e) => return Outcome::unsendable(e),
        };
        let outcome = if delivery.cause.contains(&guid) {
            record.reason = Some(format!(
                "loop guard: this event came from this workflow's own update ({})",
                delivery.cause.join(" → ")
            ));
            Outcome::Delivered(200)
        } else if let Some(unmet) = definition.conditions.unmet(definition.trigger, &payload) {
            record.reason = Some(format!("condition not met: {unmet}"));
            Outcome::Delivered(200)
        } else {
            let step = match tokio::time::timeout(
                self.timeout,
                self.act(definition, delivery, &payload, &mut record.sent_to),
            )
            .await
            {
                Ok(step) => step,
                Err(_) => Step::Later {
                    answer: "the action did not finish in time".into(),
                    retry_after: None,
                },
            };
            self.conclude(step, delivery, &mut record)
        };
        executions::record(&self.pool, &record).await;
        outcome
    }

    /// The execution's state and what the event log makes of it: a failure past the retry
    /// budget fails the delivery, so the entity's later events wait behind it (paused).
    fn conclude(&self, step: Step, delivery: &Delivery, record: &mut Record) -> Outcome {
        let problem = |error: &str| Problem {
            status: None,
            error: error.to_owned(),
        };
        let (state, answer, outcome) = match step {
            Step::Done(answer) => (State::Succeeded, answer, Outcome::Delivered(200)),
            Step::Failed(answer) => (State::Failed, answer, Outcome::Delivered(200)),
            Step::Later { answer, .. }
                if delivery.attempts + 1 >= self.settings.retry_budget as i32 =>
            {
                let outcome = Outcome::Refused(problem(&answer));
                (State::Paused, answer, outcome)
            }
            Step::Later {
                answer,
                retry_after,
            } => {
                let outcome = Outcome::Retry {
                    problem: problem(&answer),
                    retry_after,
                };
                (State::Retrying, answer, outcome)
            }
            Step::Held(answer) => {
                let outcome = Outcome::Misconfigured(problem(&answer));
                (State::Paused, answer, outcome)
            }
        };
        if state != State::Succeeded {
            record.reason = Some(answer.clone());
        }
        record.state = state;
        record.answer = answer;
        outcome
    }

    async fn act(
        &self,
        definition: &Definition,
        delivery: &Delivery,
        payload: &Value,
        sent_to: &mut Vec<i64>,
    ) -> Step {
        let trigger = definition.trigger;
        match &definition.action {
            Action::Webhook { url, secrets } => {
                let config = json!({"url": url, "secrets": secrets});
                let target = match self.webhooks.target(&config) {
                    Ok(target) => target,
                    Err(problem) => return Step::Held(problem),
                };
                match target.send(delivery).await {
                    Outcome::Delivered(status) => {
                        Step::Done(format!("the receiver answered {status}"))
                    }
                    // A webhook sends every event: nothing supersedes one.
                    Outcome::Superseded => Step::Done("nothing to send".into()),
                    Outcome::Retry {
                        problem,
                        retry_after,
                    } => Step::Later {
                        answer: problem.error,
                        retry_after,
                    },
                    Outcome::Refused(problem) => Step::Failed(problem.error),
                    Outcome::Misconfigured(problem) => Step::Held(problem.error),
                }
            }
            Action::Status { target, status } => {
                let id = status_row(trigger, *target, delivery, payload);
                self.update_status(definition, delivery, *target, id, status)
                    .await
            }
            Action::Email {
                recipient,
                template,
            } => {
                let context = match self.context(trigger, delivery, payload).await {
                    Ok(context) => context,
                    Err(e) => return later(e),
                };
                let Some(mailer) = &self.mailer else {
                    return Step::Held(
                        "no SMTP relay: set SMTP_URL and MAIL_FROM, then resume the workflow"
                            .into(),
                    );
                };
                let Some(to) = context.address(recipient) else {
                    return Step::Failed(format!(
                        "no recipient: the {} {} has no customer email",
                        delivery.entity_type, delivery.entity_id
                    ));
                };
                let Ok(to) = to.parse() else {
                    return Step::Failed(format!("no recipient: {to:?} is not an email address"));
                };
                let rendered = match self.templates.render(template, &context.fields) {
                    Ok(rendered) => rendered,
                    Err(problem) => return Step::Failed(problem),
                };
                match mailer.send(to, &rendered).await {
                    Sent::Accepted(answer) => {
                        Step::Done(format!("the SMTP relay took it: {answer}"))
                    }
                    Sent::Later(answer) => Step::Later {
                        answer,
                        retry_after: None,
                    },
                    Sent::Refused(answer) => Step::Failed(answer),
                    Sent::Misconfigured(answer) => Step::Held(answer),
                }
            }
            Action::Push { everyone, .. } => {
                let context = match self.context(trigger, delivery, payload).await {
                    Ok(context) => context,
                    Err(e) => return later(e),
                };
                self.push(definition, delivery, &context, *everyone, sent_to)
                    .await
            }
        }
    }

    async fn update_status(
        &self,
        definition: &Definition,
        delivery: &Delivery,
        target: StatusTarget,
        id: Option<i64>,
        status: &str,
    ) -> Step {
        let Some(id) = id else {
            return Step::Failed("the event does not say which row to update".into());
        };
        let mut cause = delivery.cause.clone();
        cause.push(definition.guid.to_string());
        match super::store::set_status(&self.pool, target, id, status, &cause).await {
            Ok(Some(previous)) => Step::Done(format!(
                "{} {id}: status {previous} → {status}",
                target.table()
            )),
            Ok(None) => Step::Done(format!(
                "{} {id}: already {status}, or gone",
                target.table()
            )),
            Err(sqlx::Error::Database(e))
                if e.is_foreign_key_violation() || e.is_check_violation() =>
            {
                Step::Failed(format!(
                    "{} {id}: status {status:?} is refused: {e}",
                    target.table()
                ))
            }
            Err(e) => later(e),
        }
    }

    async fn push(
        &self,
        definition: &Definition,
        delivery: &Delivery,
        context: &Context,
        everyone: bool,
        sent_to: &mut Vec<i64>,
    ) -> Step {
        let payload = match self.push_payload(definition, delivery, context) {
            Ok(payload) => payload,
            Err(problem) => return Step::Failed(problem),
        };
        let pusher = match self.pusher().await {
            Ok(pusher) => pusher,
            Err(problem) => return Step::Held(problem),
        };
        let audience = context.audience(everyone);
        *sent_to = executions::sent_to(&self.pool, definition.guid, delivery.event_id)
            .await
            .unwrap_or_default();
        let recipients = match push::recipients(&self.pool, &self.vault, audience).await {
            Ok(recipients) => recipients,
            Err(e) => return later(e),
        };
        let to_send: Vec<_> = recipients
            .into_iter()
            .filter(|r| !sent_to.contains(&r.id))
            .collect();
        if to_send.is_empty() && sent_to.is_empty() {
            return Step::Failed(match everyone {
                true => "no push subscription".into(),
                false => format!(
                    "no recipient: the {} {} has no customer with a push subscription",
                    delivery.entity_type, delivery.entity_id
                ),
            });
        }
        let bytes = payload.to_string().into_bytes();
        let results: Vec<(i64, Pushed)> = stream::iter(to_send)
            .map(|to| {
                let (pusher, bytes, pool) = (&pusher, &bytes, &self.pool);
                async move { (to.id, pusher.push(pool, &to, bytes).await) }
            })
            .buffer_unordered(PUSH_CONCURRENCY)
            .collect()
            .await;
        let (mut gone, mut refused, mut later_after, mut held) = (0, Vec::new(), None, None);
        let mut later_error = None;
        for (id, pushed) in results {
            match pushed {
                Pushed::Accepted(_) => sent_to.push(id),
                Pushed::Gone(_) => gone += 1,
                Pushed::Refused(problem) => refused.push(problem),
                Pushed::Later { error, retry_after } => {
                    later_after = later_after.max(retry_after);
                    later_error = Some(error);
                }
                Pushed::Misconfigured(problem) => held = Some(problem),
            }
        }
        let summary = format!(
            "pushed to {} subscription(s), {gone} gone (deleted), {} refused{}",
            sent_to.len(),
            refused.len(),
            refused
                .first()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        match (held, later_error) {
            (Some(problem), _) => Step::Held(problem),
            (None, Some(error)) => Step::Later {
                answer: format!("{summary}; to retry: {error}"),
                retry_after: later_after,
            },
            (None, None) if sent_to.is_empty() && !refused.is_empty() => Step::Failed(summary),
            (None, None) => Step::Done(summary),
        }
    }

    async fn pusher(&self) -> Result<Arc<Pusher>, String> {
        self.pusher
            .get_or_try_init(|| async {
                Pusher::load(
                    &self.pool,
                    &self.vault,
                    self.push_client.clone(),
                    self.settings.vapid_subject.clone(),
                )
                .await
                .map(Arc::new)
                .map_err(|e| format!("the VAPID key cannot be read: {e}"))
            })
            .await
            .cloned()
    }

    /// The notification as the shop's service worker receives it.
    fn push_payload(
        &self,
        definition: &Definition,
        delivery: &Delivery,
        context: &Context,
    ) -> Result<Value, String> {
        let Action::Push {
            title, body, url, ..
        } = &definition.action
        else {
            return Err("not a push action".into());
        };
        let render = |text: &str| {
            self.strings
                .render_str(text, &context.fields)
                .map_err(|e| format!("the push text cannot be rendered: {e}"))
        };
        let payload = json!({
            "title": render(title)?,
            "body": render(body)?,
            "url": url.as_deref().map(render).transpose()?,
            "event": {"id": delivery.event_id, "name": delivery.name,
                      "entity": {"type": delivery.entity_type, "id": delivery.entity_id}},
        });
        let size = payload.to_string().len();
        if size > push::MAX_PAYLOAD {
            return Err(format!(
                "the push payload is {size} bytes; push services take at most {}",
                push::MAX_PAYLOAD
            ));
        }
        Ok(payload)
    }

    /// The event's fields for templates, with its order and customer read from the shop,
    /// and who it is about.
    async fn context(
        &self,
        trigger: &Trigger,
        delivery: &Delivery,
        payload: &Value,
    ) -> Result<Context, sqlx::Error> {
        let related: Option<Value> = match trigger.entity_type {
            EntityType::Order => {
                related(&self.pool, "order", delivery.entity_id.parse().ok()).await?
            }
            EntityType::Shipment => {
                let order = trigger.value(payload, "order_id").and_then(Value::as_i64);
                related(&self.pool, "order", order).await?
            }
            EntityType::Customer if payload.get("customer").is_none() => {
                related(&self.pool, "customer", delivery.entity_id.parse().ok()).await?
            }
            EntityType::Customer | EntityType::Product => None,
        };
        let mut fields = match related {
            Some(Value::Object(object)) => object,
            _ => Map::new(),
        };
        if let Value::Object(object) = payload {
            fields.extend(object.clone());
        }
        fields.insert(
            "event".into(),
            json!({"id": delivery.event_id, "name": delivery.name,
                   "entity_type": delivery.entity_type, "entity_id": delivery.entity_id,
                   "occurred_at": delivery.occurred_at}),
        );
        fields.insert("shop_name".into(), json!(self.settings.shop_name));
        fields.insert("shop_url".into(), json!(self.settings.shop_url));
        let email = [
            fields.pointer_str(&["customer", "email"]),
            fields.pointer_str(&["order", "customer_email"]),
        ]
        .into_iter()
        .flatten()
        .next();
        let customer_id = [
            fields.pointer_i64(&["customer", "id"]),
            fields.pointer_i64(&["order", "customer_id"]),
            fields.pointer_i64(&["customer_id"]),
        ]
        .into_iter()
        .flatten()
        .next();
        Ok(Context {
            fields: Value::Object(fields),
            email,
            customer_id,
        })
    }

    /// What `definition` would do with `delivery`: the conditions evaluated and the action
    /// rendered, nothing sent or written.
    pub async fn preview(
        &self,
        definition: &Definition,
        delivery: &Delivery,
    ) -> Result<(Option<String>, Preview), sqlx::Error> {
        let payload: Value = serde_json::from_str(&delivery.payload).unwrap_or_default();
        let unmet = definition
            .conditions
            .unmet(definition.trigger, &payload)
            .map(|unmet| format!("condition not met: {unmet}"));
        let trigger = definition.trigger;
        let preview = match &definition.action {
            Action::Email {
                recipient,
                template,
            } => {
                let context = self.context(trigger, delivery, &payload).await?;
                let to = context.address(recipient);
                let rendered = self.templates.render(template, &context.fields);
                let problem = match (&to, &rendered, &self.mailer) {
                    (None, _, _) => Some("no recipient: the customer has no email".to_owned()),
                    (_, Err(problem), _) => Some(problem.clone()),
                    (_, _, None) => Some("no SMTP relay: set SMTP_URL and MAIL_FROM".to_owned()),
                    _ => None,
                };
                Preview::SendEmail {
                    to,
                    email: rendered.ok(),
                    problem,
                }
            }
            Action::Push { everyone, .. } => {
                let context = self.context(trigger, delivery, &payload).await?;
                let subscriptions =
                    push::recipients(&self.pool, &self.vault, context.audience(*everyone))
                        .await?
                        .len();
                match self.push_payload(definition, delivery, &context) {
                    Ok(payload) => Preview::SendPush {
                        subscriptions,
                        bytes: payload.to_string().len(),
                        payload,
                        problem: None,
                    },
                    Err(problem) => Preview::SendPush {
                        subscriptions,
                        payload: Value::Null,
                        bytes: 0,
                        problem: Some(problem),
                    },
                }
            }
            Action::Webhook { url, .. } => Preview::Webhook {
                url: url.clone(),
                body: webhook::body(delivery)
                    .ok()
                    .and_then(|body| serde_json::from_slice(&body).ok())
                    .unwrap_or_default(),
            },
            Action::Status { target, status } => {
                let id = status_row(trigger, *target, delivery, &payload);
                let from = match id {
                    Some(id) => super::store::status_of(&self.pool, *target, id).await?,
                    None => None,
                };
                Preview::UpdateStatus {
                    table: target.table(),
                    id,
                    from,
                    to: status.clone(),
                }
            }
        };
        Ok((unmet, preview))
    }
}

trait Pointer {
    fn at(&self, path: &[&str]) -> Option<&Value>;

    fn pointer_str(&self, path: &[&str]) -> Option<String> {
        self.at(path)?
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    }

    fn pointer_i64(&self, path: &[&str]) -> Option<i64> {
        let value = self.at(path)?;
        value.as_i64().or_else(|| value.as_str()?.parse().ok())
    }
}

impl Pointer for Map<String, Value> {
    fn at(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        rest.iter()
            .try_fold(self.get(*first)?, |value, key| value.get(*key))
    }
}

fn later(error: impl std::fmt::Display) -> Step {
    Step::Later {
        answer: format!("the database: {error}"),
        retry_after: None,
    }
}

/// The row an update_status action sets: the entity, or a shipment's order.
fn status_row(
    trigger: &Trigger,
    target: StatusTarget,
    delivery: &Delivery,
    payload: &Value,
) -> Option<i64> {
    match (trigger.entity_type, target) {
        (EntityType::Shipment, StatusTarget::Order) => {
            trigger.value(payload, "order_id").and_then(Value::as_i64)
        }
        _ => delivery.entity_id.parse().ok(),
    }
}

/// The shop's snapshot of an order or a customer, as their events carry it.
async fn related(pool: &PgPool, what: &str, id: Option<i64>) -> Result<Option<Value>, sqlx::Error> {
    let Some(id) = id else { return Ok(None) };
    let sql = match what {
        "order" => "SELECT order_snapshot($1)",
        _ => "SELECT customer_snapshot($1)",
    };
    sqlx::query_scalar(sql).bind(id).fetch_one(pool).await
}

/// The `workflow` destination kind: each workflow is one destination of it.
pub struct WorkflowKind(pub Arc<Engine>);

impl DestinationKind for WorkflowKind {
    fn name(&self) -> &'static str {
        KIND
    }

    fn target(&self, config: &Value) -> Result<Arc<dyn Target>, String> {
        let stored = Stored::deserialize(config).map_err(|e| format!("workflow config: {e}"))?;
        let definition =
            Definition::parse(stored).map_err(|e| format!("workflow definition: {e}"))?;
        Ok(Arc::new(WorkflowTarget {
            engine: self.0.clone(),
            definition,
        }))
    }

    fn timeout(&self) -> Duration {
        self.0.timeout
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        &["secrets", "secret"]
    }

    /// Workflows come and go through the workflows API.
    fn managed(&self) -> bool {
        true
    }
}

struct WorkflowTarget {
    engine: Arc<Engine>,
    definition: Definition,
}

impl Target for WorkflowTarget {
    fn send<'a>(&'a self, delivery: &'a Delivery) -> Sending<'a> {
        Box::pin(self.engine.run(&self.definition, delivery))
    }
}
