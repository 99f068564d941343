//! What a kind that judges itself concluded (load, lifecycle, swap, image, events, tracing): these kinds talk to
//! the service, its instances, its image or its counterparts their own way, so they return their verdict and both
//! texts, and the runner only adds the check's title, its timing and the platform-fault wording.

use super::Verdict;

/// A verdict with its learner message (the runner puts the check's title before it) and hidden detail.
pub(super) struct Judged {
    pub verdict: Verdict,
    /// Learner-safe: what failed, with measured figures; never a hidden payload.
    pub message: String,
    /// Hidden, for instructors: settings, transcript, timeline.
    pub detail: String,
}

impl Judged {
    /// A platform fault: the check could not be carried out; `detail` says why, for instructors.
    pub(super) fn broken(detail: String) -> Judged {
        Judged {
            verdict: Verdict::Error,
            message: String::new(),
            detail,
        }
    }
}
