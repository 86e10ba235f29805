//! What an integration hands startup: one [`Bundle`] of its destination kinds, its
//! providers, its routes, its background tasks, its warnings and its start-up steps, built
//! from the [`Backbone`] every integration shares. Startup loops over the bundles and
//! stops every task the same way; it names no integration.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{self, ServiceConfig};
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::configuration::Settings;
use crate::db::notify::Announcer;
use crate::delivery::kind::DestinationKind;
use crate::jobs::JobWorker;
use crate::outbound::address::Guard;
use crate::outbound::Client;
use crate::providers::live::{Live, Standing};
use crate::providers::Provider;
use crate::secrets::vault::Vault;

/// What every integration is built from.
#[derive(Clone)]
pub struct Backbone {
    pub settings: Settings,
    pub pool: PgPool,
    /// Seals and opens every secret kept.
    pub vault: Vault,
    /// What every outbound URL passes.
    pub guard: Guard,
    /// Certificate authorities trusted besides the system's (`OUTBOUND_CA_FILE`).
    pub roots: Vec<reqwest::Certificate>,
    /// The integrations configured at run time, as this process sees them now.
    pub live: Arc<Live>,
    /// Announces events recorded in the shop event log.
    pub events: Announcer,
}

impl Backbone {
    /// The provider `code` is not configured at run time (through `/api/integrations`).
    pub fn unconfigured(&self, code: &str) -> bool {
        matches!(self.live.lookup(code), Standing::Unconfigured)
    }

    /// An outbound client through the guard, trusting the system's authorities.
    pub fn client(&self, timeout: Duration) -> Client {
        Client::guarded(timeout, self.guard.clone())
    }

    /// An outbound client through the guard, trusting `OUTBOUND_CA_FILE` as well.
    pub fn client_trusting(&self, timeout: Duration) -> Client {
        Client::guarded_trusting(timeout, self.guard.clone(), &self.roots)
    }
}

/// Adds routes (and the data their handlers take) to the application; called once per
/// HTTP worker.
pub type Routes = Arc<dyn Fn(&mut ServiceConfig) + Send + Sync>;

/// A background task: runs until the watch turns true, then finishes what it has in flight.
pub type Task = Box<dyn FnOnce(watch::Receiver<bool>) -> BoxFuture<'static, ()> + Send>;

/// A step that must succeed before the application serves.
pub type Start = BoxFuture<'static, anyhow::Result<()>>;

/// Builds an integration's bundle from the backbone.
pub type Register = fn(&Backbone) -> anyhow::Result<Bundle>;

/// What one integration brings to the application.
#[derive(Default)]
pub struct Bundle {
    pub kinds: Vec<Arc<dyn DestinationKind>>,
    pub providers: Vec<Arc<dyn Provider>>,
    pub routes: Vec<Routes>,
    pub tasks: Vec<Task>,
    pub warnings: Vec<String>,
    pub starts: Vec<Start>,
}

impl Bundle {
    pub fn kind(mut self, kind: Arc<dyn DestinationKind>) -> Self {
        self.kinds.push(kind);
        self
    }

    pub fn provider(mut self, provider: impl Provider) -> Self {
        self.providers.push(Arc::new(provider));
        self
    }

    pub fn routes(mut self, routes: impl Fn(&mut ServiceConfig) + Send + Sync + 'static) -> Self {
        self.routes.push(Arc::new(routes));
        self
    }

    /// Data the handlers take (`web::Data<T>`), shared by every HTTP worker.
    pub fn data<T: ?Sized + Send + Sync + 'static>(self, data: web::Data<T>) -> Self {
        self.routes(move |cfg| {
            cfg.app_data(data.clone());
        })
    }

    /// A task given the stop signal.
    pub fn task<F, T>(mut self, task: F) -> Self
    where
        F: FnOnce(watch::Receiver<bool>) -> T + Send + 'static,
        T: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(Box::new(move |stop| Box::pin(task(stop))));
        self
    }

    /// A job runner's worker: asked to stop with the rest, it starts no new part and lets
    /// those in flight finish.
    pub fn job(self, runner: Arc<impl JobWorker>) -> Self {
        self.task(move |mut stop| async move {
            let worker = tokio::spawn(runner.clone().run_worker());
            let _ = stop.wait_for(|stop| *stop).await;
            runner.stop();
            let _ = worker.await;
        })
    }

    /// Logged at start when `when` holds: a setting that leaves something refusing.
    pub fn warn_if(mut self, when: bool, warning: impl Into<String>) -> Self {
        if when {
            self.warnings.push(warning.into());
        }
        self
    }

    pub fn start(
        mut self,
        step: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Self {
        self.starts.push(Box::pin(step));
        self
    }

    /// This bundle and `other`'s together.
    pub fn and(mut self, other: Bundle) -> Self {
        self.kinds.extend(other.kinds);
        self.providers.extend(other.providers);
        self.routes.extend(other.routes);
        self.tasks.extend(other.tasks);
        self.warnings.extend(other.warnings);
        self.starts.extend(other.starts);
        self
    }
}
