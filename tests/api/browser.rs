//! Headless Chromium driven over the DevTools protocol, for tests of web pages: load a page,
//! run JavaScript in it, take a screenshot. Needs Debian's `chromium` (`bash .ci/run`
//! installs it) or `CHROMIUM` naming a Chromium/Chrome binary.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest wait for any one DevTools answer or event.
const STEP: Duration = Duration::from_secs(30);

pub struct Browser {
    _process: Child,
    _profile: tempfile::TempDir,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Events that arrived while waiting for an answer.
    events: VecDeque<Value>,
}

impl Browser {
    /// Starts Chromium with one blank tab, a fresh profile and a window of `width`×`height`.
    pub async fn launch(width: u32, height: u32) -> Browser {
        let executable = chromium();
        let profile = tempfile::tempdir().unwrap();
        let mut process = Command::new(&executable)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.path().display()),
                &format!("--window-size={width},{height}"),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {executable}: {e}"));
        // Chromium announces its DevTools endpoint on stderr; the rest of stderr is drained
        // so a full pipe never blocks it.
        let mut stderr = BufReader::new(process.stderr.take().unwrap()).lines();
        let endpoint = tokio::time::timeout(STEP, async {
            while let Some(line) = stderr.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("{executable} exited before offering DevTools");
        })
        .await
        .expect("Chromium offers DevTools");
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .expect("connect to DevTools");
        let mut browser = Browser {
            _process: process,
            _profile: profile,
            socket,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Page.enable", json!({})).await;
        browser
    }

    /// Sends a DevTools command to the tab and returns its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .expect("DevTools command sent");
        loop {
            let message = self.next_message(method).await;
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("{method} failed: {error}");
                }
                return message["result"].clone();
            }
            self.events.push_back(message);
        }
    }

    /// Waits for the DevTools event `method` (e.g. `Page.loadEventFired`).
    pub async fn event(&mut self, method: &str) -> Value {
        if let Some(at) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(at).unwrap();
        }
        loop {
            let message = self.next_message(method).await;
            if message["method"] == method {
                return message;
            }
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn open(&mut self, url: &str) {
        self.events.clear();
        let navigated = self.call("Page.navigate", json!({"url": url})).await;
        assert!(
            navigated.get("errorText").is_none(),
            "cannot open {url}: {navigated}"
        );
        self.event("Page.loadEventFired").await;
    }

    /// Evaluates `expression` in the page (promises are awaited) and returns its value.
    pub async fn evaluate(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression} threw: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Writes a PNG of the page as the viewport shows it.
    pub async fn screenshot(&mut self, path: &Path) {
        // A capture waits for the tab's next frame, and a tab Chromium counts as in the
        // background may never draw one; Puppeteer activates the tab first for the same reason.
        self.call("Page.bringToFront", json!({})).await;
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": false}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    async fn next_message(&mut self, waiting_for: &str) -> Value {
        loop {
            let message = tokio::time::timeout(STEP, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer from Chromium to {waiting_for}"))
                .expect("Chromium is still there")
                .expect("DevTools message");
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }
}

fn chromium() -> String {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return path.to_string_lossy().into_owned();
    }
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|name| {
            std::env::var_os("PATH").is_some_and(|paths| {
                std::env::split_paths(&paths).any(|dir| dir.join(name).is_file())
            })
        });
    found
        .expect(
            "headless Chromium is needed for the web page tests: install Debian's `chromium` \
             (`bash .ci/run` does) or set CHROMIUM to a Chromium or Chrome binary",
        )
        .to_owned()
}

/// Where tests leave screenshots for people to look at: `target/screenshots/`.
pub fn screenshot_path(name: &str) -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("screenshots").join(name)
}
