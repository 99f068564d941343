//! One learner's page for staff (`/cohorts/{id}/learners/{user}`): their pillar radar with a table beside it,
//! a timeline of their runs over the twelve weeks, every lab's best and last run, and their at-risk flags. Built
//! from the same two statements as the gradebook, narrowed to one learner.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::cohorts::html;
use super::gradebook::{load, readable};
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::gradebook::charts::{self, Radar, Timeline, TimelineRun};
use crate::progress::PillarProgress;

pub struct LabLine {
    pub id: String,
    pub title: String,
    pub week: u8,
    pub class: &'static str,
    pub label: &'static str,
    pub attempts: usize,
    /// The best run: id and score (0–100).
    pub best: Option<(i64, String)>,
    /// The latest run: id and its state.
    pub last: Option<(i64, String)>,
}

/// One module's quiz as the staff see the learner's standing on it.
pub struct QuizLine {
    pub week: u8,
    pub title: String,
    /// The best score, 0 to 100, when taken.
    pub best: Option<u8>,
    pub attempts: i64,
}

#[derive(Template)]
#[template(path = "pages/learner.html")]
struct LearnerPage {
    layout: Layout,
    cohort_id: i64,
    cohort_name: String,
    name: String,
    email: String,
    radar: Radar,
    pillars: Vec<PillarProgress>,
    timeline: Timeline,
    labs: Vec<LabLine>,
    reasons: Vec<String>,
    runs: usize,
    quizzes: Vec<QuizLine>,
    /// `[quizzes] weight` as a percentage.
    quiz_weight: u8,
}

/// `GET /cohorts/{id}/learners/{user}`: 404 unless the viewer may read the cohort and the learner is in it.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, WebError> {
    let (cohort_id, learner_id) = path.into_inner();
    let cohort = readable(&state, &user, cohort_id).await?;
    let book = load(&state, cohort.id, Some(learner_id)).await?;
    let Some(learner) = book.learners.first() else {
        return Err(WebError::NotFound);
    };
    let runs: Vec<TimelineRun<'_>> = learner
        .runs
        .iter()
        .map(|r| TimelineRun {
            id: r.id,
            lab: &r.lab,
            state: &r.state,
            at: r.at,
        })
        .collect();
    let timeline = charts::timeline(&runs, learner.joined_at);
    let labs = book
        .labs
        .iter()
        .zip(&learner.cells)
        .map(|(lab, c)| LabLine {
            id: lab.id.clone(),
            title: lab.title.clone(),
            week: lab.week,
            class: c.state.class(),
            label: c.state.label(),
            attempts: c.attempts,
            best: c
                .best_run
                .map(|id| (id, format!("{:.0}", c.best_score.unwrap_or(0.0) * 100.0))),
            last: c.last_run.and_then(|id| {
                learner
                    .runs
                    .iter()
                    .find(|r| r.id == id)
                    .map(|r| (id, r.state.clone()))
            }),
        })
        .collect();
    let curriculum = state.curriculum();
    let quizzes = curriculum
        .modules
        .iter()
        .filter(|m| m.quiz.is_some())
        .map(|m| {
            let row = learner
                .quizzes
                .iter()
                .find(|q| q.week == i64::from(m.week.number()));
            QuizLine {
                week: m.week.number(),
                title: m.title.clone(),
                best: row.map(|r| (r.best_score * 100.0).round().clamp(0.0, 100.0) as u8),
                attempts: row.map_or(0, |r| r.attempts),
            }
        })
        .collect();
    let page = LearnerPage {
        quizzes,
        quiz_weight: (curriculum.course.quiz_weight * 100.0).round() as u8,
        layout: Layout::new(&state, Some(&user), &csrf),
        cohort_id: cohort.id,
        cohort_name: cohort.name,
        name: learner.name.clone(),
        email: learner.email.clone(),
        radar: charts::radar(&learner.pillars),
        pillars: learner.pillars.clone(),
        timeline,
        labs,
        reasons: learner.reasons(),
        runs: learner.runs.len(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}
