//! The sample-event page: rendered on the server by a template that escapes every value
//! (minijinja's HTML auto-escaping), and refreshed in the browser by fetching itself again.
//! Nothing loads from outside; the inline script and style carry a per-response nonce that
//! the Content-Security-Policy requires.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::HttpResponse;
use base64::Engine;
use minijinja::{context, Environment};
use serde::Serialize;

use super::inbox::{InboxFilter, InboxPage, KindFilter};
use super::recognise::Kind;
use crate::http::error::ApiError;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("page.html", include_str!("page.html"))
        .expect("the sample-event template parses");
    env
});

#[derive(Serialize)]
struct Row<'a> {
    id: i64,
    received_at: &'a str,
    /// `2026-11-23 09:53:27 UTC`: easier to read than RFC 3339.
    received_label: String,
    kind: Option<&'static str>,
    sent_kind: Option<&'a str>,
    test: bool,
    customer_id: Option<&'a str>,
    cart_id: Option<&'a str>,
    offer_id: Option<&'a str>,
    problem: Option<&'a str>,
    payload: &'a str,
}

#[derive(Serialize)]
struct KindOption {
    code: &'static str,
    label: &'static str,
    selected: bool,
}

pub fn render(filter: &InboxFilter, page: &InboxPage) -> Result<HttpResponse, ApiError> {
    let rows: Vec<Row> = page
        .events
        .iter()
        .map(|e| Row {
            id: e.id,
            received_at: &e.received_at,
            received_label: e.received_at.replace('T', " ").replace('Z', " UTC"),
            kind: e.kind.as_deref().and_then(Kind::from_code).map(Kind::label),
            sent_kind: e.sent_kind.as_deref(),
            test: e.test,
            customer_id: e.customer_id.as_deref(),
            cart_id: e.cart_id.as_deref(),
            offer_id: e.offer_id.as_deref(),
            problem: e.problem.as_deref(),
            payload: &e.payload_pretty,
        })
        .collect();
    let kinds: Vec<KindOption> = KindFilter::CHOICES
        .into_iter()
        .map(|k| KindOption {
            code: k.code(),
            label: k.label(),
            selected: filter.kind() == Some(k),
        })
        .collect();
    let older = page.next_before.map(|before| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("before", &before.to_string());
        if let Some(kind) = filter.kind() {
            query.append_pair("kind", kind.code());
        }
        if let Some(customer) = &filter.customer_id {
            query.append_pair("customerId", customer);
        }
        format!("?{}", query.finish())
    });
    let nonce = nonce();
    let html = TEMPLATES
        .get_template("page.html")
        .and_then(|template| {
            template.render(context! {
                events => rows,
                kinds => kinds,
                customer_id => filter.customer_id,
                filtered => filter.kind().is_some() || filter.customer_id.is_some(),
                kept => page.kept,
                retention => human_duration(page.retention_secs),
                older => older,
                paging => filter.before.is_some(),
                nonce => nonce,
            })
        })
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
                 connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            ),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(html))
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `2592000` → "30 days".
fn human_duration(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 86400 && s % 86400 == 0 => (s / 86400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reads_in_the_largest_whole_unit() {
        assert_eq!(human_duration(30 * 86400), "30 days");
        assert_eq!(human_duration(86400), "1 day");
        assert_eq!(human_duration(36 * 3600), "36 hours");
        assert_eq!(human_duration(90), "90 seconds");
    }
}
