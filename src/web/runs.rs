//! Submitting on the lab page, the run page, and its live stream (server-sent events of HTML fragments that
//! htmx's SSE extension swaps in). The page first renders everything stored so far, then the stream continues
//! from the last event it showed, so a reload mid-run loses nothing.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::grading::submit::{self, SubmitError};
use crate::store::{CheckResultRow, EventRow, RunRow};

/// A run as the pages show it.
pub struct RunView {
    pub id: i64,
    pub lab_id: String,
    pub lab_title: String,
    pub state: String,
    pub is_final: bool,
    pub stage: String,
    pub reason: String,
    pub score: Option<u8>,
    pub created: String,
    /// Submitted after the lab's due date, which this says.
    pub late: Option<String>,
}

impl RunView {
    pub fn new(run: &RunRow, lab_title: String) -> RunView {
        RunView {
            id: run.id,
            lab_id: run.lab_id.clone(),
            lab_title,
            state: run.state.clone(),
            is_final: run.state().is_final(),
            stage: run.stage.clone().unwrap_or_default(),
            reason: run.reason.clone().unwrap_or_default(),
            score: run
                .score
                .map(|s| (s * 100.0).round().clamp(0.0, 100.0) as u8),
            created: format_time(run.created_at),
            late: (run.late != 0).then(|| run.due_at.map(format_time).unwrap_or_default()),
        }
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), to avoid a date crate for one format.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[derive(Template)]
#[template(path = "pages/run.html")]
struct RunPage {
    layout: Layout,
    run: RunView,
    logs: Vec<String>,
    live_checks: Vec<LiveCheck>,
    results: Vec<CheckResultRow>,
    staff: bool,
    detail: String,
    container_log: String,
    last_event: i64,
    /// The run's place in the queue while it waits (1 = next).
    queue_position: Option<i64>,
    /// Whose run and how it was graded; staff only.
    facts: Option<super::run_staff::StaffFacts>,
}

/// A check's verdict as it arrives during the run.
pub struct LiveCheck {
    pub title: String,
    pub verdict: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "partials/live_check.html")]
struct LiveCheckFragment<'a> {
    c: &'a LiveCheck,
}

#[derive(Template)]
#[template(path = "partials/result.html")]
struct ResultFragment<'a> {
    run: &'a RunView,
    results: &'a [CheckResultRow],
}

/// The run if the user may see it (`crate::access`: their own, their cohorts' for instructors, any for admins).
/// Anyone else's is "not found", not "forbidden",
/// so run ids reveal nothing.
pub async fn visible_run(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<RunRow, WebError> {
    let run = state.store.run(id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => WebError::NotFound,
        other => WebError::Store(other),
    })?;
    if crate::access::may_see_work_of(&state.store, user.viewer(), run.user_id).await? {
        Ok(run)
    } else {
        Err(WebError::NotFound)
    }
}

fn lab_title(state: &AppState, lab_id: &str) -> String {
    crate::domain::LabId::parse(lab_id)
        .ok()
        .and_then(|id| state.curriculum().lab(&id).map(|l| l.title.clone()))
        .unwrap_or_else(|| lab_id.to_string())
}

/// `POST /labs/{id}/submissions`: a multipart form with the CSRF token and the archive. Signed-in learners
/// only (the extractor answers before the body is read); the form is read by [`super::upload`].
pub async fn submit(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, WebError> {
    let accepted = match super::upload::read_archive(
        &req,
        &csrf,
        form,
        state.grading.limits.max_bytes,
    )
    .await
    {
        Ok(archive) => {
            let curriculum = state.curriculum();
            submit::accept(
                &state.store,
                &curriculum,
                &state.grading,
                user.id,
                &path,
                archive,
            )
            .await
            .map_err(submit_error)
        }
        Err(e) => Err(e),
    };
    match accepted {
        Ok(run) => {
            state.grading.wake();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/runs/{run}")))
                .finish())
        }
        // What the learner can fix (the archive) or wait out (the cap on live runs) is said on the lab page,
        // with the form, under the status the error carries.
        Err(e @ (WebError::BadUpload(_) | WebError::Refused { .. })) => {
            let (title, message) = e.explain();
            let said = format!("{title}. {message}");
            let body = super::course::lab_page(&state, &user, &csrf, &path, Some(said)).await?;
            Ok(
                HttpResponse::build(actix_web::ResponseError::status_code(&e))
                    .content_type("text/html; charset=utf-8")
                    .body(body),
            )
        }
        Err(e) => Err(e),
    }
}

pub fn submit_error(e: SubmitError) -> WebError {
    match e {
        SubmitError::UnknownLab(_) => WebError::NotFound,
        SubmitError::Closed(closed) => WebError::Refused {
            status: actix_web::http::StatusCode::FORBIDDEN,
            title: "This week is not open yet",
            message: format!("Nothing was stored: {closed}."),
        },
        e @ SubmitError::TooManyRuns(_) => WebError::Refused {
            status: actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            title: "Too many runs in the queue",
            message: format!("Nothing was stored: {e}."),
        },
        e if e.is_learner_fault() => WebError::BadUpload(e.to_string()),
        e => WebError::Internal(e.to_string()),
    }
}

