//! The course map, a week's module and a lab's public instructions.

use actix_web::{web, HttpResponse};
use askama::Template;

use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::curriculum::markdown::TocEntry;
use crate::curriculum::starter::{self, StarterError};
use crate::curriculum::{Lab, Module};
use crate::domain::{LabId, Week};
use crate::progress::{self, PillarProgress};
use crate::schedule::{self, LabStanding, LearnerPlan};
use crate::web::runs::format_time;

/// When `week` opens for the learner, in words, while it is still closed to them at `now`.
fn closed_until(state: &AppState, plan: &LearnerPlan, week: Week) -> Option<String> {
    let course = &state.curriculum().course.schedule;
    schedule::opens_at(course, plan, week)
        .filter(|at| *at > state.clock.now_ms())
        .map(format_time)
}

/// A lab's standing on the map: a class for the eye, the words that say it and the date (kept on one line).
fn standing_words(standing: LabStanding) -> Option<(&'static str, &'static str, String)> {
    match standing {
        LabStanding::Unscheduled => None,
        LabStanding::Due(at) => Some(("due", "due", format_time(at))),
        LabStanding::WasDue(at) => Some(("was-due", "was due", format_time(at))),
        LabStanding::Late(at) => Some(("late", "late · was due", format_time(at))),
    }
}

