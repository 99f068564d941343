//! Settings: command-line flags, then `GAUNTLET_*` environment variables, then an optional `gauntlet.toml`,
//! then defaults — in that order of precedence.
//!
//! clap reads flags and environment together (its `env` attribute), so this module only has to fill what both
//! left empty from the file and the defaults, and to turn strings into typed values once.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything that can go wrong while settling the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("`{value}` is not a valid bind address (expected host:port, e.g. 127.0.0.1:8080)")]
    Bind { value: String },
    #[error("unsupported database URL `{0}` (use sqlite://PATH or postgres://USER@HOST/DB)")]
    DatabaseUrl(String),
    #[error("unknown log format `{0}` (text or json)")]
    LogFormat(String),
    #[error("build_base_images: {0}")]
    BaseImages(#[from] crate::sandbox::BadPattern),
    #[error(transparent)]
    Firewall(#[from] crate::sandbox::FirewallError),
    #[error("`{0}` is not a proxy address or network (e.g. 10.0.0.1 or 10.0.0.0/8)")]
    Proxy(String),
    #[error("grader_build_args: `{0}` is not NAME=value")]
    BuildArg(String),
}

/// Values as they come from flags or environment: every one optional so the file and defaults can fill in.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Optional settings file [default: ./gauntlet.toml when it exists]
    #[arg(long, env = "GAUNTLET_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… [default: sqlite://DATA_DIR/gauntlet.db]
    #[arg(long, env = "GAUNTLET_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Folder with course.toml and the week modules [default: ./curriculum]
    #[arg(long, env = "GAUNTLET_CURRICULUM", global = true, value_name = "DIR")]
    pub curriculum: Option<PathBuf>,
    /// Folder with one sub-folder per lab [default: ./labs]
    #[arg(long, env = "GAUNTLET_LABS", global = true, value_name = "DIR")]
    pub labs: Option<PathBuf>,
    /// Folder for the SQLite database, the secret key and work files [default: ./data]
    #[arg(long, env = "GAUNTLET_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Grading workers in this process (`serve` and `worker`); 0 leaves grading to `gauntlet worker` [default: 2]
    #[arg(long, env = "GAUNTLET_WORKERS", global = true, value_name = "N")]
    pub workers: Option<usize>,
    /// Largest upload accepted, in MB [default: 25]
    #[arg(long, env = "GAUNTLET_MAX_UPLOAD_MB", global = true, value_name = "MB")]
    pub max_upload_mb: Option<u64>,
    /// How long a worker's claim on a run lasts without a heartbeat, in seconds [default: 30]
    #[arg(long, env = "GAUNTLET_LEASE_SECS", global = true, value_name = "SECS")]
    pub lease_secs: Option<u64>,
    /// Runs one learner may have queued or being graded at once; more submissions are refused [default: 3]
    #[arg(long, env = "GAUNTLET_MAX_LIVE_RUNS", global = true, value_name = "N")]
    pub max_live_runs: Option<u32>,
    /// Archives kept per learner and lab (the newest); older runs keep their results [default: 5]
    #[arg(long, env = "GAUNTLET_KEEP_ARCHIVES", global = true, value_name = "N")]
    pub keep_archives: Option<u32>,
    /// On shutdown, how long runs in progress may finish before they go back to the queue, in seconds [default: 10]
    #[arg(
        long,
        env = "GAUNTLET_SHUTDOWN_GRACE_SECS",
        global = true,
        value_name = "SECS"
    )]
    pub shutdown_grace_secs: Option<u64>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "GAUNTLET_LOG_FORMAT", global = true)]
    pub log_format: Option<String>,
    /// Base images a learner's build may use, comma-separated patterns (`debian:*,gauntlet-base/*`)
    /// [default: any image that is not local-only]
    #[arg(
        long,
        env = "GAUNTLET_BUILD_BASE_IMAGES",
        global = true,
        value_delimiter = ',',
        value_name = "PATTERNS"
    )]
    pub build_base_images: Option<Vec<String>>,
    /// Largest build context (the project as sent to Docker, uncompressed), in MB [default: 50]
    #[arg(
        long,
        env = "GAUNTLET_BUILD_CONTEXT_MB",
        global = true,
        value_name = "MB"
    )]
    pub build_context_mb: Option<u64>,
    /// cgroup v1 root under which builds get a pids-limited cgroup parent, or `off`
    /// [default: /sys/fs/cgroup when it has a pids hierarchy and Docker is local]
    #[arg(
        long,
        env = "GAUNTLET_BUILD_CGROUP",
        global = true,
        value_name = "DIR|off"
    )]
    pub build_cgroup: Option<String>,
    /// Who keeps learners' services off the grading host: `iptables` (Gauntlet installs the rule; needs root
    /// and a local engine) or `external` (the operator did, see docs/operations.md) [default: iptables]
    #[arg(
        long,
        env = "GAUNTLET_SANDBOX_FIREWALL",
        global = true,
        value_name = "MODE"
    )]
    pub sandbox_firewall: Option<String>,
    /// Image of the Kafka-protocol broker that labs' `kafka` counterparts run; never pulled. An image whose name
    /// contains `tansu` runs as tansu, any other as Apache Kafka's image in KRaft mode
    /// [default: gauntlet-ci/tansu:0.6.0, built by scripts/ci-broker]
    #[arg(
        long,
        env = "GAUNTLET_KAFKA_IMAGE",
        global = true,
        value_name = "IMAGE"
    )]
    pub kafka_image: Option<String>,
    /// Build arguments of every lab's grader image (`labs/<id>/grader/`), comma-separated `NAME=value` pairs,
    /// e.g. `GO_IMAGE=gauntlet-ci/golang:bookworm` where the Dockerfile's default builder cannot be pulled
    /// [default: none]
    #[arg(
        long,
        env = "GAUNTLET_GRADER_BUILD_ARGS",
        global = true,
        value_delimiter = ',',
        value_name = "NAME=VALUE"
    )]
    pub grader_build_args: Option<Vec<String>>,
}

