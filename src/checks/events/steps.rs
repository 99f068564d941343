//! Running an events check: its steps in order against the service (HTTP) and the lab's broker (Kafka), the
//! first failing step ending it. A broker the grader cannot reach, a topic that is missing or a control the
//! grader lacks is a platform fault (`Broken`), never the learner's.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use serde_json::Value;
use tokio::time::Instant;

use super::expect::judge;
use super::generate;
use super::timeline::Timeline;
use super::{EventStep, EventsCheck, GroupLag, Produce, Read, RecordsExpect, Settle};
use crate::checks::http::{self, HttpScenario, StepError};
use crate::checks::judged::Judged;
use crate::checks::template::{TemplateError, Vars};
use crate::checks::{CheckContext, RestartMode, ServiceControl, Target, Verdict};
use crate::kafka::{self, KafkaError, KafkaTarget, ReadUntil};

/// Between two tries of a `settle`, `read` or `group_lag`: often enough to time a consumer, rarely enough to
/// leave it the machine.
const POLL: Duration = Duration::from_millis(200);

/// How a step ended badly.
pub(super) enum StepEnd {
    /// The learner's service misbehaved: the message for the learner.
    Failed(String),
    /// The check could not be carried out: why, for the instructor.
    Broken(String),
}

impl From<TemplateError> for StepEnd {
    fn from(e: TemplateError) -> Self {
        StepEnd::Broken(format!("a template could not be filled: {e}"))
    }
}

impl From<KafkaError> for StepEnd {
    fn from(e: KafkaError) -> Self {
        StepEnd::Broken(format!("the grader's Kafka client: {e}"))
    }
}

/// What the steps so far carry to the next ones.
pub(super) struct Runner<'a> {
    pub control: Option<&'a dyn ServiceControl>,
    pub client: reqwest::Client,
    pub target: Target,
    pub broker: KafkaTarget,
    pub vars: Vars,
    pub rng: StdRng,
    /// List variables collected by `writes` steps.
    pub lists: BTreeMap<String, Vec<Value>>,
    /// When the last produce step began and how many records it sent (for `min_rate`).
    pub last_produce: Option<(Instant, usize)>,
    pub deadline: Instant,
    pub t: Timeline,
    /// Measured figures for the learner's message (throughput, lag).
    pub figures: Vec<String>,
    /// Whether a `pause` step left the broker paused, thawed however the check ends.
    pub outage: super::outage::Outage,
}

/// Runs the check within `timeout`; `rand` is the check's `{{rand}}`, `rng` its seeded generator.
pub(in crate::checks) async fn run(
    check: &EventsCheck,
    ctx: &CheckContext,
    target: &Target,
    rand: String,
    rng: StdRng,
    timeout: Duration,
) -> Judged {
    let mut t = Timeline::new();
    let Some(info) = ctx
        .control
        .as_ref()
        .and_then(|c| c.counterpart(&check.broker))
    else {
        return Judged::broken(format!(
            "the lab runs no counterpart `{}` (or this grader starts none): the check has no broker",
            check.broker
        ));
    };
    // The broker advertises its fixed address on the run network, which the grader reaches directly
    // (sandbox/network.rs).
    t.event(&format!("broker `{}` at {}", info.name, info.addr));
    let client = match http::client() {
        Ok(c) => c,
        Err(e) => return Judged::broken(format!("HTTP client: {e}")),
    };
    let mut r = Runner {
        control: ctx.control.as_deref(),
        client,
        target: target.clone(),
        broker: KafkaTarget::new(info.addr),
        vars: Vars::new(ctx.seed, rand, &ctx.env),
        rng,
        lists: BTreeMap::new(),
        last_produce: None,
        deadline: Instant::now() + timeout,
        t,
        figures: Vec::new(),
        outage: super::outage::Outage::new(ctx.control.clone(), &check.broker),
    };
    let of = check.steps.len();
    for (i, step) in check.steps.iter().enumerate() {
        r.t.event(&format!("── step {} of {of}: {}", i + 1, name(step)));
        if let Err(end) = r.step(step, &check.broker).await {
            let (verdict, message) = match end {
                StepEnd::Failed(why) => {
                    r.t.event(&format!("FAILED at step {}: {why}", i + 1));
                    (
                        Verdict::Fail,
                        format!("failed at step {} of {of}: {why}", i + 1),
                    )
                }
                StepEnd::Broken(why) => {
                    r.t.event(&format!("ERROR at step {}: {why}", i + 1));
                    (Verdict::Error, String::new())
                }
            };
            r.thaw().await;
            return Judged {
                verdict,
                message,
                detail: r.t.into_string(),
            };
        }
    }
    r.thaw().await;
    r.t.event("passed");
    let message = if r.figures.is_empty() {
        "passed".to_string()
    } else {
        format!("passed ({})", r.figures.join("; "))
    };
    Judged {
        verdict: Verdict::Pass,
        message,
        detail: r.t.into_string(),
    }
}

