//! The `gauntlet` binary as a separate process, for tests that kill it or change its environment.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `gauntlet serve` process; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    /// Starts `gauntlet serve` on a free port with its data in `data` and waits until it answers.
    pub async fn start(
        data: &Path,
        curriculum: &Path,
        labs: &Path,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let port = super::ports::free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
        cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("GAUNTLET_DATA_DIR", data)
            .env("GAUNTLET_CURRICULUM", curriculum)
            .env("GAUNTLET_LABS", labs)
            .env("GAUNTLET_WORKERS", "1")
            .env("GAUNTLET_LEASE_SECS", "3")
            .env_remove("GAUNTLET_DATABASE_URL")
            .env_remove("GAUNTLET_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let base = format!("http://127.0.0.1:{port}");
        // Wrapped at once, so that a failure below still kills and reaps the process.
        let server = ServerProcess {
            child: cmd.spawn().expect("start gauntlet serve"),
            base,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client
                .get(format!("{}/healthz", server.base))
                .send()
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gauntlet serve did not start");
    }

    /// Kills the process at once, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates a learner and an API token straight in the store of a data folder; returns the token.
pub async fn learner_token(store: &gauntlet::store::Store, email: &str) -> String {
    let email = gauntlet::domain::Email::parse(email).unwrap();
    let name = gauntlet::domain::DisplayName::parse("Ada").unwrap();
    let id = store
        .create_user(
            &email,
            &name,
            "not-a-hash",
            gauntlet::domain::Role::Learner,
            None,
        )
        .await
        .unwrap();
    let token = gauntlet::auth::tokens::new_api_token();
    store
        .create_api_token(id, "test", &gauntlet::auth::session::hash_token(&token))
        .await
        .unwrap();
    token
}

/// Submits an archive through the API; returns the run id.
pub async fn api_submit(base: &str, token: &str, lab: &str, archive: Vec<u8>) -> i64 {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/labs/{lab}/submissions"))
        .bearer_auth(token)
        .body(archive)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status().as_u16(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let body: serde_json::Value = res.json().await.unwrap();
    body["run_id"].as_i64().unwrap()
}
