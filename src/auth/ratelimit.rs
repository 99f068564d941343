//! Limits on signing in and registering, kept so that they stop guessing without locking people out.
//!
//! - Wrong passwords are counted per (account, client address), with a delay that doubles after a few: someone
//!   guessing from one place slows down, while the account's owner signing in from elsewhere is not affected.
//!   A success clears that pair.
//! - Wrong passwords are also counted per address, across accounts (spraying one password over many accounts).
//!   Successes never count: a classroom behind one NAT signs in as often as it needs.
//! - Registration: wrong invite codes per address (guessing a code), and accounts created per address (a
//!   generous cap against mass sign-up).
//!
//! State is in memory: a restart forgets it, which is acceptable for slowing guessing down; several servers each
//! keep their own. The client address is the web layer's to establish (it knows which proxies to believe).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::clock::SharedClock;

/// How many events a sliding window allows.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max: usize,
    pub window_ms: i64,
}

/// A delay that grows with each failure: none for the first `free`, then `first_delay_ms`, doubling up to
/// `max_delay_ms`. Failures are forgotten after `forget_after_ms` without one.
#[derive(Debug, Clone, Copy)]
pub struct Progressive {
    pub free: u32,
    pub first_delay_ms: i64,
    pub max_delay_ms: i64,
    pub forget_after_ms: i64,
}

/// The limits applied to sign-ins and registrations.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    /// Wrong passwords for one account from one address.
    pub per_account_and_address: Progressive,
    /// Wrong passwords from one address, whatever the account.
    pub per_address_failures: Policy,
    /// Wrong invite codes from one address.
    pub per_address_invite_failures: Policy,
    /// Accounts created from one address.
    pub per_address_registrations: Policy,
}

const MINUTE: i64 = 60 * 1000;

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            per_account_and_address: Progressive {
                free: 5,
                first_delay_ms: 30 * 1000,
                max_delay_ms: 15 * MINUTE,
                forget_after_ms: 24 * 60 * MINUTE,
            },
            per_address_failures: Policy {
                max: 30,
                window_ms: 15 * MINUTE,
            },
            per_address_invite_failures: Policy {
                // A classroom on its first day mistypes codes; at ~59 bits a code is not guessed at this rate.
                max: 50,
                window_ms: 15 * MINUTE,
            },
            per_address_registrations: Policy {
                max: 100,
                window_ms: 60 * MINUTE,
            },
        }
    }
}

/// Whether an attempt may go ahead; when not, how long until it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after_secs: u64 },
}

/// Failures of one (account, address) pair.
#[derive(Debug, Clone, Copy)]
struct Streak {
    failures: u32,
    last_ms: i64,
}

type Windows = Mutex<HashMap<String, VecDeque<i64>>>;

/// Tracks sign-in and registration attempts.
pub struct LoginLimiter {
    policy: LoginPolicy,
    clock: SharedClock,
    pairs: Mutex<HashMap<(String, String), Streak>>,
    address_failures: Windows,
    invite_failures: Windows,
    registrations: Windows,
    /// Makes [`LoginLimiter::begin_sign_in`]'s check and reservation one step, so parallel attempts cannot
    /// all pass the check before any is counted.
    gate: Mutex<()>,
}

impl LoginLimiter {
    pub fn new(policy: LoginPolicy, clock: SharedClock) -> LoginLimiter {
        LoginLimiter {
            policy,
            clock,
            pairs: Mutex::new(HashMap::new()),
            address_failures: Mutex::new(HashMap::new()),
            invite_failures: Mutex::new(HashMap::new()),
            registrations: Mutex::new(HashMap::new()),
            gate: Mutex::new(()),
        }
    }

    /// Before checking a password: whether `address` may try `account` now, and if so the attempt is counted
    /// as a failure at once (a success gives it back, [`LoginLimiter::sign_in_succeeded`]). Counting only after
    /// the slow password check would let a burst of parallel guesses all pass the check first.
    pub fn begin_sign_in(&self, account: &str, address: &str) -> Decision {
        let _one_at_a_time = self.gate.lock();
        let decision = self.check_sign_in(account, address);
        if decision == Decision::Allowed {
            self.sign_in_failed(account, address);
        }
        decision
    }

