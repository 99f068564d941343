//! The schedule part of a cohort's page: its start date, its weeks' openings and labs' due dates (the course's
//! offsets or the cohort's own), the weeks opened early for one learner, and the three forms that change them.
//! Access is the cohort page's (`crate::access::may_manage_cohort`); the store audits every change.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::cohorts::{managed, render_page};
use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, WebError};
use crate::curriculum::Curriculum;
use crate::domain::Week;
use crate::schedule::{self, CohortDates, ScheduleItem};
use crate::store::{Actor, CohortRow, EarlyWeekRow};

/// One row of the schedule table: a week's opening or a lab's due date.
pub struct DateRow {
    /// The form's value for this item: `week:3` or `lab:w03-x`.
    pub key: String,
    pub label: String,
    pub when: String,
    /// Whether the cohort set this date itself (rather than the course's offset).
    pub own: bool,
}

/// What the cohort page shows of the schedule.
pub struct ScheduleView {
    /// The start as a `date` field's value, empty for none.
    pub start_input: String,
    pub start: Option<String>,
    pub rows: Vec<DateRow>,
    pub early: Vec<(String, i64, String)>,
    /// Weeks for the early-opening form's list.
    pub weeks: Vec<u8>,
}

impl ScheduleView {
    pub fn new(
        curriculum: &Curriculum,
        cohort: &CohortRow,
        dates: Option<&CohortDates>,
        early: &[EarlyWeekRow],
    ) -> ScheduleView {
        let course = &curriculum.course.schedule;
        let mut rows = Vec::new();
        for m in &curriculum.modules {
            rows.push(DateRow {
                key: format!("week:{}", m.week),
                label: format!("Week {} opens", m.week),
                when: dates.map_or_else(
                    || format!("day {} of the course", course.opens_day(m.week)),
                    |d| format_time(schedule::week_opens_at(course, d, m.week)),
                ),
                own: dates.is_some_and(|d| d.weeks.contains_key(&m.week)),
            });
            for lab in curriculum.labs_of(m) {
                rows.push(DateRow {
                    key: format!("lab:{}", lab.id),
                    label: format!("{} due", lab.title),
                    when: dates.map_or_else(
                        || {
                            format!(
                                "{} day(s) after its week opens",
                                course.due_days_of(&lab.id)
                            )
                        },
                        |d| format_time(schedule::lab_due_at(course, d, &lab.id, lab.week)),
                    ),
                    own: dates.is_some_and(|d| d.labs.contains_key(&lab.id)),
                });
            }
        }
        ScheduleView {
            start_input: cohort
                .starts_at
                .map(|ms| format_time(ms).chars().take(10).collect())
                .unwrap_or_default(),
            start: cohort.starts_at.map(format_time),
            rows,
            early: early
                .iter()
                .map(|e| (e.email.clone(), e.week, format_time(e.opened_at)))
                .collect(),
            weeks: Week::all().map(Week::number).collect(),
        }
    }
}

fn actor(user: &CurrentUser) -> Actor {
    Actor::user(user.id, &user.email)
}

fn back_to(id: i64) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/cohorts/{id}#schedule-heading")))
        .finish()
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    starts: String,
}

/// `POST /cohorts/{id}/schedule/start`: the cohort's start date (UTC); empty clears it, which opens every week.
pub async fn start(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let starts = match schedule::parse_date(&form.starts) {
        Ok(s) => s,
        Err(e) => return render_page(&state, &user, &csrf, &cohort, Some(e.to_string())).await,
    };
    state
        .store
        .set_cohort_start(&actor(&user), cohort.id, starts)
        .await?;
    Ok(back_to(cohort.id))
}

#[derive(Deserialize)]
pub struct DateForm {
    #[serde(default)]
    csrf_token: String,
    /// `week:N` or `lab:ID`.
    item: String,
    #[serde(default)]
    at: String,
}

/// What a date form names, if it names a week of the course or one of its labs.
fn item_named(curriculum: &Curriculum, key: &str) -> Option<ScheduleItem> {
    let (kind, item) = key.split_once(':')?;
    let parsed = ScheduleItem::from_key(kind, item)?;
    match &parsed {
        ScheduleItem::Lab(id) if curriculum.lab(id).is_none() => None,
        _ => Some(parsed),
    }
}

/// `POST /cohorts/{id}/schedule/date`: a week's opening or a lab's due date for this cohort; empty goes back to
/// the course's offset.
pub async fn date(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<DateForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let Some(item) = item_named(&state.curriculum(), &form.item) else {
        let why = format!("`{}` is not a week or a lab of this course", form.item);
        return render_page(&state, &user, &csrf, &cohort, Some(why)).await;
    };
    let at = match schedule::parse_date(&form.at) {
        Ok(at) => at,
        Err(e) => return render_page(&state, &user, &csrf, &cohort, Some(e.to_string())).await,
    };
    state
        .store
        .set_cohort_date(&actor(&user), cohort.id, &item, at)
        .await?;
    Ok(back_to(cohort.id))
}

#[derive(Deserialize)]
pub struct EarlyForm {
    #[serde(default)]
    csrf_token: String,
    email: String,
    week: i64,
}

/// `POST /cohorts/{id}/schedule/early`: opens one week now for one learner of this cohort.
pub async fn early(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    path: web::Path<i64>,
    form: web::Form<EarlyForm>,
) -> Result<HttpResponse, WebError> {
    csrf.verify(&form.csrf_token)?;
    let cohort = managed(&state, &user, *path).await?;
    let week = match Week::parse(form.week) {
        Ok(w) => w,
        Err(e) => return render_page(&state, &user, &csrf, &cohort, Some(e.to_string())).await,
    };
    let email = form.email.trim().to_lowercase();
    match state
        .store
        .open_week_early(&actor(&user), cohort.id, &email, week)
        .await
    {
        Ok(()) => Ok(back_to(cohort.id)),
        Err(crate::store::StaffError::Store(e)) => Err(e.into()),
        Err(e) => render_page(&state, &user, &csrf, &cohort, Some(e.to_string())).await,
    }
}
