//! A module's quiz for the signed-in learner: the form on the week page (drawn from a view with no answers),
//! `POST /weeks/{n}/quiz` (CSRF, graded on the server, recorded) and the attempt's result with the right
//! answers and explanations, which only its author can open. Grading is `crate::quiz`; this file parses and
//! renders.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::curriculum::quiz::{FormQuestion, QuestionKind, Quiz};
use crate::curriculum::{Curriculum, Module};
use crate::domain::Week;
use crate::quiz::{self, Responses};
use crate::store::{NewQuizAttempt, QuizAttemptRow};
use crate::web::runs::format_time;

/// The quiz part of the week page.
pub struct QuizSection {
    pub week: u8,
    pub questions: Vec<FormQuestion>,
    pub attempts: Vec<AttemptLine>,
    /// The score that counts, the first attempt's, 0 to 100.
    pub best: Option<u8>,
    /// `[quizzes] weight` as a percentage (0: the quiz is practice).
    pub weight: u8,
    /// The last submission answered nothing, so it was not recorded.
    pub empty_submission: bool,
}

/// One past attempt in the list.
pub struct AttemptLine {
    pub id: i64,
    pub at: String,
    pub correct: i64,
    pub total: i64,
    pub percent: u8,
}

/// The counted score: the learner's first attempt (see `Store::quiz_best`).
fn counted(rows: &[QuizAttemptRow]) -> Option<u8> {
    rows.iter().min_by_key(|r| r.id).map(|r| percent(r.score))
}

fn percent(score: f64) -> u8 {
    (score * 100.0).round().clamp(0.0, 100.0) as u8
}

impl AttemptLine {
    fn new(row: &QuizAttemptRow) -> AttemptLine {
        AttemptLine {
            id: row.id,
            at: format_time(row.created_at),
            correct: row.correct,
            total: row.total,
            percent: percent(row.score),
        }
    }
}

/// The week page's quiz section for `user`, when the module has a quiz.
pub async fn section(
    state: &AppState,
    curriculum: &Curriculum,
    module: &Module,
    user: &CurrentUser,
    empty_submission: bool,
) -> Result<Option<QuizSection>, WebError> {
    let Some(quiz) = &module.quiz else {
        return Ok(None);
    };
    let week = module.week.number();
    let rows = state.store.quiz_attempts(user.id, week).await?;
    Ok(Some(QuizSection {
        week,
        questions: quiz.questions_for_form(),
        // Attempts come oldest first: the first one counts.
        best: counted(&rows),
        attempts: rows.iter().map(AttemptLine::new).collect(),
        weight: percent(curriculum.course.quiz_weight),
        empty_submission,
    }))
}

/// The module of `/weeks/{n}` and its quiz; 404 when either is missing.
fn quiz_of(curriculum: &Curriculum, n: &str) -> Result<(Week, Quiz), WebError> {
    let n: i64 = n.parse().map_err(|_| WebError::NotFound)?;
    let week = Week::parse(n).map_err(|_| WebError::NotFound)?;
    let quiz = curriculum
        .module(week)
        .and_then(|m| m.quiz.clone())
        .ok_or(WebError::NotFound)?;
    Ok((week, quiz))
}

