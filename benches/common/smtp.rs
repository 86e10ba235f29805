//! An SMTP server on loopback offering STARTTLS with a certificate made for `localhost`,
//! taking `delay` per message: the tests' and benchmarks' relay.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::{Handler, Response, Server, SslConfig};

#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
    pub at: Option<Instant>,
}

#[derive(Clone)]
struct Catcher {
    mails: Arc<Mutex<Vec<Mail>>>,
    current: Mail,
    delay: Duration,
}

impl Handler for Catcher {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Mail {
            to: to.to_vec(),
            data: String::new(),
            at: None,
        };
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        std::thread::sleep(self.delay);
        self.current.at = Some(Instant::now());
        self.mails
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.current));
        mailin_embedded::response::OK
    }
}

/// An SMTP server offering STARTTLS with a certificate for `localhost`.
pub struct SmtpServer {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    pub ca_file: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// A certificate and a port, nothing listening yet.
    pub fn reserve() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        SmtpServer {
            port,
            mails: Arc::default(),
            ca_file: dir.path().join("cert.pem"),
            dir,
        }
    }

    pub fn start(reserved: Self, delay: Duration) -> Self {
        // The server's TLS takes the process's default provider, as the application's does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut server = Server::new(Catcher {
            mails: reserved.mails.clone(),
            current: Mail::default(),
            delay,
        });
        let path = |f: &str| reserved.dir.path().join(f).to_string_lossy().into_owned();
        server
            .with_name("localhost")
            .with_num_threads(64)
            .with_ssl(SslConfig::SelfSigned {
                cert_path: path("cert.pem"),
                key_path: path("key.pem"),
            })
            .unwrap()
            .with_tcp_listener(TcpListener::bind(("127.0.0.1", reserved.port)).unwrap());
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        reserved
    }

    /// The mails received after the first `seen`.
    pub fn received_since(&self, seen: usize) -> Vec<Mail> {
        self.mails.lock().unwrap()[seen..].to_vec()
    }
}
