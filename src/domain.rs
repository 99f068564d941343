//! Values with rules, parsed once at the edge so the rest of the code can rely on them.
//!
//! Each type has one fallible constructor (`parse`); holding a value means it is valid. Their error is a plain
//! sentence fit to show the person who typed the value.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value was refused, worded for the person who entered it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(msg: impl Into<String>) -> Invalid {
    Invalid(msg.into())
}

/// A week of the course, 1 to 12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct Week(u8);

impl Week {
    pub const FIRST: u8 = 1;
    pub const LAST: u8 = 12;

    pub fn parse(n: i64) -> Result<Week, Invalid> {
        if (i64::from(Self::FIRST)..=i64::from(Self::LAST)).contains(&n) {
            Ok(Week(n as u8))
        } else {
            Err(invalid(format!(
                "week {n} is outside the course (weeks {} to {})",
                Self::FIRST,
                Self::LAST
            )))
        }
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// Every week of the course, in order.
    pub fn all() -> impl Iterator<Item = Week> {
        (Self::FIRST..=Self::LAST).map(Week)
    }
}

impl TryFrom<i64> for Week {
    type Error = Invalid;
    fn try_from(n: i64) -> Result<Self, Self::Error> {
        Week::parse(n)
    }
}

impl From<Week> for u8 {
    fn from(w: Week) -> u8 {
        w.0
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Checks the shape shared by lab and pillar ids: lower-case ASCII letters, digits and single hyphens.
///
/// The shape is what makes an id safe to put in a URL and to join to a directory: no dots, no slashes, so no
/// path can climb out of the labs folder.
fn slug(kind: &str, s: &str) -> Result<String, Invalid> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(s.to_string())
    } else {
        Err(invalid(format!(
            "`{s}` is not a valid {kind} id (use lower-case letters, digits and single hyphens, at most 64)"
        )))
    }
}

macro_rules! slug_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                slug($kind, s).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_type!(
    /// A lab's id: the name of its folder under `labs/`.
    LabId,
    "lab"
);
slug_type!(
    /// A skill pillar's id, as declared in `course.toml`.
    PillarId,
    "pillar"
);

/// An email address, trimmed and lower-cased so that one person has one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, Invalid> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !domain.contains('@')
            });
        if valid {
            Ok(Email(s))
        } else {
            Err(invalid("enter an email address like name@example.org"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name shown to other people: 1 to 80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<DisplayName, Invalid> {
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 || n > 80 || s.chars().any(char::is_control) {
            Err(invalid("enter a display name of 1 to 80 characters"))
        } else {
            Ok(DisplayName(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: long enough to resist guessing, short enough not to be a hashing denial of service.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN: usize = 10;
    pub const MAX: usize = 128;

    pub fn parse(s: &str) -> Result<NewPassword, Invalid> {
        let n = s.chars().count();
        if n < Self::MIN {
            Err(invalid(format!(
                "choose a password of at least {} characters",
                Self::MIN
            )))
        } else if n > Self::MAX {
            Err(invalid(format!(
                "choose a password of at most {} characters",
                Self::MAX
            )))
        } else {
            Ok(NewPassword(s.to_string()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Instructor,
    Learner,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, Invalid> {
        match s {
            "admin" => Ok(Role::Admin),
            "instructor" => Ok(Role::Instructor),
            "learner" => Ok(Role::Learner),
            other => Err(invalid(format!(
                "unknown role `{other}` (admin, instructor or learner)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Instructor => "instructor",
            Role::Learner => "learner",
        }
    }

    /// Instructors and admins see hidden detail, cohort views and every submission.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Instructor)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The seven pillars of the bundled course, which a lab graded or proved outside its course may count toward.
pub const STANDARD_PILLARS: [&str; 7] = [
    "language",
    "cloud-native",
    "events",
    "api",
    "security",
    "performance",
    "ai",
];

/// Where a grading run is. The first four are live (a worker holds a lease); the last three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Queued,
    Building,
    Starting,
    Checking,
    Passed,
    Failed,
    /// A fault of the platform, not of the learner's service: it never counts against them.
    Error,
}

impl RunState {
    pub const ALL: [RunState; 7] = [
        RunState::Queued,
        RunState::Building,
        RunState::Starting,
        RunState::Checking,
        RunState::Passed,
        RunState::Failed,
        RunState::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Building => "building",
            RunState::Starting => "starting",
            RunState::Checking => "checking",
            RunState::Passed => "passed",
            RunState::Failed => "failed",
            RunState::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Result<RunState, Invalid> {
        RunState::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| invalid(format!("unknown run state `{s}`")))
    }

    pub fn is_final(self) -> bool {
        matches!(self, RunState::Passed | RunState::Failed | RunState::Error)
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a learner may have in the queue, and how many archives are kept: settled by the configuration,
/// enforced by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Runs of one learner queued or being graded at once; a submission past it is refused.
    pub max_live_runs: i64,
    /// Archives kept per learner and lab (the newest); older submissions keep their results but lose their
    /// archive, so they cannot be graded again.
    pub keep_archives: i64,
}

impl Quota {
    /// No cap and every archive kept.
    pub const UNLIMITED: Quota = Quota {
        max_live_runs: i64::MAX,
        keep_archives: i64::MAX,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_accepts_one_to_twelve_only() {
        assert!(Week::parse(0).is_err());
        assert_eq!(Week::parse(1).map(Week::number), Ok(1));
        assert_eq!(Week::parse(12).map(Week::number), Ok(12));
        assert!(Week::parse(13).is_err());
        assert_eq!(Week::all().count(), 12);
    }

    #[test]
    fn lab_ids_cannot_name_paths() {
        for bad in [
            "", "..", "a/b", "A", "a.b", "-a", "a-", "a--b", "%2e%2e", "a b",
        ] {
            assert!(LabId::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(LabId::parse("w01-health").is_ok());
    }

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "@x.org",
            "ada@",
            "ada@.org",
            "a da@x.org",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn password_length_is_bounded() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("long enough pw").is_ok());
        assert!(NewPassword::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret secret").unwrap()),
            "NewPassword(..)"
        );
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Admin, Role::Instructor, Role::Learner] {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::Instructor.is_staff() && !Role::Learner.is_staff());
    }
}

/// Why a member of staff re-grades a run (a changed check, a suspected flake): required, so that the learner's
/// second verdict always comes with a reason another instructor can read. 3 to 300 characters on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegradeReason(String);

impl RegradeReason {
    pub fn parse(s: &str) -> Result<RegradeReason, Invalid> {
        let s = s.trim();
        let n = s.chars().count();
        if !(3..=300).contains(&n) || s.chars().any(char::is_control) {
            Err(invalid(
                "say why you re-grade this run, in 3 to 300 characters on one line",
            ))
        } else {
            Ok(RegradeReason(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