/// Settings only the server reads.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "GAUNTLET_BIND")]
    pub bind: Option<String>,
    /// Mark cookies Secure (set when Gauntlet is served over HTTPS, directly or behind a proxy)
    #[arg(long, env = "GAUNTLET_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
    /// Serve `/metrics` only on this address (e.g. one only the monitoring network reaches) [default: on the
    /// main address]
    #[arg(long, env = "GAUNTLET_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Require `Authorization: Bearer TOKEN` on `/metrics` [default: no token]
    #[arg(long, env = "GAUNTLET_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Proxies whose X-Forwarded-For is believed for the client's address (comma-separated addresses or
    /// networks, e.g. 10.0.0.0/8) [default: none]
    #[arg(long, env = "GAUNTLET_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
}

/// The optional file, with the same names as the environment variables without their prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    database_url: Option<String>,
    curriculum: Option<PathBuf>,
    labs: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    log_format: Option<String>,
    secure_cookies: Option<bool>,
    metrics_bind: Option<String>,
    metrics_token: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    workers: Option<usize>,
    max_upload_mb: Option<u64>,
    lease_secs: Option<u64>,
    max_live_runs: Option<u32>,
    keep_archives: Option<u32>,
    shutdown_grace_secs: Option<u64>,
    build_base_images: Option<Vec<String>>,
    build_context_mb: Option<u64>,
    build_cgroup: Option<String>,
    sandbox_firewall: Option<String>,
    kafka_image: Option<String>,
    grader_build_args: Option<Vec<String>>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A database URL; its `Debug` and `Display` hide any password so it can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<DatabaseUrl, ConfigError> {
        if s.starts_with("sqlite:")
            || s.starts_with("postgres://")
            || s.starts_with("postgresql://")
        {
            Ok(DatabaseUrl(s.to_string()))
        } else {
            Err(ConfigError::DatabaseUrl(redact(s)))
        }
    }

    /// A SQLite file under `dir`, created when missing.
    pub fn sqlite_in(dir: &Path) -> DatabaseUrl {
        DatabaseUrl(format!(
            "sqlite://{}?mode=rwc",
            dir.join("gauntlet.db").display()
        ))
    }

    pub fn backend(&self) -> Backend {
        if self.0.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// The URL with its password; only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn redact(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => s.to_string(),
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", redact(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// Settings every command shares.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub curriculum_dir: PathBuf,
    pub labs_dir: PathBuf,
    pub data_dir: PathBuf,
    pub log_format: LogFormat,
    pub grading: GradingSettings,
}

