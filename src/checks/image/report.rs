//! Findings and the two texts of an image check: the learner reads which rule failed and on which file or
//! field (it is their own image, so naming the file gives nothing away); the instructor reads every finding
//! with its layer and the history entry that made it.

use std::fmt::Write;

use super::{export::LayerScan, ImageCheck, ImageFacts, Judged, Rule};
use crate::checks::Verdict;

/// One thing an image rule refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    /// The file (`/app/.env`), configuration field (`Config.User`) or history entry it is about.
    pub subject: String,
    /// Learner-readable: what is wrong with it, never a secret's value.
    pub what: String,
    /// The layer (0 = the oldest) a file finding was read from.
    pub layer: Option<usize>,
}

impl Finding {
    pub(super) fn new(rule: Rule, subject: impl Into<String>, what: impl Into<String>) -> Finding {
        Finding {
            rule,
            subject: subject.into(),
            what: what.into(),
            layer: None,
        }
    }

    fn line(&self) -> String {
        match self.layer {
            Some(l) => format!("`{}` (layer {}): {}", self.subject, l + 1, self.what),
            None => format!("{}: {}", self.subject, self.what),
        }
    }
}

/// The outcome: failed when any finding is left.
pub(super) fn judged(
    check: &ImageCheck,
    facts: &ImageFacts,
    scan: Option<&LayerScan>,
    mut findings: Vec<Finding>,
) -> Judged {
    findings.sort_by(|a, b| (a.rule, &a.subject, &a.what).cmp(&(b.rule, &b.subject, &b.what)));
    // The same variable is seen in the configuration and in the history; said once.
    findings.dedup_by(|a, b| a.rule == b.rule && a.subject == b.subject && a.what == b.what);
    let detail = detail(check, facts, scan, &findings);
    let Some(first) = findings.first() else {
        return Judged {
            verdict: Verdict::Pass,
            message: "passed".into(),
            detail,
        };
    };
    let mut message = format!("failed: {}: {}", first.rule.name(), first.line());
    let more = findings.len() - 1;
    if more > 0 {
        let _ = write!(message, " (and {more} more)");
    }
    Judged {
        verdict: Verdict::Fail,
        message,
        detail,
    }
}

fn detail(
    check: &ImageCheck,
    facts: &ImageFacts,
    scan: Option<&LayerScan>,
    findings: &[Finding],
) -> String {
    let mut out = String::new();
    let rules: Vec<&str> = check.rules.iter().map(|r| r.name()).collect();
    let _ = writeln!(out, "image {} — rules: {}", facts.id, rules.join(", "));
    let _ = writeln!(
        out,
        "user {:?}, entrypoint {:?}, cmd {:?}",
        facts.user, facts.entrypoint, facts.cmd
    );
    match &facts.base {
        Some(b) => {
            let _ = writeln!(
                out,
                "base {} ({} layers, {} bytes); image {} bytes",
                b.name, b.layers, b.size, facts.size
            );
        }
        None => {
            let _ = writeln!(
                out,
                "no base image (FROM scratch); image {} bytes",
                facts.size
            );
        }
    }
    if let Some(s) = scan {
        let _ = writeln!(
            out,
            "export: {} layers, {} entries, {} bytes of text scanned (at most {} per file)",
            s.layers,
            s.entries,
            s.text_bytes,
            super::SCAN_CAP
        );
    }
    if findings.is_empty() {
        out.push_str("no findings\n");
    }
    for f in findings {
        let _ = writeln!(out, "- [{}] {}", f.rule.name(), f.line());
        if let Some(origin) = f.layer.and_then(|l| facts.layer_origin(l)) {
            let _ = writeln!(out, "    made by: {}", origin.created_by);
        }
    }
    out
}
