//! The one HTTP client type shopbridge reaches partners with: pooled keep-alive connections,
//! a timeout per request, no redirects followed, and, for URLs users give, only the
//! addresses [`address`] allows, checked at every connection.

pub mod address;
pub mod rate;
pub mod signature;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use address::{Guard, Refused};

/// A partner's answer: its status, what it asks about retrying, and its body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After`, in seconds or as an HTTP date.
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Enough of the body to diagnose, not enough to flood a log or a status page.
    pub fn excerpt(&self) -> String {
        clip(&self.body)
    }
}

/// At most 500 bytes of `body`, cut at a character boundary, `…` where it was cut.
pub fn clip(body: &str) -> String {
    if body.len() <= 500 {
        return body.to_owned();
    }
    let mut cut = 500;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &body[..cut])
}

/// A request that got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NoAnswer {
    #[error("the partner did not answer in time")]
    Timeout,
    #[error("the partner is unreachable: {0}")]
    Unreachable(String),
    /// The URL leads to an address users' URLs may not reach.
    #[error(transparent)]
    Refused(#[from] Refused),
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    timeout: Duration,
    guard: Option<Guard>,
}

impl Client {
    /// For URLs the operator configured: any address.
    pub fn trusted(timeout: Duration) -> Self {
        Client {
            http: builder(timeout).build().expect("the HTTP client builds"),
            timeout,
            guard: None,
        }
    }

    /// For URLs users give: only the addresses `guard` allows, and never through a proxy
    /// (which would resolve the name itself).
    pub fn guarded(timeout: Duration, guard: Guard) -> Self {
        Self::guarded_trusting(timeout, guard, &[])
    }

    /// [`Client::guarded`], trusting `roots` besides the system's certificate authorities
    /// (`OUTBOUND_CA_FILE`).
    pub fn guarded_trusting(
        timeout: Duration,
        guard: Guard,
        roots: &[reqwest::Certificate],
    ) -> Self {
        let http = roots
            .iter()
            .fold(builder(timeout), |b, root| {
                b.add_root_certificate(root.clone())
            })
            .no_proxy()
            .dns_resolver(Arc::new(guard.clone()))
            .build()
            .expect("the HTTP client builds");
        Client {
            http,
            timeout,
            guard: Some(guard),
        }
    }

    /// The longest one request takes.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// POSTs `body` with `headers`; the answer, whatever its status.
    pub async fn post(
        &self,
        url: &reqwest::Url,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Answer, NoAnswer> {
        self.send(self.http.post(url.clone()).headers(headers).body(body), url)
            .await
    }

    /// GETs `url` with `headers`; the answer, whatever its status.
    pub async fn get(&self, url: &reqwest::Url, headers: HeaderMap) -> Result<Answer, NoAnswer> {
        self.send(self.http.get(url.clone()).headers(headers), url)
            .await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &reqwest::Url,
    ) -> Result<Answer, NoAnswer> {
        if let (Some(guard), Some(host)) = (&self.guard, url.host()) {
            match host {
                url::Host::Ipv4(ip) => guard.check_literal(&ip.to_string(), ip.into())?,
                url::Host::Ipv6(ip) => guard.check_literal(&ip.to_string(), ip.into())?,
                url::Host::Domain(_) => {}
            }
        }
        let response = request.send().await.map_err(no_answer)?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get(RETRY_AFTER).and_then(retry_after);
        let body = response.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }
}

/// How long an idle connection is kept for reuse: less than the 5 s after which common
/// partner servers (Node.js, actix-web) close one, so a request is not sent down a
/// connection the partner is closing ("connection closed before message completed").
const IDLE_CONNECTION: Duration = Duration::from_secs(4);

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_idle_timeout(IDLE_CONNECTION)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shopbridge/", env!("CARGO_PKG_VERSION")))
}

/// The certificates of a PEM file (`OUTBOUND_CA_FILE`); the error names the file.
pub fn load_roots(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("{}: {e}", path.display()))
}

/// A refused address hides in the error's sources, where the resolver put it.
fn no_answer(error: reqwest::Error) -> NoAnswer {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    let mut deepest = None;
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return NoAnswer::Refused(refused.clone());
        }
        deepest = Some(cause);
        source = cause.source();
    }
    if error.is_timeout() {
        return NoAnswer::Timeout;
    }
    // reqwest's own words ("error sending request") do not say why; the deepest cause does
    // (connection refused, an untrusted certificate).
    let why = deepest
        .filter(|cause| !std::ptr::addr_eq(*cause, &error))
        .map(|cause| format!(": {cause}"))
        .unwrap_or_default();
    NoAnswer::Unreachable(format!("{}{why}", error.without_url()))
}

/// `Retry-After: <seconds>` or `Retry-After: <HTTP date>` (RFC 9110 §10.2.3).
fn retry_after(value: &HeaderValue) -> Option<Duration> {
    let value = value.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        assert_eq!(retry_after(&header("120")), Some(Duration::from_secs(120)));
        let soon = chrono::Utc::now() + chrono::Duration::seconds(30);
        let date = soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let parsed = retry_after(&header(&date)).unwrap();
        assert!(parsed <= Duration::from_secs(30) && parsed >= Duration::from_secs(28));
        assert_eq!(retry_after(&header("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(&header("soon")), None);
    }
}