    /// Before checking a password: whether `address` may try `account` now.
    pub fn check_sign_in(&self, account: &str, address: &str) -> Decision {
        let now = self.clock.now_ms();
        let pair = self.pair_wait(account, address, now);
        let spray = wait(
            &self.address_failures,
            address,
            self.policy.per_address_failures,
            now,
        );
        decision(pair.max(spray))
    }

    /// A wrong password (or an unknown account) from `address`.
    pub fn sign_in_failed(&self, account: &str, address: &str) {
        let now = self.clock.now_ms();
        let forget = self.policy.per_account_and_address.forget_after_ms;
        if let Ok(mut pairs) = self.pairs.lock() {
            if pairs.len() > 10_000 {
                pairs.retain(|_, s| now - s.last_ms < forget);
            }
            let streak = pairs
                .entry((account.to_string(), address.to_string()))
                .or_insert(Streak {
                    failures: 0,
                    last_ms: now,
                });
            if now - streak.last_ms >= forget {
                streak.failures = 0;
            }
            streak.failures = streak.failures.saturating_add(1);
            streak.last_ms = now;
        }
        record(
            &self.address_failures,
            address,
            self.policy.per_address_failures,
            now,
        );
    }

    /// A successful sign-in (begun with [`LoginLimiter::begin_sign_in`]) clears the pair's failures and gives
    /// back the failure its attempt was counted as; the address's earlier failures stay.
    pub fn sign_in_succeeded(&self, account: &str, address: &str) {
        if let Ok(mut pairs) = self.pairs.lock() {
            pairs.remove(&(account.to_string(), address.to_string()));
        }
        if let Ok(mut map) = self.address_failures.lock() {
            if let Some(events) = map.get_mut(address) {
                events.pop_back();
            }
        }
    }

    /// Before looking at a registration form: whether `address` may register now.
    pub fn check_registration(&self, address: &str) -> Decision {
        let now = self.clock.now_ms();
        let guessing = wait(
            &self.invite_failures,
            address,
            self.policy.per_address_invite_failures,
            now,
        );
        let created = wait(
            &self.registrations,
            address,
            self.policy.per_address_registrations,
            now,
        );
        decision(guessing.max(created))
    }

    /// A registration with an invite code that opens no cohort.
    pub fn invite_failed(&self, address: &str) {
        let now = self.clock.now_ms();
        record(
            &self.invite_failures,
            address,
            self.policy.per_address_invite_failures,
            now,
        );
    }

    /// An account created from `address`.
    pub fn registered(&self, address: &str) {
        let now = self.clock.now_ms();
        record(
            &self.registrations,
            address,
            self.policy.per_address_registrations,
            now,
        );
    }

    /// Milliseconds the pair must still wait under the progressive delay.
    fn pair_wait(&self, account: &str, address: &str, now: i64) -> i64 {
        let p = self.policy.per_account_and_address;
        let Ok(pairs) = self.pairs.lock() else {
            return 0;
        };
        let Some(streak) = pairs.get(&(account.to_string(), address.to_string())) else {
            return 0;
        };
        if now - streak.last_ms >= p.forget_after_ms || streak.failures < p.free {
            return 0;
        }
        let doublings = (streak.failures - p.free).min(32);
        let delay = p
            .first_delay_ms
            .saturating_mul(1_i64 << doublings)
            .min(p.max_delay_ms);
        (streak.last_ms + delay - now).max(0)
    }
}

fn decision(wait_ms: i64) -> Decision {
    match wait_ms {
        ms if ms <= 0 => Decision::Allowed,
        ms => Decision::Limited {
            retry_after_secs: (ms as u64).div_ceil(1000),
        },
    }
}

/// Milliseconds before `key` may act again under `policy` (0 = now), dropping events older than the window.
fn wait(map: &Windows, key: &str, policy: Policy, now: i64) -> i64 {
    let Ok(mut map) = map.lock() else {
        return 0;
    };
    let Some(events) = map.get_mut(key) else {
        return 0;
    };
    while events.front().is_some_and(|t| now - t >= policy.window_ms) {
        events.pop_front();
    }
    if events.len() >= policy.max {
        let oldest = events.front().copied().unwrap_or(now);
        return (oldest + policy.window_ms - now).max(1);
    }
    0
}

