//! A private PostgreSQL cluster started from the server binaries installed on the machine,
//! used when no `DATABASE_URL` is configured.
//!
//! The cluster listens on 127.0.0.1 only (no unix socket), on a port picked at start, with
//! password authentication; the password is generated at `initdb` time and kept beside the
//! data directory. `postgres` runs as a child of a keeper thread with a parent-death signal,
//! so it shuts down with shopbridge even when shopbridge is killed. When shopbridge runs as
//! root (which `initdb` refuses), the cluster runs as the unprivileged `postgres` user.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::{chown, Pid, User};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

const SUPERUSER: &str = "shopbridge";
const SERVICE_USERS: [&str; 2] = ["postgres", "nobody"];
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres) were not found on PATH or under \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`), \
         set PG_BIN_DIR to their directory, or set DATABASE_URL to use an existing database."
    )]
    BinariesNotFound,
    #[error(
        "running as root, but no unprivileged user ({}) exists to run PostgreSQL as; \
         create one or set DATABASE_URL", SERVICE_USERS.join(", ")
    )]
    NoServiceUser,
    #[error(
        "the PostgreSQL data directory {dir} must be reachable by the user `{user}` that runs the \
         cluster, but {blocked} is not; set EMBEDDED_PG_DIR to a directory it can reach \
         (for example under /var/lib or /tmp)"
    )]
    Unreachable {
        dir: PathBuf,
        user: String,
        blocked: PathBuf,
    },
    #[error("{action}: {source}")]
    Io { action: String, source: io::Error },
    #[error("initdb failed ({status}): {output}")]
    InitDb { status: String, output: String },
    #[error("PostgreSQL did not start: {reason}. Last lines of {log}:\n{tail}")]
    Startup {
        reason: String,
        log: PathBuf,
        tail: String,
    },
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let action = action.into();
    move |source| EmbeddedError::Io { action, source }
}

/// How to run the cluster.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Holds `pgdata/`, the generated `password` and `postgres.log`; reused across starts.
    pub dir: PathBuf,
    /// Where `initdb` and `postgres` are; found automatically when `None`.
    pub bin_dir: Option<PathBuf>,
    /// Trade durability for speed (fsync off): for throw-away test clusters only.
    pub ephemeral: bool,
}

/// A running private cluster; stopped (fast shutdown) by [`EmbeddedPostgres::stop`] or on drop.
pub struct EmbeddedPostgres {
    port: u16,
    password: String,
    dir: PathBuf,
    keeper: Mutex<Option<Keeper>>,
}

struct Keeper {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl EmbeddedPostgres {
    /// Initialises the cluster on first use, starts it and waits until it accepts connections.
    pub async fn start(options: EmbeddedOptions) -> Result<Self, EmbeddedError> {
        let bin_dir = match &options.bin_dir {
            Some(dir) => dir.clone(),
            None => find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?,
        };
        if !bin_dir.join("postgres").is_file() || !bin_dir.join("initdb").is_file() {
            return Err(EmbeddedError::BinariesNotFound);
        }
        let run_as = service_user()?;
        fs::create_dir_all(&options.dir)
            .map_err(io_err(format!("creating {}", options.dir.display())))?;
        let dir = options
            .dir
            .canonicalize()
            .map_err(io_err(format!("resolving {}", options.dir.display())))?;
        if let Some(user) = &run_as {
            check_reachable(&dir, user)?;
            chown(&dir, Some(user.uid), Some(user.gid))
                .map_err(|e| io_err(format!("chown {}", dir.display()))(e.into()))?;
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("chmod {}", dir.display())))?;

        let pgdata = dir.join("pgdata");
        let password_file = dir.join("password");
        if !pgdata.join("PG_VERSION").is_file() {
            init_cluster(&bin_dir, &pgdata, &password_file, run_as.as_ref())?;
        }
        let password = fs::read_to_string(&password_file)
            .map_err(io_err(format!("reading {}", password_file.display())))?
            .trim()
            .to_owned();

        let port = free_port()?;
        let log_path = dir.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_err(format!("opening {}", log_path.display())))?;
        let log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut command = Command::new(bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(&pgdata)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_err("duplicating log handle"))?)
            .stderr(log);
        // Per-statement statistics (pg_stat_statements): what a page or a batch costs the
        // database itself, for tests and benchmarks. Loaded when the server ships it.
        if bin_dir.join("../lib/pg_stat_statements.so").is_file() {
            command.args(["-c", "shared_preload_libraries=pg_stat_statements"]);
        }
        if options.ephemeral {
            command.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ]);
        }
        let keeper = spawn_keeper(command, run_as.as_ref())?;

        let cluster = EmbeddedPostgres {
            port,
            password,
            dir,
            keeper: Mutex::new(Some(keeper)),
        };
        cluster.wait_until_ready(&log_path, log_offset).await?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Connection options for `database` as the cluster's superuser.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(SUPERUSER)
            .password(&self.password)
            .database(database)
    }

    /// Creates `database` unless it exists.
    pub async fn ensure_database(&self, database: &str) -> Result<(), sqlx::Error> {
        let mut conn = self.connect_options("postgres").connect().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{}\"",
                database.replace('"', "\"\"")
            )))
            .execute(&mut conn)
            .await?;
        }
        conn.close().await
    }

    /// Fast shutdown: open sessions are ended, the data is checkpointed.
    pub fn stop(&self) {
        let keeper = self.keeper.lock().map(|mut k| k.take()).unwrap_or(None);
        if let Some(keeper) = keeper {
            let _ = keeper.stop.send(());
            let _ = keeper.thread.join();
        }
    }

    async fn wait_until_ready(&self, log: &Path, log_offset: u64) -> Result<(), EmbeddedError> {
        let started = Instant::now();
        let options = self.connect_options("postgres");
        loop {
            match options.connect().await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(error) => {
                    let exited = self
                        .keeper
                        .lock()
                        .map(|k| k.as_ref().is_none_or(|k| k.thread.is_finished()))
                        .unwrap_or(true);
                    let reason = if exited {
                        Some("the server exited".to_owned())
                    } else if started.elapsed() > STARTUP_TIMEOUT {
                        Some(format!(
                            "not accepting connections after {STARTUP_TIMEOUT:?}: {error}"
                        ))
                    } else {
                        None
                    };
                    if let Some(reason) = reason {
                        self.stop();
                        return Err(EmbeddedError::Startup {
                            reason,
                            log: log.to_owned(),
                            tail: log_tail(log, log_offset),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `initdb` with a generated superuser password, UTF-8, and no locale dependence.
fn init_cluster(
    bin_dir: &Path,
    pgdata: &Path,
    password_file: &Path,
    run_as: Option<&User>,
) -> Result<(), EmbeddedError> {
    let password = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    fs::write(password_file, &password)
        .map_err(io_err(format!("writing {}", password_file.display())))?;
    fs::set_permissions(password_file, fs::Permissions::from_mode(0o600))
        .map_err(io_err(format!("chmod {}", password_file.display())))?;
    if let Some(user) = run_as {
        chown(password_file, Some(user.uid), Some(user.gid))
            .map_err(|e| io_err(format!("chown {}", password_file.display()))(e.into()))?;
    }
    if pgdata.exists() {
        // Left over from an initdb that was interrupted before it wrote PG_VERSION.
        fs::remove_dir_all(pgdata).map_err(io_err(format!("removing {}", pgdata.display())))?;
    }
    let mut command = Command::new(bin_dir.join("initdb"));
    command
        .arg("-D")
        .arg(pgdata)
        .args([
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--no-locale",
            "--auth=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", password_file.display()))
        .stdin(Stdio::null());
    if let Some(user) = run_as {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    let output = command.output().map_err(io_err("running initdb"))?;
    if !output.status.success() {
        return Err(EmbeddedError::InitDb {
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(())
}

/// Starts `postgres` from a thread that lives as long as the cluster: the parent-death
/// signal is tied to the creating thread, so the server outlives no caller.
fn spawn_keeper(mut command: Command, run_as: Option<&User>) -> Result<Keeper, EmbeddedError> {
    if let Some(user) = run_as {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    // Its own process group: a Ctrl-C in the terminal reaches shopbridge, which drains
    // requests and then stops the cluster, instead of killing the database mid-request.
    command.process_group(0);
    // SAFETY: runs between fork and exec; prctl is async-signal-safe. std applies uid/gid
    // before pre_exec hooks, so the signal survives the credential change.
    unsafe {
        command
            .pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(io::Error::from));
    }
    let (spawned_tx, spawned_rx) = mpsc::channel::<io::Result<()>>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("embedded-postgres".into())
        .spawn(move || {
            let mut child: Child = match command.spawn() {
                Ok(child) => {
                    let _ = spawned_tx.send(Ok(()));
                    child
                }
                Err(error) => {
                    let _ = spawned_tx.send(Err(error));
                    return;
                }
            };
            loop {
                match stop_rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(mpsc::RecvTimeoutError::Timeout) => match child.try_wait() {
                        Ok(None) => {}
                        Ok(Some(status)) => {
                            log::error!("embedded PostgreSQL exited on its own ({status})");
                            return;
                        }
                        Err(error) => {
                            log::error!("embedded PostgreSQL cannot be watched: {error}");
                            return;
                        }
                    },
                }
            }
            let pid = Pid::from_raw(child.id() as i32);
            let _ = kill(pid, Signal::SIGINT);
            let _ = child.wait();
        })
        .map_err(io_err("starting the embedded-postgres thread"))?;
    spawned_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("keeper thread ended")))
        .map_err(io_err("starting postgres"))?;
    Ok(Keeper {
        stop: stop_tx,
        thread,
    })
}

/// `PG_BIN_DIR` unset: the directory holding `initdb` on PATH (symlinks resolved, so
/// `postgres` and the client programs are found beside it), else the newest
/// `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|dir| dir.join("initdb").canonicalize().ok())
            .filter_map(|initdb| initdb.parent().map(Path::to_path_buf))
            .find(|dir| has_server(dir))
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .filter(|(_, dir)| has_server(dir))
            .collect();
        versions.sort();
        versions.pop().map(|(_, dir)| dir)
    })
}

/// `None` when the cluster can run as the current user; an unprivileged user when root.
fn service_user() -> Result<Option<User>, EmbeddedError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    SERVICE_USERS
        .iter()
        .find_map(|name| User::from_name(name).ok().flatten())
        .map(Some)
        .ok_or(EmbeddedError::NoServiceUser)
}

/// The cluster's user must be able to traverse every ancestor of the data directory.
fn check_reachable(dir: &Path, user: &User) -> Result<(), EmbeddedError> {
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.mode();
        let traversable = if meta.uid() == user.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !traversable {
            return Err(EmbeddedError::Unreachable {
                dir: dir.to_owned(),
                user: user.name.clone(),
                blocked: ancestor.to_owned(),
            });
        }
    }
    Ok(())
}

fn free_port() -> Result<u16, EmbeddedError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("finding a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port())
}

/// What the server logged since this start, last 20 lines.
fn log_tail(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.seek(SeekFrom::Start(offset));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
