//! `spawn_app`: the real server on a random port, against a fresh database (a SQLite file in a temporary folder,
//! or a fresh PostgreSQL database when one is asked for), with a cookie-keeping HTTP client.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gauntlet::auth::ratelimit::LoginPolicy;
use gauntlet::clock::{ManualClock, SharedClock};
use gauntlet::config::{
    DatabaseUrl, GradingSettings, LogFormat, MetricsSettings, ServerSettings, Settings,
};
use gauntlet::startup::{Application, Options};
use gauntlet::store::Store;

use super::postgres;

/// Which database a spawned app uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A running server and what a test needs to drive it.
pub struct TestApp {
    pub address: String,
    /// Where `/metrics` is served when it has an address of its own.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    /// Keeps the data folder (and the SQLite file) alive as long as the app.
    pub data_dir: Arc<tempfile::TempDir>,
    /// The fixture course the app serves, unless it serves the bundled one.
    pub course: Option<Arc<super::fixture::Course>>,
    /// Removes this app's Docker objects when the last handle goes, should a test end early.
    pub docker_guard: Arc<DockerGuard>,
}

/// Test hygiene: a test that panics mid-run would otherwise leave its run's container behind (the product's
/// own clean-up, the start-up reaper, never gets to run for a test server). Tests that grade assert the
/// product's clean-up explicitly before this runs.
pub struct DockerGuard {
    pub prefix: String,
}

impl Drop for DockerGuard {
    fn drop(&mut self) {
        for line in super::project::docker_objects(&self.prefix) {
            let mut parts = line.split_whitespace().skip(1);
            let (Some(kind), Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let args: &[&str] = match kind {
                "container" => &["rm", "-f"],
                "network" => &["network", "rm"],
                "volume" => &["volume", "rm", "-f"],
                _ => &["rmi", "-f"],
            };
            let _ = std::process::Command::new("docker")
                .args(args)
                .arg(id)
                .output();
        }
    }
}

/// The bundled curriculum and labs, as shipped.
pub fn bundled() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    (root.join("curriculum"), root.join("labs"))
}

