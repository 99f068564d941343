//! `/admin/curriculum`, for admins: which course the server holds (its version, when and by whom it was loaded),
//! the last refused reload's problems with file and line, and the button that reloads the course from its
//! folders without a restart (`crate::reload`; SIGHUP does the same).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::cohorts::html;
use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;
use crate::reload::Outcome;
use crate::store::Actor;

struct ProblemView {
    file: String,
    line: String,
    message: String,
}

struct FailedView {
    at: String,
    by: String,
    /// Whether the live course was loaded after this attempt (the problems may be fixed).
    superseded: bool,
    problems: Vec<ProblemView>,
}

#[derive(Template)]
#[template(path = "pages/admin_curriculum.html")]
struct CurriculumPage {
    layout: Layout,
    title: String,
    version: String,
    labs: usize,
    loaded_at: String,
    loaded_by: String,
    failed: Option<FailedView>,
    /// What the reload just done did, on the POST's answer.
    notice: Option<String>,
    /// Whether that reload was refused.
    refused: bool,
}

#[derive(Deserialize)]
pub struct ReloadForm {
    #[serde(default)]
    csrf_token: String,
}

fn admin_only(user: &CurrentUser) -> Result<(), WebError> {
    if access::may_reload_curriculum(user.viewer()) {
        Ok(())
    } else {
        Err(WebError::Forbidden)
    }
}

/// `GET /admin/curriculum`.
pub async fn page(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    admin_only(&user)?;
    render(&state, &user, &csrf, StatusCode::OK, None)
}

/// `POST /admin/curriculum/reload`: reloads, then shows the page with the outcome (422 when refused).
pub async fn reload(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    form: web::Form<ReloadForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    admin_only(&user)?;
    let by = Actor::user(user.id, &user.email);
    let (status, notice) = match state.reloader.reload(&state.store, &by).await {
        Ok(Outcome::Replaced {
            changed_labs,
            runs_moved,
            ..
        }) => {
            state.grading.wake();
            let labs = if changed_labs.is_empty() {
                "no lab's files changed".to_string()
            } else {
                format!("labs changed: {}", changed_labs.join(", "))
            };
            (
                StatusCode::OK,
                format!("The course was reloaded; {labs}; {runs_moved} waiting run(s) moved to the new files."),
            )
        }
        Ok(Outcome::Kept { problems }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Nothing changed: the files have {} problem(s), listed below. The course as it was stays live.",
                problems.len()
            ),
        ),
        Err(e) => {
            return Err(WebError::Refused {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                title: "The course could not be reloaded",
                message: format!("{e}"),
            })
        }
    };
    render(&state, &user, &csrf, status, Some(notice))
}

fn render(
    state: &AppState,
    user: &CurrentUser,
    csrf: &CsrfToken,
    status: StatusCode,
    notice: Option<String>,
) -> Result<HttpResponse, WebError> {
    let course = state.curriculum();
    let live = state.reloader.status();
    let failed = live.failed.map(|f| FailedView {
        at: format_time(f.at),
        by: f.by,
        superseded: f.at < live.loaded.at,
        problems: f
            .problems
            .into_iter()
            .map(|d| ProblemView {
                file: relative(&d.path, &course),
                line: d.line.map(|l| l.to_string()).unwrap_or_default(),
                message: d.message,
            })
            .collect(),
    });
    let page = CurriculumPage {
        layout: Layout::new(state, Some(user), csrf),
        title: course.course.title.clone(),
        version: course.course_version.short().to_string(),
        labs: course.labs.len(),
        loaded_at: format_time(live.loaded.at),
        loaded_by: live.loaded.by,
        failed,
        notice,
        refused: status != StatusCode::OK,
    };
    Ok(html(status, page.render()?))
}

/// A problem's file as an author knows it: relative to the folder above the curriculum and labs folders when it
/// is inside one of them (`curriculum/week-01/module.md`), else as loaded.
fn relative(path: &std::path::Path, course: &crate::curriculum::Curriculum) -> String {
    for root in [&course.curriculum_dir, &course.labs_dir] {
        let base = root.parent().unwrap_or(root.as_path());
        if let Ok(rest) = path.strip_prefix(base) {
            return rest.display().to_string();
        }
    }
    path.display().to_string()
}
