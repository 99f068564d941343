//! `scripts/bench-gradebook`'s measuring half: the cohort gradebook's server time on a seeded cohort of 30
//! learners × 12 labs with runs in every state (passed, failed, failed three times on the same check, platform
//! error, queued, being built, never attempted), beside baselines from the same run and the same server: a static
//! file (`/static/app.css`) and the cohort page. The real server runs in this process (as the tests run it) on the
//! bundled course; requests go over HTTP on 127.0.0.1 with a signed-in instructor's cookie, one at a time, so
//! each time is the server's time plus a loopback round trip.
//!
//! Usage: `bench_gradebook [REQUESTS] [DATABASE_URL]` (default 200 requests per path; a fresh SQLite file, or an
//! empty PostgreSQL database). Prints the seed's size and, per path, the median, p95 and max in milliseconds.

use std::time::{Duration, Instant};

use anyhow::Context;
use gauntlet::auth::ratelimit::LoginPolicy;
use gauntlet::clock::{ManualClock, SharedClock};
use gauntlet::config::{
    DatabaseUrl, GradingSettings, LogFormat, MetricsSettings, ServerSettings, Settings,
};
use gauntlet::domain::{DisplayName, Email, NewPassword, Role, RunState};
use gauntlet::startup::{Application, Options};
use gauntlet::store::{CheckResultRow, FinalResult, Lease, Store};

const LEARNERS: usize = 30;
const PASSWORD: &str = "a long enough password";
const HOUR: i64 = 3_600_000;
/// Leases that never expire while the benchmark runs, so a run "being built" stays so.
const LEASE: i64 = 10 * 365 * 24 * HOUR;

fn checks(lab: usize, fail: bool, variant: usize) -> Vec<CheckResultRow> {
    (0..8)
        .map(|k| {
            let failed = fail && (k == lab % 8 || k == (lab + 1) % 8);
            CheckResultRow {
                position: k as i64,
                check_id: format!("check-{k}"),
                title: format!("Check {k}"),
                hint: String::new(),
                pillar: "api".into(),
                weight: 1.0,
                required: 1,
                verdict: if failed { "fail" } else { "pass" }.into(),
                message: if failed {
                    format!("expected 201, got {}", 200 + variant % 3)
                } else {
                    String::new()
                },
                detail: String::new(),
                duration_ms: 3,
            }
        })
        .collect()
}

async fn graded(
    store: &Store,
    clock: &ManualClock,
    user: i64,
    lab: &str,
    state: RunState,
    checks: Vec<CheckResultRow>,
) -> anyhow::Result<()> {
    let id = store.submit(user, lab, b"seeded", 1).await?;
    let claimed = store
        .claim_run("bench", LEASE)
        .await?
        .context("a queued run")?;
    anyhow::ensure!(
        claimed.id == id,
        "claimed another run than the one just queued"
    );
    let passed = checks.iter().filter(|c| c.verdict == "pass").count();
    let result = FinalResult {
        state,
        stage: "checks".into(),
        reason: String::new(),
        detail: String::new(),
        score: Some(passed as f64 / checks.len().max(1) as f64),
        build_log: String::new(),
        container_log: String::new(),
        checks: if state == RunState::Error {
            Vec::new()
        } else {
            checks
        },
        counts: state != RunState::Error,
    };
    store
        .finish_run(&Lease::of(&claimed, "bench"), &result)
        .await?;
    clock.advance_ms(3 * HOUR);
    Ok(())
}

/// Seeds the cohort; returns its id, a learner's id and the number of runs.
async fn seed(
    store: &Store,
    clock: &ManualClock,
    labs: &[String],
) -> anyhow::Result<(i64, i64, usize)> {
    let cohort = store
        .create_cohort("Benchmark cohort", "BENCH-CODE")
        .await?;
    let hash = gauntlet::auth::password::hash(&NewPassword::parse(PASSWORD)?).await?;
    let mut learners = Vec::new();
    for i in 0..LEARNERS {
        let email = Email::parse(&format!("learner{i:02}@example.org"))?;
        let name = DisplayName::parse(&format!("Learner {i:02}"))?;
        learners.push(
            store
                .create_user(&email, &name, &hash, Role::Learner, Some(cohort))
                .await?,
        );
    }
    store
        .create_user(
            &Email::parse("teacher@example.org")?,
            &DisplayName::parse("Teacher")?,
            &hash,
            Role::Instructor,
            None,
        )
        .await?;
    store
        .add_cohort_instructor("Benchmark cohort", "teacher@example.org")
        .await?;
    let mut runs = 0;
    for (j, lab) in labs.iter().enumerate() {
        for (i, user) in learners.iter().enumerate() {
            let fails = |n: usize| (0..n).map(|v| (RunState::Failed, checks(j, true, v)));
            let plan: Vec<(RunState, Vec<CheckResultRow>)> = match (i * 7 + j * 3) % 10 {
                0 => Vec::new(),
                1 => vec![(RunState::Error, Vec::new())],
                k @ 2..=4 => fails(k - 1).collect(),
                k @ 5..=8 => fails(k - 4)
                    .chain([(RunState::Passed, checks(j, false, 0))])
                    .collect(),
                _ => vec![(RunState::Passed, checks(j, false, 0))],
            };
            for (state, c) in plan {
                graded(store, clock, *user, lab, state, c).await?;
                runs += 1;
            }
        }
    }
    // Runs still in flight: some being built (claimed, leased), then some waiting in the queue.
    for user in learners.iter().step_by(7) {
        store.submit(*user, &labs[10], b"building", 1).await?;
        let claimed = store
            .claim_run("bench", LEASE)
            .await?
            .context("a queued run")?;
        let lease = Lease::of(&claimed, "bench");
        store.advance(&lease, RunState::Building).await?;
        runs += 1;
    }
    for user in learners.iter().step_by(5) {
        store.submit(*user, &labs[11], b"queued", 1).await?;
        runs += 1;
    }
    Ok((cohort, learners[3], runs))
}