/// `POST /weeks/{n}/quiz`: checks the CSRF token, grades, records the attempt and shows its result (303, so a
/// reload does not submit again). A form that answers nothing is not recorded: the learner goes back to the
/// quiz with a note.
pub async fn submit(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let token = fields
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map_or("", |(_, v)| v.as_str());
    csrf.verify(token)?;
    let curriculum = state.curriculum();
    let (week, quiz) = quiz_of(&curriculum, &path)?;
    let responses =
        quiz::responses_from_form(&quiz, fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let answered = responses
        .values()
        .any(|vs| vs.iter().any(|v| !v.trim().is_empty()));
    if !answered {
        return Ok(see_other(&format!(
            "/weeks/{}?quiz=empty#quiz",
            week.number()
        )));
    }
    let graded = quiz::grade(&quiz, &responses);
    let answers = serde_json::to_string(&responses)
        .map_err(|e| WebError::Internal(format!("quiz answers as JSON: {e}")))?;
    let id = state
        .store
        .record_quiz_attempt(&NewQuizAttempt {
            user_id: user.id,
            week: week.number(),
            answers: &answers,
            correct: graded.correct,
            total: graded.total,
            score: graded.score,
        })
        .await?;
    Ok(see_other(&format!(
        "/weeks/{}/quiz/attempts/{id}",
        week.number()
    )))
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// One question of a graded attempt, with what was answered and what was right.
pub struct ResultQuestion {
    pub number: usize,
    pub prompt_html: String,
    pub right: bool,
    /// The chosen choices' HTML (author's, sanitized).
    pub given_choices: Vec<String>,
    /// The typed answer (escaped when drawn).
    pub given_text: Option<String>,
    /// The correct choices' HTML.
    pub expected_choices: Vec<String>,
    /// The accepted typed answers.
    pub expected_text: Vec<String>,
    pub explanation_html: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/quiz_result.html")]
struct ResultPage {
    layout: Layout,
    week: u8,
    title: String,
    at: String,
    correct: i64,
    total: i64,
    percent: u8,
    questions: Vec<ResultQuestion>,
}

/// The result view of each question: the attempt's answers marked against the quiz as it is now.
fn marked(quiz: &Quiz, responses: &Responses) -> Vec<ResultQuestion> {
    let graded = quiz::grade(quiz, responses);
    let empty = Vec::new();
    quiz.questions
        .iter()
        .zip(&graded.marks)
        .enumerate()
        .map(|(i, (q, m))| {
            let given = responses.get(&q.id).unwrap_or(&empty);
            let (given_choices, given_text, expected_choices, expected_text) = match &q.kind {
                QuestionKind::Single(c) | QuestionKind::Multiple(c) => (
                    given
                        .iter()
                        .filter_map(|v| v.trim().parse::<usize>().ok())
                        .filter_map(|n| c.get(n).map(|c| c.html.clone()))
                        .collect(),
                    None,
                    c.iter()
                        .filter(|c| c.correct)
                        .map(|c| c.html.clone())
                        .collect(),
                    Vec::new(),
                ),
                QuestionKind::Short(accepted) => (
                    Vec::new(),
                    given.first().cloned().filter(|t| !t.trim().is_empty()),
                    Vec::new(),
                    accepted.clone(),
                ),
            };
            ResultQuestion {
                number: i + 1,
                prompt_html: q.prompt_html.clone(),
                right: m.right,
                given_choices,
                given_text,
                expected_choices,
                expected_text,
                explanation_html: q.explanation_html.clone(),
            }
        })
        .collect()
}

/// `GET /weeks/{n}/quiz/attempts/{id}`: the result of one attempt, for its author only (404 for anyone else,
/// whether or not it exists). Staff read scores on the learner page.
pub async fn attempt(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let (n, id) = path.into_inner();
    let curriculum = state.curriculum();
    let (week, quiz) = quiz_of(&curriculum, &n)?;
    let row = state
        .store
        .quiz_attempt(id)
        .await?
        .filter(|r| r.user_id == user.id && r.week == i64::from(week.number()))
        .ok_or(WebError::NotFound)?;
    // An attempt whose answers cannot be read still shows its score.
    let responses: Responses = serde_json::from_str(&row.answers).unwrap_or_default();
    let page = ResultPage {
        layout: Layout::new(&state, Some(&user), &csrf),
        week: week.number(),
        title: curriculum
            .module(week)
            .map(|m| m.title.clone())
            .unwrap_or_default(),
        at: format_time(row.created_at),
        correct: row.correct,
        total: row.total,
        percent: percent(row.score),
        questions: marked(&quiz, &responses),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