/// `GET /runs/{id}`.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let run = visible_run(&state, &user, *path).await?;
    let events = state.store.events_after(run.id, 0, 100_000).await?;
    let last_event = events.last().map_or(0, |e| e.id);
    let mut logs = Vec::new();
    let mut live_checks = Vec::new();
    for e in &events {
        match e.kind.as_str() {
            "log" => logs.extend(payload_str(e, "line")),
            "check_finished" => live_checks.push(live_check(e)),
            _ => {}
        }
    }
    let results = if run.state().is_final() {
        state.store.check_results(run.id).await?
    } else {
        Vec::new()
    };
    let staff = user.role.is_staff();
    let page = RunPage {
        layout: Layout::new(&state, Some(&user), &csrf),
        run: RunView::new(&run, lab_title(&state, &run.lab_id)),
        logs,
        live_checks,
        results,
        staff,
        detail: if staff {
            run.detail.clone().unwrap_or_default()
        } else {
            String::new()
        },
        // Staff read the whole stored log; the learner reads the tail of their own service's output (their
        // program's, so nothing hidden), and nobody else's.
        container_log: if staff {
            run.container_log.clone()
        } else if run.user_id == user.id {
            log_tail(own_output(&run.container_log), LEARNER_LOG_LINES)
        } else {
            String::new()
        },
        last_event,
        queue_position: state.store.queue_position(run.id).await?,
        facts: if staff {
            Some(super::run_staff::StaffFacts::of(&state, &run).await?)
        } else {
            None
        },
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// How many of the last lines of their service's output a learner sees on their run page.
const LEARNER_LOG_LINES: usize = 200;

/// The service's own output: the stored log up to the counterparts' logs the pipeline appends after it (the
/// broker's or a receiver's output is the lab's machinery, not the learner's program).
fn own_output(log: &str) -> &str {
    log.find("\n--- counterpart ").map_or(log, |at| &log[..at])
}

/// The last `lines` lines of `log`.
fn log_tail(log: &str, lines: usize) -> String {
    let starts: Vec<usize> = log
        .trim_end_matches('\n')
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .collect();
    match starts.len().checked_sub(lines.saturating_sub(1)) {
        Some(from) if lines > 0 && from > 0 => log[starts[from - 1]..].to_string(),
        _ => log.to_string(),
    }
}

fn payload(e: &EventRow) -> serde_json::Value {
    serde_json::from_str(&e.payload).unwrap_or_default()
}

fn payload_str(e: &EventRow, key: &str) -> Option<String> {
    payload(e)
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

fn live_check(e: &EventRow) -> LiveCheck {
    let p = payload(e);
    let s = |k: &str| {
        p.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    LiveCheck {
        title: s("title"),
        verdict: s("verdict"),
        message: s("message"),
    }
}

/// `GET /runs/{id}/stream`: the run's events after `after` as HTML fragments, until the run finishes.
pub async fn stream(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<i64>,
    query: web::Query<super::sse::AfterQuery>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, WebError> {
    let run = visible_run(&state, &user, *path).await?;
    let after = super::sse::resume_after(&req, &query);
    let st = state.clone();
    let render = move |e: EventRow| {
        let st = st.clone();
        async move { html_event(&st, e).await }
    };
    Ok(super::sse::response(
        state.store.clone(),
        run.id,
        after,
        render,
    ))
}

/// One stored event as an SSE message of HTML for the run page.
async fn html_event(state: &AppState, e: EventRow) -> Option<super::sse::Message> {
    let escape = |s: &str| {
        askama::filters::escape(s, askama::filters::Html)
            .map(|s| s.to_string())
            .unwrap_or_default()
    };
    let (name, data) = match e.kind.as_str() {
        "state" => {
            let s = payload_str(&e, "state").unwrap_or_default();
            (
                "state",
                format!("<span class=\"badge state-{s}\">{}</span>", escape(&s)),
            )
        }
        "log" => (
            "log",
            format!(
                "<span class=\"line\">{}</span>",
                escape(&payload_str(&e, "line").unwrap_or_default())
            ),
        ),
        "check_started" => (
            "progress",
            format!(
                "Running: {}",
                escape(&payload_str(&e, "title").unwrap_or_default())
            ),
        ),
        "check_finished" => (
            "check",
            LiveCheckFragment { c: &live_check(&e) }.render().ok()?,
        ),
        "claimed" => (
            "progress",
            "A grader picked up your submission.".to_string(),
        ),
        "resumed" => (
            "progress",
            "Grading restarted after an interruption.".to_string(),
        ),
        "requeued" => (
            "progress",
            format!(
                "Back in the queue ({}); grading starts again shortly.",
                escape(&payload_str(&e, "why").unwrap_or_default())
            ),
        ),
        "finished" => {
            let run = state.store.run(e.run_id).await.ok()?;
            let results = state.store.check_results(run.id).await.unwrap_or_default();
            let view = RunView::new(&run, lab_title(state, &run.lab_id));
            let result = ResultFragment {
                run: &view,
                results: &results,
            }
            .render()
            .ok()?;
            // Out-of-band swaps settle the rest of the page: the final state, no progress line, no live list.
            let settle = format!(
                "<span id=\"state\" hx-swap-oob=\"innerHTML\"><span class=\"badge state-{0}\">{0}</span></span>\
                 <span id=\"progress\" hx-swap-oob=\"innerHTML\"></span>\
                 <section id=\"live\" hx-swap-oob=\"delete\"></section>",
                escape(&view.state)
            );
            ("finished", format!("{result}{settle}"))
        }
        _ => return None,
    };
    Some(super::sse::Message {
        id: e.id,
        event: name.to_string(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::log_tail;

    #[test]
    fn a_learner_reads_their_service_output_without_the_counterparts_logs() {
        let log = "started\nserving\n\n--- counterpart kafka ---\nbroker up\n";
        assert_eq!(super::own_output(log), "started\nserving\n");
        assert_eq!(super::own_output("only mine\n"), "only mine\n");
    }

    #[test]
    fn a_log_tail_keeps_the_last_lines() {
        assert_eq!(log_tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(log_tail("a\nb\nc", 1), "c");
        assert_eq!(log_tail("a\nb\n", 5), "a\nb\n");
        assert_eq!(log_tail("", 3), "");
    }
}
