//! How a kind that runs its own steps ended (`metrics`, `graphql`): its result and its transcript. One type, so
//! the runner turns it into an outcome in one place.

/// A kind's end: `Err` carries the learner-safe reason.
pub(super) struct Done {
    pub result: Result<(), Outcome>,
    pub transcript: String,
}

pub(super) enum Outcome {
    /// The service misbehaved; the reason is safe to show the learner.
    Failed(String),
    /// Gauntlet could not judge (the transcript says why).
    Broken,
}
