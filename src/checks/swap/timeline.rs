//! The instructor's view of a swap: the traffic in slices of 100 ms (requests that ended in the slice, errors
//! among them, and which version served them), with the swap's milestones written beside the slice they fell
//! in.

use std::fmt::Write;
use std::time::Duration;

use super::traffic::Sample;

/// The width of one row of the timeline.
pub const SLICE: Duration = Duration::from_millis(100);

/// What the swap did and when, from its start.
#[derive(Debug, Clone, Default)]
pub struct Milestones {
    pub blue_ready: Option<Duration>,
    pub green_started: Option<Duration>,
    /// Green answered its readiness path with 200, and new requests went to it from then on.
    pub switched: Option<Duration>,
    pub sigterm: Option<Duration>,
    /// Requests the router had in flight on blue when SIGTERM was sent.
    pub in_flight_at_sigterm: usize,
    pub blue_exit: Option<BlueExit>,
    pub traffic_stopped: Option<Duration>,
}

/// How blue ended after SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlueExit {
    /// It exited with this status, this long after SIGTERM.
    Exited { code: i64, after: Duration },
    /// It was still running when its grace period ended.
    StillRunning { grace: Duration },
}

/// One slice of the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slice {
    /// Requests that ended in the slice.
    pub requests: usize,
    /// Those that failed (an error status, or no whole answer).
    pub errors: usize,
    /// Requests served by the first and the second version.
    pub blue: usize,
    pub green: usize,
}

/// The slices from the start of the swap to the last request's end; a request counts in the slice it ended
/// in. `blue` and `green` are the backends' names.
pub fn slices(samples: &[Sample], blue: &str, green: &str) -> Vec<Slice> {
    let Some(last) = samples.iter().map(Sample::done).max() else {
        return Vec::new();
    };
    let count = index(last) + 1;
    let mut out = vec![Slice::default(); count];
    for s in samples {
        let slice = &mut out[index(s.done())];
        slice.requests += 1;
        if s.is_connection_error() || s.is_failed_answer() {
            slice.errors += 1;
        }
        match s.backend() {
            Some(b) if b == blue => slice.blue += 1,
            Some(b) if b == green => slice.green += 1,
            _ => {}
        }
    }
    out
}

fn index(at: Duration) -> usize {
    usize::try_from(at.as_millis() / SLICE.as_millis()).unwrap_or(usize::MAX)
}

/// The timeline as text, one row per slice, milestones beside their slice.
pub fn render(samples: &[Sample], m: &Milestones, blue: &str, green: &str) -> String {
    let slices = slices(samples, blue, green);
    let mut notes: Vec<(Duration, String)> = Vec::new();
    let mut note = |at: Option<Duration>, what: String| {
        if let Some(at) = at {
            notes.push((at, what));
        }
    };
    note(m.blue_ready, format!("{blue} ready; traffic starts"));
    note(m.green_started, format!("{green} started"));
    note(
        m.switched,
        format!("{green} ready: new requests go to {green}"),
    );
    note(
        m.sigterm,
        format!(
            "SIGTERM to {blue} ({} requests in flight on it)",
            m.in_flight_at_sigterm
        ),
    );
    if let (Some(sigterm), Some(BlueExit::Exited { code, after })) = (m.sigterm, m.blue_exit) {
        note(
            Some(sigterm + after),
            format!("{blue} exited with status {code}"),
        );
    }
    note(m.traffic_stopped, "traffic stops".to_string());
    let rows = slices.len().max(
        notes
            .iter()
            .map(|(at, _)| index(*at) + 1)
            .max()
            .unwrap_or(0),
    );
    let mut out = format!(
        "timeline (requests ended per {} ms):\n  time   reqs  errs  {blue:>6} {green:>6}\n",
        SLICE.as_millis()
    );
    for i in 0..rows {
        let s = slices.get(i).cloned().unwrap_or_default();
        let at = SLICE * u32::try_from(i).unwrap_or(u32::MAX);
        let _ = write!(
            out,
            "{:>5.1} s {:>5} {:>5}  {:>6} {:>6}",
            at.as_secs_f64(),
            s.requests,
            s.errors,
            s.blue,
            s.green
        );
        let here: Vec<&str> = notes
            .iter()
            .filter(|(t, _)| index(*t) == i)
            .map(|(_, w)| w.as_str())
            .collect();
        if !here.is_empty() {
            let _ = write!(out, "  ← {}", here.join("; "));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::checks::swap::traffic::{Kind, Outcome};

    fn answered(sent_ms: u64, took_ms: u64, status: u16, backend: &str) -> Sample {
        Sample {
            kind: Kind::Read,
            path: Arc::from("/healthz"),
            is_version: false,
            sent: Duration::from_millis(sent_ms),
            took: Duration::from_millis(took_ms),
            outcome: Outcome::Answered {
                status,
                backend: Some(backend.to_string()),
                version: None,
                excerpt: None,
            },
        }
    }

    #[test]
    fn requests_count_in_the_slice_they_ended_in_by_version_with_errors() {
        let cut = Sample {
            outcome: Outcome::Cut("reset".into()),
            ..answered(120, 150, 200, "blue")
        };
        let samples = vec![
            answered(0, 10, 200, "blue"),
            answered(50, 40, 200, "blue"),
            answered(90, 20, 503, "green"),
            cut,
            answered(260, 5, 200, "green"),
        ];
        let s = slices(&samples, "blue", "green");
        assert_eq!(s.len(), 3);
        assert_eq!(
            s[0],
            Slice {
                requests: 2,
                errors: 0,
                blue: 2,
                green: 0
            }
        );
        assert_eq!(
            s[1],
            Slice {
                requests: 1,
                errors: 1,
                blue: 0,
                green: 1
            }
        );
        // The cut answer ended at 270 ms, the green one at 265 ms; a cut request names no backend.
        assert_eq!(
            s[2],
            Slice {
                requests: 2,
                errors: 1,
                blue: 0,
                green: 1
            }
        );
    }

    #[test]
    fn milestones_are_written_beside_their_slice() {
        let samples = vec![
            answered(0, 10, 200, "blue"),
            answered(150, 10, 200, "green"),
        ];
        let m = Milestones {
            blue_ready: Some(Duration::ZERO),
            switched: Some(Duration::from_millis(140)),
            sigterm: Some(Duration::from_millis(145)),
            in_flight_at_sigterm: 2,
            blue_exit: Some(BlueExit::Exited {
                code: 0,
                after: Duration::from_millis(200),
            }),
            ..Milestones::default()
        };
        let text = render(&samples, &m, "blue", "green");
        let rows: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(rows.len(), 4, "{text}");
        assert!(rows[0].contains("blue ready"), "{text}");
        assert!(
            rows[1].contains("green ready") && rows[1].contains("SIGTERM to blue (2 requests"),
            "{text}"
        );
        assert!(rows[3].contains("blue exited with status 0"), "{text}");
        assert!(
            rows[2].ends_with('0'),
            "an empty slice is still a row: {text}"
        );
    }
}