/// How submissions are taken and graded.
#[derive(Debug, Clone)]
pub struct GradingSettings {
    pub workers: usize,
    pub max_upload_bytes: u64,
    pub lease: std::time::Duration,
    /// The cap on a learner's live runs and how many archives are kept per learner and lab.
    pub quota: crate::domain::Quota,
    /// How long runs in progress may finish on shutdown before they are put back in the queue.
    pub shutdown_grace: std::time::Duration,
    /// What learners' builds may read (base images) and how large their context may be.
    pub build: crate::sandbox::BuildPolicy,
    /// How run networks are kept off the grading host.
    pub firewall: crate::sandbox::FirewallMode,
    /// The broker image labs' `kafka` counterparts run.
    pub kafka_image: String,
    /// Build arguments of labs' grader images.
    pub grader_build_args: std::collections::BTreeMap<String, String>,
}

impl GradingSettings {
    /// `sandbox` set up as these settings say: who keeps run networks off the host, what builds may read, and
    /// which broker image `kafka` counterparts run.
    pub fn configure(&self, sandbox: crate::sandbox::Sandbox) -> crate::sandbox::Sandbox {
        sandbox
            .with_firewall(self.firewall)
            .with_build_policy(self.build.clone())
            .with_kafka_image(&self.kafka_image)
            .with_grader_build_args(self.grader_build_args.clone())
    }
}

impl Default for GradingSettings {
    fn default() -> Self {
        GradingSettings {
            workers: 2,
            max_upload_bytes: 25 << 20,
            lease: std::time::Duration::from_secs(30),
            quota: crate::domain::Quota {
                max_live_runs: 3,
                keep_archives: 5,
            },
            shutdown_grace: std::time::Duration::from_secs(10),
            build: crate::sandbox::BuildPolicy::default(),
            firewall: crate::sandbox::FirewallMode::default(),
            kafka_image: crate::sandbox::DEFAULT_KAFKA_IMAGE.to_string(),
            grader_build_args: Default::default(),
        }
    }
}

/// Settings of `gauntlet serve`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub bind: SocketAddr,
    pub secure_cookies: bool,
    pub metrics: MetricsSettings,
    /// Proxies whose `X-Forwarded-For` names the client (for rate limits); none by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Who may read `/metrics`: by default anyone who reaches the server, which suits a server on a private network;
/// a separate bind keeps the figures off the public address, a token keeps them from anyone without it.
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// When set, `/metrics` is served on this address only (the main address answers 404 there).
    pub bind: Option<SocketAddr>,
    pub token: Option<BearerToken>,
}

