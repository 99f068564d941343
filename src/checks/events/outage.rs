//! A broker a check paused is thawed again however the check ends: when a later step fails, the check errs, or
//! its deadline cancels it mid-outage. Otherwise the next check would meet a frozen broker (and the engine
//! refuses to pause a paused container, which would read as the grader's fault rather than the learner's).

use std::sync::Arc;

use crate::checks::ServiceControl;

/// Whether this check has the broker paused, and how to thaw it.
pub(super) struct Outage {
    control: Option<Arc<dyn ServiceControl>>,
    broker: String,
    paused: bool,
}

impl Outage {
    pub fn new(control: Option<Arc<dyn ServiceControl>>, broker: &str) -> Self {
        Outage {
            control,
            broker: broker.to_string(),
            paused: false,
        }
    }

    /// Records what a `pause` step did.
    pub fn set(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Unpauses the broker if this check left it paused; `Ok(false)` when there was nothing to do.
    pub async fn end(&mut self) -> Result<bool, String> {
        if !self.paused {
            return Ok(false);
        }
        self.paused = false;
        match &self.control {
            Some(c) => c
                .pause_counterpart(&self.broker, false)
                .await
                .map(|()| true),
            None => Err("no control of the run's counterparts".to_string()),
        }
    }
}

impl Drop for Outage {
    /// The check was cancelled (its deadline) while the broker was paused: thaw it on the runtime, since `drop`
    /// cannot wait.
    fn drop(&mut self) {
        if !self.paused {
            return;
        }
        let (Some(control), Ok(runtime)) =
            (self.control.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let broker = std::mem::take(&mut self.broker);
        runtime.spawn(async move {
            if let Err(e) = control.pause_counterpart(&broker, false).await {
                tracing::warn!(broker, error = %e, "unpausing a broker a cancelled check had paused failed");
            }
        });
    }
}
