//! The gradebook and the per-check results as CSV and JSON for the instructor's own tools. Every CSV field is
//! quoted, and a field a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) is prefixed with `'`, since learners choose their display names and checks echo their
//! services' answers.

use super::{Gradebook, LearnerRow};
use crate::store::LatestCheckRow;

/// One CSV field, neutralised and quoted.
pub fn field(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", neutral.replace('"', "\"\""))
}

fn line(fields: &[String]) -> String {
    let cells: Vec<String> = fields.iter().map(|f| field(f)).collect();
    format!("{}\r\n", cells.join(","))
}

fn time(ms: Option<i64>) -> String {
    ms.map(crate::web::runs::format_time).unwrap_or_default()
}

fn score(s: Option<f64>) -> String {
    s.map(|s| format!("{:.0}", s * 100.0)).unwrap_or_default()
}

/// The matrix: a learner per line; per lab its state, best score (0–100) and attempts; per pillar its average;
/// the last activity and the at-risk reasons.
pub fn matrix_csv(book: &Gradebook) -> String {
    let mut header = vec!["learner".to_string(), "email".to_string()];
    for lab in &book.labs {
        header.push(format!("{} state", lab.id));
        header.push(format!("{} best score", lab.id));
        header.push(format!("{} attempts", lab.id));
    }
    for (id, _) in &book.pillars {
        header.push(format!("pillar {id} %"));
    }
    header.push("last activity".into());
    header.push("at risk".into());
    let mut out = line(&header);
    for l in &book.learners {
        out.push_str(&line(&learner_fields(l)));
    }
    out
}

fn learner_fields(l: &LearnerRow) -> Vec<String> {
    let mut row = vec![l.name.clone(), l.email.clone()];
    for c in &l.cells {
        row.push(c.state.label().to_string());
        row.push(score(c.best_score));
        row.push(c.attempts.to_string());
    }
    for p in &l.pillars {
        row.push(p.percent.to_string());
    }
    row.push(time(l.last_activity));
    row.push(l.reasons().join("; "));
    row
}

/// The matrix as JSON: the labs, the pillars and a learner per entry with their cells, pillar averages and
/// at-risk reasons.
pub fn matrix_json(book: &Gradebook) -> serde_json::Value {
    let learners: Vec<serde_json::Value> = book
        .learners
        .iter()
        .map(|l| {
            serde_json::json!({
                "user_id": l.user_id,
                "name": l.name,
                "email": l.email,
                "last_activity_ms": l.last_activity,
                "cells": l.cells,
                "pillars": l.pillars.iter().map(|p| serde_json::json!({
                    "id": p.id.as_str(), "percent": p.percent,
                    "labs_passed": p.labs_passed, "labs_total": p.labs_total,
                })).collect::<Vec<_>>(),
                "at_risk": l.reasons(),
            })
        })
        .collect();
    serde_json::json!({
        "labs": book.labs,
        "pillars": book.pillars.iter().map(|(id, name)| serde_json::json!({"id": id, "name": name})).collect::<Vec<_>>(),
        "learners": learners,
    })
}

/// One line per learner × lab × check of the learner's latest graded run of the lab.
pub fn checks_csv(rows: &[LatestCheckRow]) -> String {
    let mut out = line(&[
        "email".into(),
        "lab".into(),
        "run".into(),
        "check".into(),
        "title".into(),
        "verdict".into(),
        "message".into(),
    ]);
    for r in rows {
        out.push_str(&line(&[
            r.email.clone(),
            r.lab_id.clone(),
            r.run_id.to_string(),
            r.check_id.clone(),
            r.title.clone(),
            r.verdict.clone(),
            r.message.clone(),
        ]));
    }
    out
}

pub fn checks_json(rows: &[LatestCheckRow]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "email": r.email, "lab": r.lab_id, "run_id": r.run_id, "check": r.check_id,
                    "title": r.title, "verdict": r.verdict, "message": r.message,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn formulas_are_neutralised_and_quotes_doubled() {
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "\"'+1\"");
        assert_eq!(field("-1"), "\"'-1\"");
        assert_eq!(field("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(field("\tx"), "\"'\tx\"");
        assert_eq!(field("Ada, \"the\" first"), "\"Ada, \"\"the\"\" first\"");
        assert_eq!(field("plain"), "\"plain\"");
    }
}