/// A shared secret; its `Debug` hides it so settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// An empty token would let anyone in with `Bearer `: it is treated as no token.
    pub fn new(token: &str) -> Option<BearerToken> {
        let token = token.trim();
        (!token.is_empty()).then(|| BearerToken(token.to_string()))
    }

    /// Whether an `Authorization` header value carries this token (compared in constant time).
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
            return false;
        };
        bool::from(given.trim().as_bytes().ct_eq(self.0.as_bytes()))
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// Settles the shared settings and, for the server, its own.
pub fn resolve(
    args: &ConfigArgs,
    server: &ServerArgs,
) -> Result<(Settings, ServerSettings), ConfigError> {
    let file = read_file(args.config.as_deref())?;
    let data_dir = pick(args.data_dir.clone(), file.data_dir, || {
        PathBuf::from("data")
    });
    let database_url = match args.database_url.clone().or(file.database_url) {
        Some(s) => DatabaseUrl::parse(&s)?,
        None => DatabaseUrl::sqlite_in(&data_dir),
    };
    let log_format = match args
        .log_format
        .clone()
        .or(file.log_format)
        .as_deref()
        .unwrap_or("text")
    {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => return Err(ConfigError::LogFormat(other.to_string())),
    };
    let mut build = crate::sandbox::BuildPolicy::default().with_allowed_bases(
        &pick(
            args.build_base_images.clone(),
            file.build_base_images,
            Vec::new,
        )
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>(),
    )?;
    if let Some(mb) = args.build_context_mb.or(file.build_context_mb) {
        build.max_context_bytes = mb.saturating_mul(1 << 20);
    }
    match args.build_cgroup.clone().or(file.build_cgroup).as_deref() {
        Some("off") => build.pids_cgroup = None,
        Some(dir) => build.pids_cgroup = Some(PathBuf::from(dir)),
        None => {}
    }
    let settings = Settings {
        database_url,
        curriculum_dir: pick(args.curriculum.clone(), file.curriculum, || {
            PathBuf::from("curriculum")
        }),
        labs_dir: pick(args.labs.clone(), file.labs, || PathBuf::from("labs")),
        data_dir,
        log_format,
        grading: GradingSettings {
            workers: pick(args.workers, file.workers, || 2),
            max_upload_bytes: pick(args.max_upload_mb, file.max_upload_mb, || 25)
                .saturating_mul(1 << 20),
            lease: std::time::Duration::from_secs(
                pick(args.lease_secs, file.lease_secs, || 30).max(2),
            ),
            quota: crate::domain::Quota {
                // At least one, or nobody could submit at all.
                max_live_runs: i64::from(pick(args.max_live_runs, file.max_live_runs, || 3).max(1)),
                // At least one: the newest submission must stay gradable.
                keep_archives: i64::from(pick(args.keep_archives, file.keep_archives, || 5).max(1)),
            },
            shutdown_grace: std::time::Duration::from_secs(pick(
                args.shutdown_grace_secs,
                file.shutdown_grace_secs,
                || 10,
            )),
            build,
            firewall: match args.sandbox_firewall.clone().or(file.sandbox_firewall) {
                Some(mode) => mode.parse()?,
                None => crate::sandbox::FirewallMode::default(),
            },
            kafka_image: pick(args.kafka_image.clone(), file.kafka_image, || {
                crate::sandbox::DEFAULT_KAFKA_IMAGE.to_string()
            })
            .trim()
            .to_string(),
            grader_build_args: build_args(
                args.grader_build_args.clone().or(file.grader_build_args),
            )?,
        },
    };
    let bind_str = pick(server.bind.clone(), file.bind, || "127.0.0.1:8080".into());
    let bind = bind_str
        .parse()
        .map_err(|_| ConfigError::Bind { value: bind_str })?;
    let metrics_bind = match server.metrics_bind.clone().or(file.metrics_bind) {
        Some(value) => Some(value.parse().map_err(|_| ConfigError::Bind { value })?),
        None => None,
    };
    let trusted_proxies = server
        .trusted_proxies
        .clone()
        .or(file.trusted_proxies)
        .unwrap_or_default()
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| parse_proxy(p))
        .collect::<Result<Vec<_>, _>>()?;
    let server = ServerSettings {
        bind,
        trusted_proxies,
        secure_cookies: pick(server.secure_cookies, file.secure_cookies, || false),
        metrics: MetricsSettings {
            bind: metrics_bind,
            token: server
                .metrics_token
                .clone()
                .or(file.metrics_token)
                .as_deref()
                .and_then(BearerToken::new),
        },
    };
    Ok((settings, server))
}

