//! HTTPS: partners only call HTTPS endpoints, so `serve` terminates TLS itself when a
//! certificate and key are configured.

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

use crate::configuration::TlsSettings;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS_CERT_PATH {path}: {detail}")]
    Certificate { path: String, detail: String },
    #[error("TLS_KEY_PATH {path}: {detail}")]
    Key { path: String, detail: String },
    #[error("TLS configuration")]
    Config(#[from] rustls::Error),
}

pub fn server_config(settings: &TlsSettings) -> Result<ServerConfig, TlsError> {
    let cert_path = settings.cert_path.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&settings.cert_path)
        .and_then(|certs| certs.collect())
        .map_err(|e| TlsError::Certificate {
            path: cert_path.clone(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Certificate {
            path: cert_path,
            detail: "no PEM certificate in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&settings.key_path).map_err(|e| TlsError::Key {
        path: settings.key_path.display().to_string(),
        detail: e.to_string(),
    })?;
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    Ok(config)
}
