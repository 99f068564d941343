//! Judging the answers to generated requests by what each case wants, keeping every failure.

use super::cases::{Case, Want};
use super::failures::CaseFailure;
use super::methods;
use super::mutate::Invalid;
use super::responses::Responses;
use crate::checks::http::{Answer, Failure, Observer};

/// Judges the answer to each generated request by what its case wants, keeping every failure so that the
/// run goes on to the last case.
pub struct CaseObserver<'c, 'd> {
    pub cases: &'c [Case],
    pub responses: Responses<'d>,
    pub failures: Vec<CaseFailure>,
    /// The status each case got so far, by index, for cases judged against an earlier one.
    pub statuses: Vec<Option<u16>>,
}

impl<'c, 'd> CaseObserver<'c, 'd> {
    pub fn new(cases: &'c [Case], responses: Responses<'d>) -> Self {
        CaseObserver {
            cases,
            responses,
            failures: Vec::new(),
            statuses: vec![None; cases.len()],
        }
    }
}

impl CaseObserver<'_, '_> {
    /// `Ok` with the transcript line, or the failure (learner sentence, detail) of case `n`.
    fn judge(
        &mut self,
        n: usize,
        case: &Case,
        method: &str,
        url: &url::Url,
        answer: &Answer,
    ) -> Result<String, (String, String)> {
        let label = &case.label;
        let status = answer.status;
        let what = match case.want {
            Want::Valid => "valid request".to_string(),
            Want::Refused(kind) => kind.describe().to_string(),
            Want::Unsupported => {
                let allow = methods::allow(&answer.headers);
                return methods::judge(label, &case.documented, method, status, allow.as_deref())
                    .map(|line| format!("case {n}: {line}"));
            }
        };
        let twin = case.twin.as_ref().and_then(|t| {
            let before = self.statuses.get(t.case).copied().flatten()?;
            ((200..300).contains(&before) && (400..500).contains(&status)).then_some((t, before))
        });
        if let Some((twin, before)) = twin {
            return Err((
                format!(
                    "{label} refused a valid request body whose `{}` is exactly its maxLength in characters \
                     beyond ASCII (status {status}), though it accepted the same length in ASCII letters: JSON \
                     Schema counts characters (code points), not bytes or UTF-16 units",
                    twin.property
                ),
                format!(
                    "valid request for {label}: `{}` at maxLength beyond ASCII got {status}, its ASCII twin \
                     (case {}) got {before}",
                    twin.property,
                    twin.case + 1
                ),
            ));
        }
        match case.want {
            Want::Refused(kind) if kind.credentials().is_some() && status != 401 => {
                let instead = if status >= 500 {
                    format!("got a server error ({status})")
                } else {
                    format!("got {status}")
                };
                Err((
                    format!("{} for {label} {instead} instead of 401", kind.request()),
                    format!("{what} for {label}: got {status}, want 401"),
                ))
            }
            Want::Valid if status >= 500 => Err((
                format!("a valid request for {label} got a server error ({status})"),
                format!(
                    "valid request for {label}: got {status}, want a documented non-5xx status"
                ),
            )),
            Want::Refused(kind) if status >= 500 => Err((
                format!(
                    "{} for {label} got a server error ({status}) instead of a 4xx",
                    kind.request()
                ),
                format!("{what} for {label}: got {status}, want a 4xx"),
            )),
            // An empty or over-long segment may even be served (a trailing slash ignored): only a crash fails.
            Want::Refused(Invalid::PathEmpty | Invalid::PathLong) => Ok(format!(
                "case {n}: {what} for {label} → {status} (no server error)"
            )),
            Want::Refused(kind) if !(400..500).contains(&status) => Err((
                format!(
                    "{label} accepted {} (status {status}) instead of refusing it with a 4xx",
                    kind.request()
                ),
                format!("{what} for {label}: got {status}, want a 4xx"),
            )),
            // A path that names nothing may get a 404 the document leaves out.
            Want::Refused(kind) if kind.in_path() && status == 404 => Ok(format!(
                "case {n}: {what} for {label} → 404 (the path names nothing)"
            )),
            _ => match self.responses.judge(method, url, answer) {
                Ok(line) => Ok(format!("case {n}: {what} for {label} → {status}; {line}")),
                Err(Failure::Contract { learner, detail }) => Err((learner, detail)),
                Err(other) => Err((other.to_string(), other.detail())),
            },
        }
    }
}

impl Observer for CaseObserver<'_, '_> {
    fn answered(
        &mut self,
        n: usize,
        method: &str,
        url: &url::Url,
        answer: &Answer,
    ) -> Result<Option<String>, Failure> {
        let Some(case) = self.cases.get(n.wrapping_sub(1)) else {
            return Ok(None);
        };
        if let Some(s) = self.statuses.get_mut(n - 1) {
            *s = Some(answer.status);
        }
        match self.judge(n, case, method, url, answer) {
            Ok(line) => Ok(Some(line)),
            Err((learner, detail)) => {
                let line = format!("case {n}: FAILED: {detail}");
                self.failures.push(CaseFailure {
                    n,
                    label: case.label.clone(),
                    learner,
                    detail,
                });
                Ok(Some(line))
            }
        }
    }
}
