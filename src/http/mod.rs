//! HTTP plumbing shared by every integration: errors, extractors, probes, signatures,
//! the API spec, TLS.

pub mod admission;
pub mod auth;
pub mod edge;
pub mod error;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod signature;
pub mod tls;

/// Enough of a partner's error body to diagnose, not enough to flood a log or a status page.
pub fn clip(mut body: String) -> String {
    if body.len() > 500 {
        let mut cut = 500;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
        body.push('…');
    }
    body
}
