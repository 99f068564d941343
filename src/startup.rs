//! Wires the application together: store, curriculum, keys, limits, metrics and the HTTP server. The one place
//! that knows how the parts connect; tests build the same [`Application`] on port 0.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, RwLock};

use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::web::Data;
use actix_web::{App, HttpServer};

use crate::archive::ArchiveLimits;
use crate::auth::ratelimit::{LoginLimiter, LoginPolicy};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{ServerSettings, Settings};
use crate::curriculum::{Curriculum, SharedCurriculum};
use crate::diagnostics::Diagnostic;
use crate::grading::secrets::RunSecrets;
use crate::grading::submit::Intake;
use crate::grading::{reaper, WorkerPool, WorkerSettings};
use crate::reload::Reloader;
use crate::sandbox::Sandbox;
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use crate::web::{self, AppState};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("the curriculum has {} problem(s):\n{}", .0.len(), .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Curriculum(Vec<Diagnostic>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot use the secret key file {path}: {source}")]
    Key {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen for SIGHUP (curriculum reload): {source}")]
    Signal { source: std::io::Error },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// Knobs tests turn; production uses the defaults.
pub struct Options {
    pub clock: SharedClock,
    pub login_policy: LoginPolicy,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clock: Arc::new(SystemClock),
            login_policy: LoginPolicy::default(),
        }
    }
}

/// A built server, bound to its port, not yet running.
pub struct Application {
    port: u16,
    address: String,
    server: Server,
    /// `/metrics` on its own address, when the operator asked for one.
    metrics: Option<(Server, u16)>,
    state: Data<AppState>,
    workers: Option<WorkerPool>,
    /// Reloads the curriculum on SIGHUP while the server runs.
    hangup: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    pub async fn build(
        settings: Settings,
        server: ServerSettings,
    ) -> Result<Application, StartupError> {
        Self::build_with(settings, server, Options::default()).await
    }

    pub async fn build_with(
        settings: Settings,
        server: ServerSettings,
        options: Options,
    ) -> Result<Application, StartupError> {
        let curriculum = Curriculum::load(&settings.curriculum_dir, &settings.labs_dir)
            .map_err(StartupError::Curriculum)?;
        let store = Store::connect(&settings.database_url)
            .await?
            .with_clock(options.clock.clone());
        let key = load_or_create_key(&settings.data_dir)?;
        let curriculum: SharedCurriculum = Arc::new(RwLock::new(Arc::new(curriculum)));
        let (workers, waker) = start_workers(&settings, &store, &curriculum).await?;
        let reloader = Reloader::new(curriculum.clone(), store.now());
        // Listening before the server answers, so a SIGHUP sent once it is up never takes the default action
        // (ending the process).
        #[cfg(unix)]
        let hangup = Some(
            crate::reload::on_sighup(reloader.clone(), store.clone())
                .map_err(|source| StartupError::Signal { source })?,
        );
        #[cfg(not(unix))]
        let hangup = None;
        let state = Data::new(AppState {
            store,
            curriculum,
            reloader,
            limiter: LoginLimiter::new(options.login_policy, options.clock.clone()),
            trusted_proxies: server.trusted_proxies.clone(),
            key,
            secure_cookies: server.secure_cookies,
            metrics: Metrics::new(),
            metrics_access: server.metrics.clone(),
            clock: options.clock,
            asset_version: web::assets::version(),
            grading: Intake {
                limits: archive_limits(&settings),
                scratch: settings.data_dir.join("work"),
                waker,
                local_workers: settings.grading.workers > 0,
                quota: settings.grading.quota,
            },
        });
        let listener = TcpListener::bind(server.bind).map_err(|source| StartupError::Bind {
            address: server.bind.to_string(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            address: server.bind.to_string(),
            source,
        })?;
        let app_state = state.clone();
        let http = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .wrap(from_fn(web::csrf_cookie))
                .wrap(from_fn(web::observe))
                .configure(web::routes)
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: local.to_string(),
            source,
        })?
        .run();
        let metrics = match server.metrics.bind {
            Some(bind) => Some(metrics_server(bind, state.clone())?),
            None => None,
        };
        Ok(Application {
            port: local.port(),
            address: local.to_string(),
            server: http,
            metrics,
            state,
            workers,
            hangup,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// The port `/metrics` is served on when it has an address of its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Shared state, for tests that need to reach the store behind the server.
    pub fn state(&self) -> Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM stop actix gracefully), then lets the
    /// workers finish their current runs.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let served = self.server.await;
        if let Some(hangup) = self.hangup {
            hangup.abort();
        }
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        if let Some(workers) = self.workers {
            workers.shutdown().await;
        }
        served
    }
}

/// A second, minimal server that answers `/metrics` and nothing else, so the figures can live on an address only
/// the monitoring network reaches. Returns it with its port (the setting may ask for port 0).
fn metrics_server(bind: SocketAddr, state: Data<AppState>) -> Result<(Server, u16), StartupError> {
    let err = |source| StartupError::Bind {
        address: bind.to_string(),
        source,
    };
    let listener = TcpListener::bind(bind).map_err(err)?;
    let port = listener.local_addr().map_err(err)?.port();
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).route(
            "/metrics",
            actix_web::web::get().to(web::health::metrics_here),
        )
    })
    .workers(1)
    .listen(listener)
    .map_err(err)?
    .run();
    Ok((server, port))
}

