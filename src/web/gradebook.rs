//! The cohort gradebook for staff (`/cohorts/{id}/gradebook`): the matrix, its heatmap, sorting and filters by
//! query string (htmx swaps only the table; without JavaScript the links and the form load the whole page), and
//! the CSV and JSON exports of the matrix and of per-check results. Who may read which cohort is
//! `crate::access::may_read_cohort_work`'s to say; anyone else is told the cohort does not exist.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::cohorts::html;
use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;
use crate::gradebook::charts::{self, Heatmap};
use crate::gradebook::view::{StateFilter, View, ViewQuery};
use crate::gradebook::{self, export, Gradebook};
use crate::store::{CohortRow, Learners};

/// The cohort `id` if `user` may read its work; 404 otherwise, whether or not it exists.
pub(super) async fn readable(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<CohortRow, WebError> {
    if !access::may_read_cohort_work(&state.store, user.viewer(), id).await? {
        return Err(WebError::NotFound);
    }
    state.store.cohort(id).await?.ok_or(WebError::NotFound)
}

/// The cohort's gradebook (or one learner's row of it), from two statements.
pub(super) async fn load(
    state: &AppState,
    cohort_id: i64,
    only_user: Option<i64>,
) -> Result<Gradebook, WebError> {
    let runs = state.store.cohort_runs(cohort_id, only_user).await?;
    let failed = state
        .store
        .cohort_failed_checks(cohort_id, only_user)
        .await?;
    // A lab's due date is the cohort's (opening a week early for one learner does not move it); a cohort
    // without a start date has nothing due, and the due-date rule nothing to judge.
    let quizzes = state.store.cohort_quiz_best(cohort_id, only_user).await?;
    let curriculum = state.curriculum();
    let plan = crate::schedule::LearnerPlan {
        cohort: state.store.cohort_dates(cohort_id).await?,
        early: Default::default(),
    };
    let due: gradebook::DueDates = curriculum
        .labs
        .values()
        .filter_map(|lab| {
            crate::schedule::due_at(&curriculum, &plan, &lab.id)
                .map(|at| (lab.id.as_str().to_string(), at))
        })
        .collect();
    Ok(gradebook::build(
        &curriculum,
        &gradebook::Rows {
            runs: &runs,
            failed: &failed,
            quizzes: &quizzes,
        },
        &due,
        state.clock.now_ms(),
    ))
}

/// A sortable column header.
pub struct Header {
    pub label: String,
    pub title: String,
    pub href: String,
    /// `ascending`, `descending` or `none`, for `aria-sort`.
    pub sorted: &'static str,
}

pub struct CellView {
    pub class: &'static str,
    pub label: &'static str,
    pub score: String,
    pub attempts: usize,
    pub last: String,
    pub run_href: Option<String>,
    pub at_risk: bool,
    pub title: String,
}

pub struct RowView {
    pub href: String,
    pub name: String,
    pub email: String,
    pub cells: Vec<CellView>,
    pub pillars: Vec<u8>,
    /// The quiz average in words (`—` when the course has no quiz).
    pub quizzes: String,
    pub last: String,
    pub reasons: Vec<String>,
}

/// The part htmx swaps: the table, the heatmap and the export links of the current view.
pub struct TableView {
    pub base: String,
    /// Where the per-check exports are.
    pub checks_base: String,
    pub name: Header,
    pub labs: Vec<Header>,
    pub pillars: Vec<Header>,
    pub last: Header,
    pub rows: Vec<RowView>,
    pub heatmap: Heatmap,
    pub query: String,
    pub shown: usize,
    pub total: usize,
}

pub struct LabOption {
    pub id: String,
    pub week: u8,
    pub label: String,
    pub selected: bool,
}

pub struct StateOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "pages/gradebook.html")]
struct GradebookPage {
    layout: Layout,
    cohort_id: i64,
    cohort_name: String,
    table: TableView,
    sort: String,
    dir: &'static str,
    lab_options: Vec<LabOption>,
    state_options: Vec<StateOption>,
    inactive: String,
}

#[derive(Template)]
#[template(path = "partials/gradebook_table.html")]
struct GradebookFragment {
    table: TableView,
}

fn header(view: &View, base: &str, key: &str, label: String, title: String) -> Header {
    let sorted = if view.sort_param() == key {
        if view.descending {
            "descending"
        } else {
            "ascending"
        }
    } else {
        "none"
    };
    Header {
        label,
        title,
        href: format!("{base}?{}", view.with_sort(key)),
        sorted,
    }
}

fn date(ms: Option<i64>) -> String {
    ms.map(|t| format_time(t).chars().take(10).collect())
        .unwrap_or_else(|| "—".to_string())
}