/// Counts one event for `key`.
fn record(map: &Windows, key: &str, policy: Policy, now: i64) {
    let Ok(mut map) = map.lock() else {
        return;
    };
    // Forget keys whose events have all expired, so the map does not grow without bound.
    if map.len() > 10_000 {
        map.retain(|_, q| q.back().is_some_and(|t| now - t < policy.window_ms));
    }
    let events = map.entry(key.to_string()).or_default();
    events.push_back(now);
    while events.len() > policy.max.saturating_add(1) {
        events.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter(clock: std::sync::Arc<ManualClock>) -> LoginLimiter {
        LoginLimiter::new(
            LoginPolicy {
                per_account_and_address: Progressive {
                    free: 3,
                    first_delay_ms: 10_000,
                    max_delay_ms: 40_000,
                    forget_after_ms: 3_600_000,
                },
                per_address_failures: Policy {
                    max: 5,
                    window_ms: 60_000,
                },
                per_address_invite_failures: Policy {
                    max: 2,
                    window_ms: 60_000,
                },
                per_address_registrations: Policy {
                    max: 3,
                    window_ms: 60_000,
                },
            },
            clock,
        )
    }

    fn limited(secs: u64) -> Decision {
        Decision::Limited {
            retry_after_secs: secs,
        }
    }

    #[test]
    fn failures_slow_down_their_own_address_only() {
        let clock = ManualClock::new(1_000_000);
        let l = limiter(clock.clone());
        for _ in 0..3 {
            assert_eq!(l.check_sign_in("ada", "10.0.0.1"), Decision::Allowed);
            l.sign_in_failed("ada", "10.0.0.1");
        }
        assert_eq!(l.check_sign_in("ada", "10.0.0.1"), limited(10));
        assert_eq!(l.check_sign_in("ada", "10.0.0.2"), Decision::Allowed);
    }

    #[test]
    fn the_delay_doubles_up_to_its_cap() {
        let clock = ManualClock::new(0);
        let l = limiter(clock.clone());
        for _ in 0..3 {
            l.sign_in_failed("ada", "a");
        }
        for want in [10, 20, 40, 40] {
            assert_eq!(l.check_sign_in("ada", "a"), limited(want));
            clock.advance_ms(want as i64 * 1000);
            assert_eq!(l.check_sign_in("ada", "a"), Decision::Allowed);
            l.sign_in_failed("ada", "a");
        }
    }

    #[test]
    fn success_clears_the_pair_and_is_not_counted() {
        let clock = ManualClock::new(0);
        let l = limiter(clock);
        for _ in 0..3 {
            l.sign_in_failed("ada", "a");
        }
        l.sign_in_succeeded("ada", "a");
        assert_eq!(l.check_sign_in("ada", "a"), Decision::Allowed);
        for i in 0..50 {
            let user = format!("user{i}");
            assert_eq!(l.begin_sign_in(&user, "a"), Decision::Allowed, "{user}");
            l.sign_in_succeeded(&user, "a");
        }
        assert_eq!(l.check_sign_in("bob", "a"), Decision::Allowed);
    }

    #[test]
    fn attempts_in_flight_count_before_their_password_is_checked() {
        let clock = ManualClock::new(0);
        let l = limiter(clock);
        // A burst of parallel guesses: none has finished its (slow) password check yet.
        let allowed = (0..10)
            .filter(|_| l.begin_sign_in("ada", "a") == Decision::Allowed)
            .count();
        assert_eq!(
            allowed, 3,
            "only the free attempts may be in flight at once"
        );
    }

    #[test]
    fn failures_across_accounts_limit_the_address() {
        let clock = ManualClock::new(0);
        let l = limiter(clock);
        for i in 0..5 {
            assert_eq!(l.check_sign_in(&format!("u{i}"), "x"), Decision::Allowed);
            l.sign_in_failed(&format!("u{i}"), "x");
        }
        assert_eq!(l.check_sign_in("u9", "x"), limited(60));
        assert_eq!(l.check_sign_in("u9", "y"), Decision::Allowed);
    }

    #[test]
    fn wrong_invite_codes_and_created_accounts_limit_registration() {
        let clock = ManualClock::new(0);
        let l = limiter(clock.clone());
        l.invite_failed("x");
        assert_eq!(l.check_registration("x"), Decision::Allowed);
        l.invite_failed("x");
        assert_eq!(l.check_registration("x"), limited(60));
        for _ in 0..3 {
            l.registered("y");
        }
        assert_eq!(l.check_registration("y"), limited(60));
        clock.advance_ms(60_000);
        assert_eq!(l.check_registration("x"), Decision::Allowed);
        assert_eq!(l.check_registration("y"), Decision::Allowed);
    }
}