/// Builder for a test server.
pub struct Spawn {
    db: Db,
    /// `None`: a fresh copy of the small fixture course.
    curriculum: Option<(PathBuf, PathBuf)>,
    policy: LoginPolicy,
    grading: GradingSettings,
    metrics: MetricsSettings,
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for Spawn {
    fn default() -> Self {
        Spawn {
            db: Db::Sqlite,
            curriculum: None,
            policy: LoginPolicy::default(),
            grading: GradingSettings {
                workers: 0,
                ..GradingSettings::default()
            },
            metrics: MetricsSettings::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Spawn {
    pub fn db(mut self, db: Db) -> Self {
        self.db = db;
        self
    }

    pub fn curriculum(mut self, curriculum: PathBuf, labs: PathBuf) -> Self {
        self.curriculum = Some((curriculum, labs));
        self
    }

    /// Serve the course bundled in `curriculum/` and `labs/`.
    pub fn bundled(self) -> Self {
        let (c, l) = bundled();
        self.curriculum(c, l)
    }

    /// Grading settings (the default test server runs no workers).
    pub fn grading(mut self, grading: GradingSettings) -> Self {
        self.grading = grading;
        self
    }

    /// Where `/metrics` is served and its token.
    pub fn metrics(mut self, metrics: MetricsSettings) -> Self {
        self.metrics = metrics;
        self
    }

    /// Proxies whose `X-Forwarded-For` the server believes (tests send from 127.0.0.1).
    pub fn trusted_proxies(mut self, proxies: &[&str]) -> Self {
        self.trusted_proxies = proxies
            .iter()
            .map(|p| p.parse().expect("a network"))
            .collect();
        self
    }

    pub fn login_policy(mut self, policy: LoginPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub async fn start(self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database_url = match self.db {
            Db::Sqlite => DatabaseUrl::sqlite_in(data_dir.path()),
            Db::Postgres => postgres::fresh_database().await,
        };
        let (course, (curriculum_dir, labs_dir)) = match self.curriculum {
            Some(dirs) => (None, dirs),
            None => {
                let course = super::fixture::Course::valid();
                let dirs = (course.curriculum(), course.labs());
                (Some(course), dirs)
            }
        };
        let settings = Settings {
            database_url,
            curriculum_dir,
            labs_dir,
            data_dir: data_dir.path().to_path_buf(),
            log_format: LogFormat::Text,
            grading: self.grading,
        };
        let server = ServerSettings {
            bind: "127.0.0.1:0".parse().expect("address"),
            secure_cookies: false,
            metrics: self.metrics,
            trusted_proxies: self.trusted_proxies,
        };
        let clock = ManualClock::new(1_800_000_000_000);
        let shared: SharedClock = clock.clone();
        let app = Application::build_with(
            settings,
            server,
            Options {
                clock: shared,
                login_policy: self.policy,
            },
        )
        .await
        .expect("the application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_address = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let store = app.state().store.clone();
        let prefix = format!("{}-", store.instance_id().await.expect("instance id"));
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            metrics_address,
            client: client(),
            store,
            clock,
            data_dir: Arc::new(data_dir),
            course: course.map(Arc::new),
            docker_guard: Arc::new(DockerGuard { prefix }),
        }
    }
}

/// A client that keeps cookies and does not follow redirects, so tests see each 303.
///
/// Idle connections are dropped after 2 s, before the server's 5 s keep-alive closes them: otherwise a request
/// sent on a connection the server is closing at that very moment fails with "incomplete message".
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn spawn_app() -> TestApp {
    Spawn::default().start().await
}

/// The value of the first `<input name="csrf_token" value="…">` in a page.
pub fn csrf_in(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("the page has a CSRF field") + marker.len();
    let end = page[start..].find('"').expect("closing quote") + start;
    page[start..end].to_string()
}

impl TestApp {
    /// The same server seen by another browser (its own cookies).
    pub fn clone_for_another_client(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            metrics_address: self.metrics_address.clone(),
            client: client(),
            store: self.store.clone(),
            clock: self.clock.clone(),
            data_dir: self.data_dir.clone(),
            course: self.course.clone(),
            docker_guard: self.docker_guard.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.text().await.expect("body"))
    }

    /// The CSRF token of this client, read from a page that has a form.
    pub async fn csrf(&self, page: &str) -> String {
        csrf_in(&self.get_text(page).await.1)
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// Creates a cohort straight in the store and returns its invite code.
    pub async fn invite(&self) -> String {
        let code = gauntlet::auth::invite::new_code();
        self.store
            .create_cohort(&format!("Cohort {code}"), &code)
            .await
            .expect("cohort");
        code
    }

    /// Registers through the form; returns the response (303 to `/` on success).
    pub async fn register(&self, code: &str, email: &str, password: &str) -> reqwest::Response {
        let token = self.csrf("/register").await;
        self.post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("invite_code", code),
                ("email", email),
                ("display_name", "Ada Learner"),
                ("password", password),
                ("password_again", password),
            ],
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        // `/register` always shows a form, signed in or not; the token is the same on every page.
        let token = self.csrf("/register").await;
        self.post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Registers a fresh learner with a fresh invite and leaves this client signed in.
    pub async fn signed_in_learner(&self, email: &str) {
        let code = self.invite().await;
        let res = self.register(&code, email, PASSWORD).await;
        assert_eq!(res.status().as_u16(), 303, "registration succeeds");
    }

    /// Creates an account with `role` straight in the store (the CLI's way) and leaves this client signed in as
    /// it; an instructor is made staff of the cohorts of the learners `teaches` names.
    #[allow(dead_code)]
    pub async fn signed_in_staff(
        &self,
        email: &str,
        role: gauntlet::domain::Role,
        teaches: &[&str],
    ) -> i64 {
        let hash = gauntlet::auth::password::hash(
            &gauntlet::domain::NewPassword::parse(PASSWORD).expect("password"),
        )
        .await
        .expect("hash");
        let id = self
            .store
            .create_user(
                &gauntlet::domain::Email::parse(email).expect("email"),
                &gauntlet::domain::DisplayName::parse("Staff").expect("name"),
                &hash,
                role,
                None,
            )
            .await
            .expect("account");
        let cohorts = self.store.list_cohorts().await.expect("cohorts");
        for learner in teaches {
            let row = self
                .store
                .user_by_email(&gauntlet::domain::Email::parse(learner).expect("email"))
                .await
                .expect("lookup")
                .expect("the learner exists");
            let cohort = cohorts
                .iter()
                .find(|c| Some(c.id) == row.cohort_id)
                .expect("the learner is in a cohort");
            self.store
                .add_cohort_instructor(&cohort.name, email)
                .await
                .expect("staff of the cohort");
        }
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status().as_u16(), 303, "staff sign in");
        id
    }

    /// Creates a personal API token through the profile page and returns it (it is shown once).
    pub async fn api_token(&self, name: &str) -> String {
        let csrf = self.csrf("/profile").await;
        let res = self
            .post_form("/profile/tokens", &[("csrf_token", &csrf), ("name", name)])
            .await;
        assert_eq!(res.status().as_u16(), 200);
        let page = res.text().await.expect("profile page");
        let marker = "<code id=\"new-token\">";
        let start = page.find(marker).expect("the token is shown") + marker.len();
        let end = page[start..].find('<').expect("end of the token") + start;
        page[start..end].to_string()
    }
}

pub const PASSWORD: &str = "correct horse battery staple";