fn name(step: &EventStep) -> &'static str {
    match step {
        EventStep::Produce(_) => "produce",
        EventStep::Request(_) => "request",
        EventStep::Settle(_) => "settle",
        EventStep::Restart(_) => "restart",
        EventStep::Pause(true) => "pause the broker",
        EventStep::Pause(false) => "unpause the broker",
        EventStep::Sleep(_) => "sleep",
        EventStep::Writes(_) => "writes",
        EventStep::Read(_) => "read",
        EventStep::GroupLag(_) => "group_lag",
    }
}

impl<'a> Runner<'a> {
    /// Unpauses the broker if a `pause` step left it paused (a step failed mid-outage, or the check ended
    /// without its `pause = false`), and says so in the timeline.
    async fn thaw(&mut self) {
        match self.outage.end().await {
            Ok(true) => self
                .t
                .event("broker unpaused (the check ended while it was paused)"),
            Ok(false) => {}
            Err(e) => self.t.event(&format!("unpausing the broker failed: {e}")),
        }
    }

    async fn step(&mut self, step: &EventStep, broker: &str) -> Result<(), StepEnd> {
        match step {
            EventStep::Produce(p) => self.produce(p).await,
            EventStep::Request(s) => self.request(s, self.deadline).await.map(|_| ()),
            EventStep::Settle(s) => self.settle(s).await,
            EventStep::Restart(mode) => self.restart(*mode).await,
            EventStep::Pause(paused) => {
                let control = self.control()?;
                control
                    .pause_counterpart(broker, *paused)
                    .await
                    .map_err(|e| StepEnd::Broken(format!("pausing `{broker}`: {e}")))?;
                self.outage.set(*paused);
                self.t.event(if *paused {
                    "broker paused"
                } else {
                    "broker unpaused"
                });
                Ok(())
            }
            EventStep::Sleep(d) => {
                tokio::time::sleep(*d).await;
                Ok(())
            }
            EventStep::Writes(w) => super::writes::run(w, self).await,
            EventStep::Read(r) => self.read(r).await,
            EventStep::GroupLag(g) => self.group_lag(g).await,
        }
    }