/// The archive limits from the settings.
pub fn archive_limits(settings: &Settings) -> ArchiveLimits {
    ArchiveLimits {
        max_bytes: settings.grading.max_upload_bytes,
        ..ArchiveLimits::default()
    }
}

/// Starts this process's grading workers (none when `workers` is 0) after removing what a crash left in Docker.
/// Returns the pool and the handle that wakes it.
pub async fn start_workers(
    settings: &Settings,
    store: &Store,
    curriculum: &SharedCurriculum,
) -> Result<(Option<WorkerPool>, Arc<tokio::sync::Notify>), StartupError> {
    if settings.grading.workers == 0 {
        return Ok((None, Arc::new(tokio::sync::Notify::new())));
    }
    let instance = store.instance_id().await?;
    match Sandbox::connect().await {
        Ok(sandbox) => {
            sandbox.warn_if_engine_is_old().await;
            match reaper::reap_leftovers(store, &sandbox).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    removed = n,
                    "removed Docker objects left by interrupted runs"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "could not clean up Docker objects of earlier runs")
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "the Docker engine cannot be reached; runs will wait in the queue")
        }
    }
    let mut worker = WorkerSettings::new(settings.data_dir.join("work"));
    worker.workers = settings.grading.workers;
    worker.lease = settings.grading.lease;
    worker.heartbeat = (settings.grading.lease / 4).max(std::time::Duration::from_millis(500));
    worker.limits = archive_limits(settings);
    worker.shutdown_grace = settings.grading.shutdown_grace;
    worker.build_policy = settings.grading.build.clone();
    worker.firewall = settings.grading.firewall;
    worker.kafka_image = settings.grading.kafka_image.clone();
    worker.grader_build_args = settings.grading.grader_build_args.clone();
    worker.secrets = run_secrets(&settings.data_dir)?;
    let pool = WorkerPool::spawn(store.clone(), curriculum.clone(), instance, worker);
    let waker = pool.waker();
    Ok((Some(pool), waker))
}

/// The key per-run secrets are derived under (with each run's seed): the server's own, from the same
/// `DATA_DIR/secret.key` that signs cookies (created when missing), so a re-grade on this server gets the same
/// secrets and nobody without the file can compute them from the seed.
pub fn run_secrets(data_dir: &Path) -> Result<RunSecrets, StartupError> {
    Ok(RunSecrets::from_server_key(
        load_or_create_key(data_dir)?.master(),
    ))
}

/// The key that signs cookies and keys per-run secrets: kept in `DATA_DIR/secret.key` so sessions survive
/// restarts and re-grades get the same secrets, created on first run with permissions only the owner can read.
fn load_or_create_key(data_dir: &Path) -> Result<Key, StartupError> {
    let path = data_dir.join("secret.key");
    let err = |source| StartupError::Key {
        path: path.display().to_string(),
        source,
    };
    if let Ok(bytes) = std::fs::read(&path) {
        if bytes.len() >= 64 {
            return Ok(Key::from(&bytes));
        }
    }
    std::fs::create_dir_all(data_dir).map_err(err)?;
    let key = Key::generate();
    write_private(&path, key.master()).map_err(err)?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