fn csrf_in(page: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).context("a CSRF field")? + marker.len();
    let end = page[start..].find('"').context("its end")? + start;
    Ok(page[start..end].to_string())
}

async fn time(client: &reqwest::Client, url: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let res = client.get(url).send().await?;
    anyhow::ensure!(res.status().is_success(), "{url}: {}", res.status());
    res.bytes().await?;
    Ok(t.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let data = tempfile::tempdir()?;
    let database_url = match std::env::args().nth(2) {
        Some(url) => DatabaseUrl::parse(&url)?,
        None => DatabaseUrl::sqlite_in(data.path()),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = Settings {
        database_url,
        curriculum_dir: root.join("curriculum"),
        labs_dir: root.join("labs"),
        data_dir: data.path().to_path_buf(),
        log_format: LogFormat::Text,
        grading: GradingSettings {
            workers: 0,
            ..GradingSettings::default()
        },
    };
    let server = ServerSettings {
        bind: "127.0.0.1:0".parse()?,
        secure_cookies: false,
        metrics: MetricsSettings::default(),
        trusted_proxies: Vec::new(),
    };
    let clock = ManualClock::new(1_800_000_000_000);
    let shared: SharedClock = clock.clone();
    let app = Application::build_with(
        settings,
        server,
        Options {
            clock: shared,
            login_policy: LoginPolicy::default(),
        },
    )
    .await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let mut labs: Vec<(u8, String)> = state
        .curriculum()
        .labs
        .values()
        .map(|l| (l.week.number(), l.id.as_str().to_string()))
        .collect();
    labs.sort();
    let labs: Vec<String> = labs.into_iter().map(|(_, id)| id).collect();
    anyhow::ensure!(labs.len() == 12, "the bundled course has 12 labs");
    let seeded = Instant::now();
    let (cohort, learner, runs) = seed(&state.store, &clock, &labs).await?;
    println!(
        "seeded {LEARNERS} learners x {} labs, {runs} runs, in {:.1} s ({:?})",
        labs.len(),
        seeded.elapsed().as_secs_f64(),
        state.store.backend()
    );
    tokio::spawn(app.run_until_stopped());

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = csrf_in(&login)?;
    let res = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "teacher@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await?;
    anyhow::ensure!(res.status().as_u16() == 303, "sign-in: {}", res.status());

    let paths = [
        "/static/app.css".to_string(),
        format!("/cohorts/{cohort}"),
        format!("/cohorts/{cohort}/gradebook"),
        format!("/cohorts/{cohort}/gradebook?sort=pillar:language&dir=desc&state=at-risk"),
        format!("/cohorts/{cohort}/gradebook.csv"),
        format!("/cohorts/{cohort}/checks.csv"),
        format!("/cohorts/{cohort}/learners/{learner}"),
        format!("/cohorts/{cohort}/labs/{}/analytics", labs[1]),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    for round in 0..requests + 10 {
        // Interleaved, so every path sees the same machine; the first ten rounds warm up.
        for (i, p) in paths.iter().enumerate() {
            let d = time(&client, &format!("{base}{p}")).await?;
            if round >= 10 {
                samples[i].push(d.as_secs_f64() * 1000.0);
            }
        }
    }
    println!(
        "{:<72} {:>9} {:>9} {:>9}",
        "path", "p50 ms", "p95 ms", "max ms"
    );
    for (p, s) in paths.iter().zip(&mut samples) {
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        println!(
            "{p:<72} {:>9.2} {:>9.2} {:>9.2}",
            at(0.5),
            at(0.95),
            at(1.0)
        );
    }
    Ok(())
}