/// A network (`10.0.0.0/8`) or a single address (`10.0.0.1`, taken as its own network).
fn parse_proxy(s: &str) -> Result<ipnet::IpNet, ConfigError> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| ConfigError::Proxy(s.to_string()))
}

/// `NAME=value` pairs (empty entries ignored) as a map of build arguments.
fn build_args(
    pairs: Option<Vec<String>>,
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let mut args = std::collections::BTreeMap::new();
    for pair in pairs.unwrap_or_default() {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        match pair.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                args.insert(name.trim().to_string(), value.trim().to_string());
            }
            _ => return Err(ConfigError::BuildArg(pair.to_string())),
        }
    }
    Ok(args)
}

fn pick<T>(flag_or_env: Option<T>, file: Option<T>, default: impl FnOnce() -> T) -> T {
    flag_or_env.or(file).unwrap_or_else(default)
}

fn read_file(explicit: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = PathBuf::from("gauntlet.toml");
            if !default.exists() {
                return Ok(FileConfig::default());
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path,
        message: e.message().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\nlabs = \"/srv/labs\"\ncurriculum = \"/srv/c\"\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(file),
            curriculum: Some(PathBuf::from("/flag/c")),
            ..Default::default()
        };
        let (s, srv) = resolve(&args, &ServerArgs::default()).unwrap();
        assert_eq!(s.curriculum_dir, PathBuf::from("/flag/c"));
        assert_eq!(s.labs_dir, PathBuf::from("/srv/labs"));
        assert_eq!(srv.bind.to_string(), "127.0.0.1:9000");
        assert_eq!(s.data_dir, PathBuf::from("data"));
        assert_eq!(s.database_url.backend(), Backend::Sqlite);
        assert!(srv.metrics.bind.is_none() && srv.metrics.token.is_none());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let server = ServerArgs {
            trusted_proxies: Some(vec!["10.0.0.0/8".into(), " 192.168.1.2".into()]),
            ..Default::default()
        };
        let (_, srv) = resolve(&ConfigArgs::default(), &server).unwrap();
        assert_eq!(srv.trusted_proxies.len(), 2);
        assert!(
            srv.trusted_proxies[1].contains(&"192.168.1.2".parse::<std::net::IpAddr>().unwrap())
        );
        let bad = ServerArgs {
            trusted_proxies: Some(vec!["proxy.local".into()]),
            ..Default::default()
        };
        assert!(resolve(&ConfigArgs::default(), &bad).is_err());
    }

    #[test]
    fn the_metrics_token_is_hidden_and_checked_exactly() {
        let token = BearerToken::new("s3cret").unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(token.admits(Some("Bearer s3cret")));
        assert!(!token.admits(Some("Bearer s3cre")));
        assert!(!token.admits(Some("s3cret")));
        assert!(!token.admits(None));
        assert!(BearerToken::new("  ").is_none());
    }

    #[test]
    fn unknown_keys_in_the_file_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(&file, "bnd = \"x\"\n").unwrap();
        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let err = resolve(&args, &ServerArgs::default()).unwrap_err();
        assert!(err.to_string().contains("bnd"), "{err}");
    }

    #[test]
    fn queue_settings_come_from_the_file_and_a_zero_cap_or_retention_is_raised_to_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "max_live_runs = 0\nkeep_archives = 0\nshutdown_grace_secs = 3\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let (s, _) = resolve(&args, &ServerArgs::default()).unwrap();
        assert_eq!(
            (s.grading.quota.max_live_runs, s.grading.quota.keep_archives),
            (1, 1)
        );
        assert_eq!(s.grading.shutdown_grace, std::time::Duration::from_secs(3));
        let (d, _) = resolve(&ConfigArgs::default(), &ServerArgs::default()).unwrap();
        assert_eq!(d.grading.quota, GradingSettings::default().quota);
    }

    #[test]
    fn base_image_patterns_come_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(
            &file,
            "build_base_images = [\"debian:*\", \"gauntlet-base/*\"]\nbuild_context_mb = 5\n",
        )
        .unwrap();
        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let (s, _) = resolve(&args, &ServerArgs::default()).unwrap();
        let expected = ["debian:*".to_string(), "gauntlet-base/*".to_string()];
        assert_eq!(s.grading.build.allowed_bases(), Some(&expected[..]));
        assert_eq!(s.grading.build.max_context_bytes, 5 << 20);
        let args = ConfigArgs {
            build_cgroup: Some("off".into()),
            ..Default::default()
        };
        let (s, _) = resolve(&args, &ServerArgs::default()).unwrap();
        assert_eq!(s.grading.build.pids_cgroup, None);
        let (s, _) = resolve(&ConfigArgs::default(), &ServerArgs::default()).unwrap();
        assert_eq!(s.grading.build.allowed_bases(), None);
        let args = ConfigArgs {
            build_base_images: Some(vec!["debian:[".into()]),
            ..Default::default()
        };
        let err = resolve(&args, &ServerArgs::default()).unwrap_err();
        assert!(err.to_string().contains("debian:["), "{err}");
    }

    #[test]
    fn the_kafka_image_comes_from_flags_or_the_file_and_defaults_to_tansu() {
        let (d, _) = resolve(&ConfigArgs::default(), &ServerArgs::default()).unwrap();
        assert_eq!(d.grading.kafka_image, "gauntlet-ci/tansu:0.6.0");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(&file, "kafka_image = \"apache/kafka:3.9.0\"\n").unwrap();
        let args = ConfigArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        let (s, _) = resolve(&args, &ServerArgs::default()).unwrap();
        assert_eq!(s.grading.kafka_image, "apache/kafka:3.9.0");
        let args = ConfigArgs {
            config: Some(file),
            kafka_image: Some("local/kafka:1".into()),
            ..Default::default()
        };
        let (s, _) = resolve(&args, &ServerArgs::default()).unwrap();
        assert_eq!(s.grading.kafka_image, "local/kafka:1");
        let sandbox = s.grading.configure(crate::sandbox::Sandbox::from_docker(
            bollard::Docker::connect_with_defaults().unwrap(),
        ));
        assert_eq!(sandbox.kafka_image(), "local/kafka:1");
    }

    #[test]
    fn grader_build_args_are_name_value_pairs_from_flags_or_the_file() {
        let (d, _) = resolve(&ConfigArgs::default(), &ServerArgs::default()).unwrap();
        assert!(d.grading.grader_build_args.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("g.toml");
        std::fs::write(&file, "grader_build_args = [\"GO_IMAGE=local/go:1\"]\n").unwrap();
        let args = ConfigArgs {
            config: Some(file),
            ..Default::default()
        };
        let (s, _) = resolve(&args, &ServerArgs::default()).unwrap();
        assert_eq!(
            s.grading
                .grader_build_args
                .get("GO_IMAGE")
                .map(String::as_str),
            Some("local/go:1")
        );
        let args = ConfigArgs {
            grader_build_args: Some(vec!["GO_IMAGE".into()]),
            ..Default::default()
        };
        assert!(matches!(
            resolve(&args, &ServerArgs::default()),
            Err(ConfigError::BuildArg(_))
        ));
    }

    #[test]
    fn database_url_hides_its_password() {
        let url = DatabaseUrl::parse("postgres://gauntlet:hunter2@db/gauntlet").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(!url.to_string().contains("hunter2"));
        assert_eq!(url.backend(), Backend::Postgres);
        assert!(DatabaseUrl::parse("mysql://x").is_err());
    }
}
