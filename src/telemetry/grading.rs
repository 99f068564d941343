//! The grading figures of [`GradingSnapshot`] as Prometheus metric families, encoded beside the registry's own on
//! `/metrics`. They are built per scrape from the database's counts (not kept in this process's registry), so any
//! server reports the whole installation's grading, whichever hosts' workers did it.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{Encoder, TextEncoder};

use crate::store::{GradingSnapshot, STAGE_BOUNDS_SECS};

/// The snapshot in the text exposition format.
pub fn render(snapshot: &GradingSnapshot) -> String {
    let mut out = Vec::new();
    // The encoder refuses a family without samples (no worker holds a run: no heartbeat series).
    let families: Vec<MetricFamily> = families(snapshot)
        .into_iter()
        .filter(|f| !f.get_metric().is_empty())
        .collect();
    match TextEncoder::new().encode(&families, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "could not encode the grading metrics");
            String::new()
        }
    }
}

/// Every grading metric family; each is present (at zero) before the first run, so dashboards and alerts see
/// a series rather than nothing.
pub fn families(s: &GradingSnapshot) -> Vec<MetricFamily> {
    let seconds = |ms: i64| ms as f64 / 1000.0;
    vec![
        family(
            "gauntlet_grading_queue_depth",
            "Runs waiting for a grading worker",
            MetricType::GAUGE,
            vec![gauge(vec![], s.queued as f64)],
        ),
        family(
            "gauntlet_grading_queue_oldest_age_seconds",
            "How long the oldest waiting run has waited (0 when none waits)",
            MetricType::GAUGE,
            vec![gauge(vec![], seconds(s.oldest_queued_ms))],
        ),
        family(
            "gauntlet_grading_runs_in_progress",
            "Runs being graded, by state",
            MetricType::GAUGE,
            s.in_progress
                .iter()
                .map(|(state, n)| gauge(vec![label("state", state)], *n as f64))
                .collect(),
        ),
        family(
            "gauntlet_grading_runs_finished_total",
            "Runs that ended, by outcome (error: a fault of the platform, not the learner's)",
            MetricType::COUNTER,
            s.finished
                .iter()
                .map(|(outcome, n)| counter(vec![label("outcome", outcome)], *n as f64))
                .collect(),
        ),
        family(
            "gauntlet_grading_worker_heartbeat_age_seconds",
            "Seconds since each worker holding a run last renewed its lease",
            MetricType::GAUGE,
            s.heartbeats
                .iter()
                .map(|(worker, ms)| gauge(vec![label("worker", worker)], seconds(*ms)))
                .collect(),
        ),
        family(
            "gauntlet_grading_stage_duration_seconds",
            "Time finished runs spent in each stage: wait (queued until first claimed), build, start (until healthy), checks, total (first claim to end)",
            MetricType::HISTOGRAM,
            s.stages
                .iter()
                .map(|h| {
                    let mut cumulative = 0u64;
                    let buckets = STAGE_BOUNDS_SECS
                        .iter()
                        .zip(&h.buckets)
                        .map(|(bound, n)| {
                            cumulative += n;
                            let mut b = Bucket::default();
                            b.set_upper_bound(*bound);
                            b.set_cumulative_count(cumulative);
                            b
                        })
                        .collect();
                    let mut histogram = Histogram::default();
                    histogram.set_bucket(buckets);
                    histogram.set_sample_count(h.runs);
                    histogram.set_sample_sum(seconds(h.total_ms));
                    let mut m = Metric::from_label(vec![label("stage", h.stage)]);
                    m.set_histogram(histogram);
                    m
                })
                .collect(),
        ),
    ]
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    f.set_help(help.to_string());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut l = LabelPair::default();
    l.set_name(name.to_string());
    l.set_value(value.to_string());
    l
}

fn gauge(labels: Vec<LabelPair>, value: f64) -> Metric {
    let mut g = Gauge::default();
    g.set_value(value);
    let mut m = Metric::from_label(labels);
    m.set_gauge(g);
    m
}

fn counter(labels: Vec<LabelPair>, value: f64) -> Metric {
    let mut c = Counter::default();
    c.set_value(value);
    let mut m = Metric::from_label(labels);
    m.set_counter(c);
    m
}