/// A week as the map shows it.
struct WeekCard {
    number: u8,
    /// A class and the words, `open` or `opens on …`; `None` when nothing is scheduled for the learner.
    opens: Option<(&'static str, String)>,
    title: String,
    summary: String,
    pillars: Vec<String>,
    labs: Vec<LabLink>,
}

struct LabLink {
    id: String,
    title: String,
    best: Option<u8>,
    passed: bool,
    /// A class, the words (`due`, `was due`, `late · was due`) and the date.
    when: Option<(&'static str, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "pages/course.html")]
struct CoursePage {
    layout: Layout,
    tagline: String,
    progress: Vec<PillarProgress>,
    weeks: Vec<WeekCard>,
}

#[derive(Template)]
#[template(path = "pages/week.html")]
struct WeekPage<'a> {
    layout: Layout,
    module: &'a Module,
    pillars: Vec<String>,
    labs: Vec<&'a Lab>,
    toc: &'a [TocEntry],
    /// When the week opens, while it is closed to the learner.
    opens: Option<String>,
    /// The front matter's objectives, unless the body already has its own Objectives section.
    show_objectives: bool,
    prev: Option<u8>,
    next: Option<u8>,
    /// The module's quiz, without its answers, and the learner's attempts.
    quiz: Option<super::quiz::QuizSection>,
}

/// The week page's query: `?quiz=empty` after a quiz submitted with nothing answered.
#[derive(serde::Deserialize)]
pub struct WeekQuery {
    #[serde(default)]
    quiz: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/lab.html")]
struct LabPage<'a> {
    layout: Layout,
    lab: &'a Lab,
    pillars: Vec<String>,
    runs: Vec<super::runs::RunView>,
    /// More runs than the page lists: it links the whole history.
    more_runs: bool,
    max_mb: u64,
    upload_error: Option<String>,
    /// When the lab's week opens, while it is closed to the learner (the form is not shown).
    opens: Option<String>,
    /// The lab's due date in words, when one is set for the learner.
    due: Option<String>,
}

/// Runs the lab page lists; the history page has them all.
const RECENT_RUNS: i64 = 10;
/// The most the history page lists (newest first): years of a learner's attempts at one lab.
const HISTORY_RUNS: i64 = 1000;

#[derive(Template)]
#[template(path = "pages/lab_runs.html")]
struct LabRunsPage<'a> {
    layout: Layout,
    lab: &'a Lab,
    runs: Vec<super::runs::RunView>,
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn pillar_names(state: &AppState, ids: impl Iterator<Item = String>) -> Vec<String> {
    let c = state.curriculum();
    ids.map(|id| {
        c.course
            .pillars
            .iter()
            .find(|p| p.id.as_str() == id)
            .map_or(id.clone(), |p| p.name.clone())
    })
    .collect()
}

/// `GET /`: the twelve weeks and the learner's progress per pillar.
pub async fn map(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    let curriculum = state.curriculum();
    let rows = state.store.lab_progress(user.id).await?;
    let quizzes = crate::store::best_by_week(&state.store.quiz_best(user.id).await?);
    let progress = progress::by_pillar(&curriculum, &rows, &quizzes);
    let plan = state.store.learner_plan(user.id).await?;
    let (course, now) = (&curriculum.course.schedule, state.clock.now_ms());
    let weeks = curriculum
        .modules
        .iter()
        .map(|m| WeekCard {
            number: m.week.number(),
            opens: plan.cohort.as_ref().map(|_| {
                closed_until(&state, &plan, m.week).map_or_else(
                    || ("open", "open".to_string()),
                    |at| ("closed", format!("opens on {at}")),
                )
            }),
            title: m.title.clone(),
            summary: m.summary.clone(),
            pillars: pillar_names(&state, m.pillars.iter().map(|p| p.to_string())),
            labs: curriculum
                .labs_of(m)
                .into_iter()
                .map(|l| {
                    let row = rows.iter().find(|r| r.lab_id == l.id.as_str());
                    let passed = row.is_some_and(|r| r.passed != 0);
                    LabLink {
                        id: l.id.to_string(),
                        title: l.title.clone(),
                        best: row.map(|r| (r.best_score * 100.0).round() as u8),
                        passed,
                        when: standing_words(schedule::standing(
                            course, &plan, &l.id, l.week, passed, now,
                        )),
                    }
                })
                .collect(),
        })
        .collect();
    let page = CoursePage {
        layout: Layout::new(&state, Some(&user), &csrf),
        tagline: curriculum.course.tagline.clone(),
        progress,
        weeks,
    };
    Ok(html(page.render()?))
}

/// `GET /weeks/{n}`: one week's module.
pub async fn week(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    query: web::Query<WeekQuery>,
) -> Result<HttpResponse, WebError> {
    let n: i64 = path.parse().map_err(|_| WebError::NotFound)?;
    let week = Week::parse(n).map_err(|_| WebError::NotFound)?;
    let curriculum = state.curriculum();
    let module = curriculum.module(week).ok_or(WebError::NotFound)?;
    let plan = state.store.learner_plan(user.id).await?;
    let empty = query.quiz.as_deref() == Some("empty");
    let page = WeekPage {
        quiz: super::quiz::section(&state, &curriculum, module, &user, empty).await?,
        opens: closed_until(&state, &plan, week),
        layout: Layout::new(&state, Some(&user), &csrf),
        module,
        pillars: pillar_names(&state, module.pillars.iter().map(|p| p.to_string())),
        labs: curriculum.labs_of(module),
        toc: &module.toc,
        show_objectives: !module.toc.iter().any(|t| t.id == "objectives"),
        prev: Week::parse(n - 1).ok().map(Week::number),
        next: Week::parse(n + 1).ok().map(Week::number),
    };
    Ok(html(page.render()?))
}

/// `GET /labs/{id}`: the lab's public README. The id must name a loaded lab; nothing else on disk is reachable.
pub async fn lab(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    Ok(html(lab_page(&state, &user, &csrf, &path, None).await?))
}

/// The lab page, with `upload_error` above the form when a submission was refused: the learner stays where
/// they were, with the form and the reason, instead of on a bare error page.
pub async fn lab_page(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    lab_id: &str,
    upload_error: Option<String>,
) -> Result<String, WebError> {
    let id = LabId::parse(lab_id).map_err(|_| WebError::NotFound)?;
    let curriculum = state.curriculum();
    let lab = curriculum.lab(&id).ok_or(WebError::NotFound)?;
    // One more than shown, to know whether to link the whole history.
    let mut runs: Vec<super::runs::RunView> = state
        .store
        .runs_of(user.id, lab.id.as_str(), RECENT_RUNS + 1)
        .await?
        .iter()
        .map(|r| super::runs::RunView::new(r, lab.title.clone()))
        .collect();
    let more_runs = runs.len() > RECENT_RUNS as usize;
    runs.truncate(RECENT_RUNS as usize);
    let plan = state.store.learner_plan(user.id).await?;
    let page = LabPage {
        opens: closed_until(state, &plan, lab.week),
        due: schedule::due_at(&curriculum, &plan, &lab.id).map(|at| {
            let words = format!("Due {}", format_time(at));
            if at < state.clock.now_ms() {
                format!("{words}: runs submitted now are graded and marked late.")
            } else {
                words
            }
        }),
        layout: Layout::new(state, Some(user), csrf),
        lab,
        pillars: pillar_names(state, lab.pillars.iter().map(|(p, _)| p.to_string())),
        runs,
        more_runs,
        max_mb: state.grading.limits.max_bytes >> 20,
        upload_error,
    };
    Ok(page.render()?)
}

/// `GET /labs/{id}/runs`: every run of the signed-in learner on this lab, newest first.
pub async fn lab_runs(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let id = LabId::parse(&path).map_err(|_| WebError::NotFound)?;
    let curriculum = state.curriculum();
    let lab = curriculum.lab(&id).ok_or(WebError::NotFound)?;
    let runs = state
        .store
        .runs_of(user.id, lab.id.as_str(), HISTORY_RUNS)
        .await?
        .iter()
        .map(|r| super::runs::RunView::new(r, lab.title.clone()))
        .collect();
    let page = LabRunsPage {
        layout: Layout::new(&state, Some(&user), &csrf),
        lab,
        runs,
    };
    Ok(html(page.render()?))
}

/// `GET /labs/{id}/starter.tar.gz`: the lab's default starter project, packed from its `starter/` folder only.
pub async fn starter(
    state: web::Data<AppState>,
    _user: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    download(&state, &path, None).await
}

/// `GET /labs/{id}/starters/{name}.tar.gz`: one of the lab's other starters, from its `starters/<name>/` only.
pub async fn named_starter(
    state: web::Data<AppState>,
    _user: CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (lab, file) = path.into_inner();
    let name = starter_name(&file).ok_or(WebError::NotFound)?;
    download(&state, &lab, Some(name)).await
}

async fn download(
    state: &AppState,
    lab: &str,
    name: Option<&str>,
) -> Result<HttpResponse, WebError> {
    match starter::for_lab(&state.curriculum(), lab, name).await {
        Ok((s, bytes)) => Ok(starter_download(&s.file_name(lab), bytes)),
        Err(StarterError::NotFound) => Err(WebError::NotFound),
        Err(e) => Err(WebError::Internal(format!("{e:#}"))),
    }
}

/// The starter a `{name}.tar.gz` path segment names, if it is one.
pub fn starter_name(file: &str) -> Option<&str> {
    file.strip_suffix(".tar.gz")
        .filter(|n| starter::valid_name(n) || *n == starter::DEFAULT)
}

/// The response that makes a browser save the starter as `file_name`.
pub fn starter_download(file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(bytes)
}
