//! Email: templates rendered with an event's fields, and the SMTP relay they go out through
//! (TLS always: STARTTLS required, or TLS from the first byte; pooled connections).

pub mod templates;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Semaphore;

use crate::configuration::EmailSettings;
pub use templates::{Rendered, Templates};

/// Why a relay cannot be set up from its settings.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(String);

/// What became of one message.
#[derive(Debug)]
pub enum Sent {
    Accepted(String),
    /// Try again later: the relay is down or said so (4xx).
    Later(String),
    /// The relay refused this message for good (5xx): a bad recipient, a rejected content.
    Refused(String),
    /// The relay refused us (authentication, TLS): nothing goes until an operator fixes it.
    Misconfigured(String),
}

/// The relay, when `SMTP_URL` is set.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// lettre's pool opens a new connection whenever none is idle, and closes the ones
    /// beyond its size when they come back: under load that is a TLS handshake per message
    /// and more connections than the relay serves. At most `SMTP_POOL_SIZE` sends at once
    /// keep every message on a pooled connection.
    sending: Arc<Semaphore>,
}

impl Mailer {
    /// `None` when no relay is configured.
    pub fn from_settings(settings: &EmailSettings) -> Result<Option<Self>, SetupError> {
        let Some(url) = &settings.smtp_url else {
            return Ok(None);
        };
        let parsed =
            url::Url::parse(url).map_err(|e| SetupError(format!("SMTP_URL is not a URL: {e}")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| SetupError("SMTP_URL has no host".into()))?
            .to_owned();
        let implicit = match parsed.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(SetupError(format!(
                    "SMTP_URL: the scheme must be smtp (STARTTLS) or smtps, not {other}"
                )))
            }
        };
        // lettre takes the process's default TLS provider; the one every TLS client here uses,
        // whatever else a dependency compiled in.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut tls = TlsParameters::builder(host.clone());
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| SetupError(format!("SMTP_CA_FILE {}: {e}", path.display())))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|e| SetupError(format!("SMTP_CA_FILE {}: {e}", path.display())))?;
            tls = tls.add_root_certificate(certificate);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| SetupError(format!("SMTP TLS: {e}")))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| SetupError(format!("SMTP_URL: {e}")))?
            .port(parsed.port().unwrap_or(if implicit { 465 } else { 587 }))
            .timeout(Some(settings.timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(settings.pool_size)
                    .idle_timeout(Duration::from_secs(60)),
            );
        builder = builder.tls(if implicit {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        });
        let from = settings
            .from
            .as_deref()
            .ok_or_else(|| SetupError("MAIL_FROM is needed with SMTP_URL".into()))?
            .parse::<Mailbox>()
            .map_err(|e| SetupError(format!("MAIL_FROM: {e}")))?;
        Ok(Some(Mailer {
            transport: builder.build(),
            from,
            sending: Arc::new(Semaphore::new(settings.pool_size as usize)),
        }))
    }

    /// Sends `rendered` to `to`, as a plain-text part beside the HTML one.
    pub async fn send(&self, to: Mailbox, rendered: &Rendered) -> Sent {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&rendered.subject)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ));
        let message = match message {
            Ok(message) => message,
            Err(e) => return Sent::Refused(format!("the message cannot be built: {e}")),
        };
        let _turn = self
            .sending
            .acquire()
            .await
            .expect("the semaphore is never closed");
        match self.transport.send(message).await {
            Ok(response) => Sent::Accepted(response.message().collect::<Vec<_>>().join(" ")),
            Err(e) if e.is_permanent() => {
                let code = e.status().map(u16::from);
                // 530, 534, 535: the relay wants other credentials or another setup.
                if matches!(code, Some(530 | 534 | 535)) {
                    Sent::Misconfigured(format!("the SMTP relay refused us: {e}"))
                } else {
                    Sent::Refused(format!("the SMTP relay refused the message: {e}"))
                }
            }
            Err(e) if e.is_tls() => Sent::Misconfigured(format!("SMTP TLS failed: {e}")),
            // This message cannot go through this relay however often it is tried (an
            // address in UTF-8 to a relay without SMTPUTF8).
            Err(e) if e.is_client() => {
                Sent::Refused(format!("the message cannot be sent to this relay: {e}"))
            }
            Err(e) => Sent::Later(format!("the SMTP relay did not take the message: {e}")),
        }
    }
}