fn table(cohort_id: i64, book: &Gradebook, view: &View, total: usize) -> TableView {
    let base = format!("/cohorts/{cohort_id}/gradebook");
    let rows = book
        .learners
        .iter()
        .map(|l| RowView {
            href: format!("/cohorts/{cohort_id}/learners/{}", l.user_id),
            name: l.name.clone(),
            email: l.email.clone(),
            cells: l
                .cells
                .iter()
                .map(|c| CellView {
                    class: c.state.class(),
                    label: c.state.label(),
                    score: c
                        .best_score
                        .map(|s| format!("{:.0}", s * 100.0))
                        .unwrap_or_default(),
                    attempts: c.attempts,
                    last: date(c.last_activity),
                    run_href: c.best_run.or(c.last_run).map(|r| format!("/runs/{r}")),
                    at_risk: !c.flags.is_empty(),
                    title: c
                        .flags
                        .iter()
                        .map(|f| f.reason(&c.lab))
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect(),
            pillars: l.pillars.iter().map(|p| p.percent).collect(),
            quizzes: l
                .quiz_average
                .map(|q| format!("{q} %"))
                .unwrap_or_else(|| "—".to_string()),
            last: date(l.last_activity),
            reasons: l.reasons(),
        })
        .collect();
    TableView {
        name: header(view, &base, "name", "Learner".into(), "Sort by name".into()),
        labs: book
            .labs
            .iter()
            .map(|lab| {
                header(
                    view,
                    &base,
                    &format!("lab:{}", lab.id),
                    format!("W{}", lab.week),
                    format!("{} ({}): sort by best score", lab.title, lab.id),
                )
            })
            .collect(),
        pillars: book
            .pillars
            .iter()
            .map(|(id, name)| {
                header(
                    view,
                    &base,
                    &format!("pillar:{id}"),
                    name.clone(),
                    format!("{name}: sort by average"),
                )
            })
            .collect(),
        last: header(
            view,
            &base,
            "last",
            "Last activity".into(),
            "Sort by last activity".into(),
        ),
        rows,
        heatmap: charts::heatmap(book),
        query: view.current(),
        shown: book.learners.len(),
        total,
        checks_base: format!("/cohorts/{cohort_id}/checks"),
        base,
    }
}

/// Whether htmx asked for the table only (not a history restore, which needs the whole page).
fn wants_fragment(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
        && !req.headers().contains_key("HX-History-Restore-Request")
}

/// `GET /cohorts/{id}/gradebook`: the page, or just its table for htmx.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    query: web::Query<ViewQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    let cohort = readable(&state, &user, *path).await?;
    let mut book = load(&state, cohort.id, None).await?;
    let view = View::parse(&query, &book);
    let total = book.learners.len();
    let lab_options = book
        .labs
        .iter()
        .map(|l| LabOption {
            id: l.id.clone(),
            week: l.week,
            label: format!("W{} · {}", l.week, l.title),
            selected: view.lab.as_deref() == Some(l.id.as_str()),
        })
        .collect();
    view.apply(&mut book, state.clock.now_ms());
    let table = table(cohort.id, &book, &view, total);
    let body = if wants_fragment(&req) {
        GradebookFragment { table }.render()?
    } else {
        GradebookPage {
            layout: Layout::new(&state, Some(&user), &csrf),
            cohort_id: cohort.id,
            cohort_name: cohort.name,
            table,
            sort: view.sort_param(),
            dir: if view.descending { "desc" } else { "asc" },
            lab_options,
            state_options: StateFilter::ALL
                .into_iter()
                .map(|s| StateOption {
                    value: s.as_str(),
                    label: s.label(),
                    selected: view.state == Some(s),
                })
                .collect(),
            inactive: view
                .inactive_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
        }
        .render()?
    };
    let mut res = html(StatusCode::OK, body);
    res.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("HX-Request"));
    Ok(res)
}

/// What an export holds and how it is written.
fn download(body: String, content_type: &str, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

/// `GET /cohorts/{id}/gradebook.{csv|json}`: the matrix as the page shows it (same sort and filters).
pub async fn export_matrix(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
    query: web::Query<ViewQuery>,
) -> Result<HttpResponse, WebError> {
    let (id, format) = path.into_inner();
    let cohort = readable(&state, &user, id).await?;
    let mut book = load(&state, cohort.id, None).await?;
    let view = View::parse(&query, &book);
    view.apply(&mut book, state.clock.now_ms());
    match format.as_str() {
        "csv" => Ok(download(
            export::matrix_csv(&book),
            "text/csv; charset=utf-8",
            &format!("gradebook-{id}.csv"),
        )),
        "json" => Ok(download(
            export::matrix_json(&book).to_string(),
            "application/json",
            &format!("gradebook-{id}.json"),
        )),
        _ => Err(WebError::NotFound),
    }
}

/// `GET /cohorts/{id}/checks.{csv|json}`: one line per learner × lab × check of their latest graded run.
pub async fn export_checks(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, WebError> {
    let (id, format) = path.into_inner();
    let cohort = readable(&state, &user, id).await?;
    let rows = state
        .store
        .latest_check_results(Learners::Cohort(cohort.id), None)
        .await?;
    match format.as_str() {
        "csv" => Ok(download(
            export::checks_csv(&rows),
            "text/csv; charset=utf-8",
            &format!("checks-{id}.csv"),
        )),
        "json" => Ok(download(
            export::checks_json(&rows).to_string(),
            "application/json",
            &format!("checks-{id}.json"),
        )),
        _ => Err(WebError::NotFound),
    }
}