    pub(super) fn control(&self) -> Result<&'a dyn ServiceControl, StepEnd> {
        self.control
            .ok_or_else(|| StepEnd::Broken("this grader cannot control the service".into()))
    }

    async fn produce(&mut self, p: &Produce) -> Result<(), StepEnd> {
        let topic = self.vars.render(&p.topic)?;
        let records = generate::records(p, &mut self.vars, &mut self.rng)?;
        let plain: Vec<kafka::NewRecord> = records.iter().map(|g| g.record.clone()).collect();
        let began = Instant::now();
        let delivered = kafka::produce(&self.broker, &topic, &plain, p.pace).await?;
        self.t.event(&format!(
            "produced {} records to `{topic}` in {} ms",
            delivered.len(),
            began.elapsed().as_millis()
        ));
        self.t.records(records.iter().zip(&delivered).map(|(g, d)| {
            format!(
                "p{}@{} key={} id={}",
                d.partition,
                d.offset,
                g.key.as_deref().unwrap_or("-"),
                g.id.as_deref().unwrap_or("-")
            )
        }));
        self.last_produce = Some((began, delivered.len()));
        Ok(())
    }

    /// One request through the http kind; its transcript goes into the timeline.
    async fn request(&mut self, step: &http::Step, until: Instant) -> Result<(), StepEnd> {
        let scenario = HttpScenario {
            steps: vec![step.clone()],
        };
        let done = http::run_scenario(
            &scenario,
            &self.client,
            &self.target,
            self.control,
            &mut self.vars,
            until.min(self.deadline),
        )
        .await;
        self.t.event(&format!("{} {}", step.method, step.path));
        self.t.block(&done.transcript);
        match done.result {
            Ok(()) => Ok(()),
            Err((_, StepError::Failed(f))) => {
                let path = self
                    .vars
                    .render(&step.path)
                    .unwrap_or_else(|_| step.path.clone());
                Err(StepEnd::Failed(format!(
                    "{} {path}: {}",
                    step.method,
                    f.detail()
                )))
            }
            Err((_, StepError::Broken(why))) => Err(StepEnd::Broken(why)),
        }
    }

    async fn settle(&mut self, s: &Settle) -> Result<(), StepEnd> {
        let until = (Instant::now() + s.within).min(self.deadline);
        let mut tries = 0;
        loop {
            tries += 1;
            let mut probe = Timeline::new();
            std::mem::swap(&mut probe, &mut self.t);
            let result = self.request(&s.step, until).await;
            std::mem::swap(&mut probe, &mut self.t);
            match result {
                Ok(()) => {
                    self.t.event(&format!("settled after {tries} tries"));
                    self.t.block(&probe.into_string());
                    return self.rate(s);
                }
                Err(StepEnd::Broken(why)) => return Err(StepEnd::Broken(why)),
                Err(StepEnd::Failed(why)) if Instant::now() + POLL >= until => {
                    self.t
                        .event(&format!("not settled after {tries} tries; the last:"));
                    self.t.block(&probe.into_string());
                    return Err(StepEnd::Failed(format!(
                        "not as expected within {} s: {why}",
                        s.within.as_secs()
                    )));
                }
                Err(StepEnd::Failed(_)) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The throughput of the last produce step up to now, checked against `min_rate`.
    fn rate(&mut self, s: &Settle) -> Result<(), StepEnd> {
        let Some((began, n)) = self.last_produce else {
            return Ok(());
        };
        let secs = began.elapsed().as_secs_f64().max(0.001);
        let rate = n as f64 / secs;
        let line = format!("{n} records processed in {secs:.2} s: {rate:.0} records/s");
        self.t.event(&line);
        self.figures.push(format!("{rate:.0} records/s"));
        match s.min_rate {
            Some(floor) if rate < floor => Err(StepEnd::Failed(format!(
                "{line}, below the floor of {floor:.0} records/s"
            ))),
            _ => Ok(()),
        }
    }

    pub(super) async fn restart(&mut self, mode: RestartMode) -> Result<(), StepEnd> {
        let control = self.control()?;
        let how = match mode {
            RestartMode::Kill => "SIGKILL",
            RestartMode::Graceful => "SIGTERM",
        };
        self.t
            .event(&format!("restart the service ({how}), keeping its data"));
        let left = self.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, control.restart(mode)).await {
            Ok(Ok(url)) => {
                self.t.event(&format!("healthy again at {url}"));
                self.target.base_url = url;
                Ok(())
            }
            Ok(Err(why)) => {
                self.t.event(&format!("did not come back: {why}"));
                Err(StepEnd::Failed(
                    "the service did not come back after a restart".into(),
                ))
            }
            Err(_) => Err(StepEnd::Failed(
                "the service did not come back after a restart within the time limit".into(),
            )),
        }
    }

    async fn read(&mut self, r: &Read) -> Result<(), StepEnd> {
        let topic = self.vars.render(&r.topic)?;
        let expect = self.render_expect(&r.expect)?;
        let until = r.within.map(|w| (Instant::now() + w).min(self.deadline));
        loop {
            let records = kafka::read_topic(&self.broker, &topic, ReadUntil::End).await?;
            let verdict = judge(&expect, &topic, &records, &self.lists);
            let again = until.is_some_and(|u| Instant::now() + POLL < u);
            match verdict {
                Ok(summary) => {
                    self.t.read(&topic, &records);
                    self.t.event(&summary);
                    return Ok(());
                }
                Err(_) if again => tokio::time::sleep(POLL).await,
                Err(why) => {
                    self.t.read(&topic, &records);
                    return Err(StepEnd::Failed(why));
                }
            }
        }
    }

    fn render_expect(&self, e: &RecordsExpect) -> Result<RecordsExpect, TemplateError> {
        Ok(RecordsExpect {
            filter: e
                .filter
                .as_ref()
                .map(|f| self.vars.render_json(f))
                .transpose()?,
            ids: e
                .ids
                .as_ref()
                .map(|ids| ids.iter().map(|i| self.vars.render(i)).collect())
                .transpose()?,
            ..e.clone()
        })
    }

    async fn group_lag(&mut self, g: &GroupLag) -> Result<(), StepEnd> {
        let group = self.vars.render(&g.group)?;
        let topic = self.vars.render(&g.topic)?;
        let until = (Instant::now() + g.within).min(self.deadline);
        let mut last = None;
        loop {
            let o = kafka::committed_offsets(&self.broker, &group, &topic).await?;
            if last.as_ref() != Some(&o) {
                self.t.offsets(&group, &topic, &o);
            }
            let caught_up = o
                .partitions
                .iter()
                .all(|p| p.end == 0 || p.committed.is_some_and(|c| c >= p.end));
            if caught_up {
                self.figures.push(format!("group `{group}` lag 0"));
                return Ok(());
            }
            if Instant::now() + POLL >= until {
                let secs = g.within.as_secs();
                if g.wait_only {
                    self.t.event(&format!(
                        "the consumer group `{group}` still lags {} records behind `{topic}` after {secs} s; going on (wait_only)",
                        o.total_lag()
                    ));
                    return Ok(());
                }
                return Err(StepEnd::Failed(if o.any_committed() {
                    let committed: i64 = o.partitions.iter().filter_map(|p| p.committed).sum();
                    let end: i64 = o.partitions.iter().map(|p| p.end).sum();
                    format!(
                        "the consumer group `{group}` still lags {} records behind `{topic}` after {secs} s \
                         (committed {committed} of {end})",
                        o.total_lag()
                    )
                } else {
                    format!("the consumer group `{group}` committed nothing on `{topic}` within {secs} s")
                }));
            }
            last = Some(o);
            tokio::time::sleep(POLL).await;
        }
    }
}
