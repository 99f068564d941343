//! Login rate limits, per account and per client address, over a sliding window.
//!
//! Failures are counted per account (guessing one person's password) and all attempts per address (spraying
//! many accounts from one place). A success clears the account's failures. State is in memory: a restart
//! forgets it, which is acceptable for slowing guessing down; several servers each keep their own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::clock::SharedClock;

/// How many events a window allows.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max: usize,
    pub window_ms: i64,
}

/// The limits applied to sign-ins.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    pub per_account_failures: Policy,
    pub per_address_attempts: Policy,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            per_account_failures: Policy {
                max: 5,
                window_ms: 15 * 60 * 1000,
            },
            per_address_attempts: Policy {
                max: 30,
                window_ms: 15 * 60 * 1000,
            },
        }
    }
}

/// Tracks sign-in attempts.
pub struct LoginLimiter {
    policy: LoginPolicy,
    clock: SharedClock,
    accounts: Mutex<HashMap<String, VecDeque<i64>>>,
    addresses: Mutex<HashMap<String, VecDeque<i64>>>,
}

/// Whether an attempt may go ahead; when not, how long until it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

impl LoginLimiter {
    pub fn new(policy: LoginPolicy, clock: SharedClock) -> LoginLimiter {
        LoginLimiter {
            policy,
            clock,
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Called before checking a password: counts the attempt against the address and says whether either the
    /// address or the account is over its limit.
    pub fn check(&self, account: &str, address: &str) -> Decision {
        let now = self.clock.now_ms();
        let account_wait = wait(
            &self.accounts,
            account,
            self.policy.per_account_failures,
            now,
            false,
        );
        let address_wait = wait(
            &self.addresses,
            address,
            self.policy.per_address_attempts,
            now,
            true,
        );
        match account_wait.max(address_wait) {
            0 => Decision::Allowed,
            ms => Decision::Limited {
                retry_after_secs: (ms as u64).div_ceil(1000),
            },
        }
    }

    /// Records a failed password for the account.
    pub fn failed(&self, account: &str) {
        let now = self.clock.now_ms();
        if let Ok(mut map) = self.accounts.lock() {
            map.entry(account.to_string()).or_default().push_back(now);
        }
    }

    /// Clears the account's failures after a successful sign-in.
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut map) = self.accounts.lock() {
            map.remove(account);
        }
    }
}

/// Milliseconds to wait before `key` may act again (0 = now), dropping events older than the window and, when
/// `record` is set and the event is allowed, recording it.
fn wait(
    map: &Mutex<HashMap<String, VecDeque<i64>>>,
    key: &str,
    policy: Policy,
    now: i64,
    record: bool,
) -> i64 {
    let Ok(mut map) = map.lock() else {
        return 0;
    };
    // Forget keys whose events have all expired, so the map does not grow without bound.
    if map.len() > 10_000 {
        map.retain(|_, q| q.back().is_some_and(|t| now - t < policy.window_ms));
    }
    let events = map.entry(key.to_string()).or_default();
    while events.front().is_some_and(|t| now - t >= policy.window_ms) {
        events.pop_front();
    }
    if events.len() >= policy.max {
        let oldest = events.front().copied().unwrap_or(now);
        return (oldest + policy.window_ms - now).max(1);
    }
    if record {
        events.push_back(now);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter(clock: std::sync::Arc<ManualClock>) -> LoginLimiter {
        LoginLimiter::new(
            LoginPolicy {
                per_account_failures: Policy {
                    max: 3,
                    window_ms: 60_000,
                },
                per_address_attempts: Policy {
                    max: 5,
                    window_ms: 60_000,
                },
            },
            clock,
        )
    }

    #[test]
    fn an_account_is_limited_after_its_failures_until_the_window_passes() {
        let clock = ManualClock::new(1_000_000);
        let l = limiter(clock.clone());
        for i in 0..3 {
            assert_eq!(l.check("ada", &format!("10.0.0.{i}")), Decision::Allowed);
            l.failed("ada");
        }
        assert!(matches!(
            l.check("ada", "10.0.0.9"),
            Decision::Limited { .. }
        ));
        assert_eq!(l.check("bob", "10.0.0.9"), Decision::Allowed);
        clock.advance_ms(60_000);
        assert_eq!(l.check("ada", "10.0.0.8"), Decision::Allowed);
    }

    #[test]
    fn an_address_is_limited_across_accounts() {
        let clock = ManualClock::new(0);
        let l = limiter(clock.clone());
        for i in 0..5 {
            assert_eq!(l.check(&format!("user{i}"), "1.2.3.4"), Decision::Allowed);
        }
        assert_eq!(
            l.check("user9", "1.2.3.4"),
            Decision::Limited {
                retry_after_secs: 60
            }
        );
    }

    #[test]
    fn success_clears_the_account() {
        let clock = ManualClock::new(0);
        let l = limiter(clock);
        l.failed("ada");
        l.failed("ada");
        l.succeeded("ada");
        l.failed("ada");
        assert_eq!(l.check("ada", "x"), Decision::Allowed);
    }
}
