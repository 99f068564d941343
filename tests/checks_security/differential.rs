//! The injection probe judged differentially (issue 13): each payload's answer is compared with a benign
//! value's, so a tautology that returns more records fails without a planted marker, and a time-based
//! payload whose sleep runs fails by its delay.

use gauntlet::checks::Verdict;

use crate::fixture::{assert_says, judge_toml, TOKEN};

/// Creates notes first (so a search has rows to leak), then searches with the payloads; no `plant`.
fn unplanted() -> String {
    format!(
        "probe = \"injection\"\nroutes = [\n  {{ method = \"POST\", path = \"/v1/notes\", json = {{ title = \"{{payload}}\" }} }},\n  {{ path = \"/v1/notes?q={{payload}}\" }},\n]\n{TOKEN}"
    )
}

#[tokio::test]
async fn without_a_marker_the_correct_service_passes() {
    let o = judge_toml(&unplanted(), "", Verdict::Pass).await;
    assert!(
        o.detail.contains("(benign: status 200, 0 records"),
        "{}",
        o.detail
    );
}

#[tokio::test]
async fn a_tautology_returning_more_records_than_a_benign_value_fails_without_a_marker() {
    let o = judge_toml(&unplanted(), "sql-injectable", Verdict::Fail).await;
    assert_says(&o, "SQL injection input returned");
    assert_says(
        &o,
        "more records than an ordinary value (status 200) on GET /v1/notes",
    );
}

#[tokio::test]
async fn a_time_based_payload_whose_sleep_runs_fails_by_its_delay() {
    let fields = format!(
        "probe = \"injection\"\nroutes = [{{ path = \"/v1/notes?q={{payload}}\" }}]\n{TOKEN}"
    );
    let o = judge_toml(&fields, "sql-sleep", Verdict::Fail).await;
    assert_says(&o, "time-based SQL injection input delayed the answer by");
    judge_toml(&fields, "", Verdict::Pass).await;
}

#[tokio::test]
async fn spaces_in_a_path_are_sent_percent_encoded_never_as_plus() {
    let o = judge_toml(&unplanted(), "", Verdict::Pass).await;
    let searches: Vec<&str> = o
        .detail
        .lines()
        .filter(|l| l.starts_with("── ") && l.contains("?q="))
        .collect();
    assert!(searches.len() >= 7, "{searches:#?}");
    assert!(
        searches.iter().any(|l| l.contains("%20")),
        "no payload with a space was sent: {searches:#?}"
    );
    assert!(!searches.iter().any(|l| l.contains('+')), "{searches:#?}");
}
