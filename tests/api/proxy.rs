//! A TCP relay on a fixed loopback port to a PostgreSQL server: taken down, it closes every
//! connection and refuses new ones, as a stopped server does; brought up, it relays again,
//! to a server that may have restarted on another port.

use std::sync::{Arc, Mutex};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Relay {
    port: u16,
    target: Arc<Mutex<u16>>,
    accepting: Mutex<Option<JoinHandle<()>>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    /// Relays a new port of its own to `target`.
    pub async fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            port: listener.local_addr().unwrap().port(),
            target: Arc::new(Mutex::new(target)),
            accepting: Mutex::new(None),
            connections: Arc::default(),
        };
        relay.accept_on(listener);
        relay
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn accept_on(&self, listener: TcpListener) {
        let (target, connections) = (self.target.clone(), self.connections.clone());
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let port = *target.lock().unwrap();
                let relayed = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                connections.lock().unwrap().push(relayed);
            }
        });
        *self.accepting.lock().unwrap() = Some(accepting);
    }

    /// Closes every connection and refuses new ones.
    pub fn down(&self) {
        if let Some(accepting) = self.accepting.lock().unwrap().take() {
            accepting.abort();
        }
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    /// Relays again, on the same port, to `target`.
    pub async fn up(&self, target: u16) {
        *self.target.lock().unwrap() = target;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                // The aborted listener's socket is closed when its task is dropped.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        };
        self.accept_on(listener);
    }
}
