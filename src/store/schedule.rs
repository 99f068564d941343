//! A cohort's schedule as stored: its start date, the openings and due dates it moved, and the weeks opened
//! early for one learner. Every change is audited in its own transaction; the rules that read these dates are
//! `crate::schedule`'s.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::audit::{self, Actor};
use super::{Result, StaffError, Store, StoreError};
use crate::domain::Week;
use crate::schedule::{CohortDates, LearnerPlan, ScheduleItem};

/// A week opened early for one learner, for listing on the cohort page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EarlyWeekRow {
    pub email: String,
    pub week: i64,
    pub opened_at: i64,
}

impl Store {
    /// The learner's schedule: their cohort's dates when they are a learner in a cohort with a start date, and
    /// the weeks opened early for them. Staff get an empty plan: everything is open to them.
    pub async fn learner_plan(&self, user_id: i64) -> Result<LearnerPlan> {
        let row: Option<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT u.role, c.id, c.starts_at FROM users u LEFT JOIN cohorts c ON c.id = u.cohort_id
             WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        let Some((role, Some(cohort_id), Some(_))) = row else {
            return Ok(LearnerPlan::default());
        };
        if role != "learner" {
            return Ok(LearnerPlan::default());
        }
        let weeks: Vec<(i64,)> = sqlx::query_as("SELECT week FROM early_weeks WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        Ok(LearnerPlan {
            cohort: self.cohort_dates(cohort_id).await?,
            early: weeks
                .into_iter()
                .filter_map(|(w,)| Week::parse(w).ok())
                .collect::<BTreeSet<_>>(),
        })
    }

    /// The cohort's dates, `None` when it has no start date (nothing scheduled).
    pub async fn cohort_dates(&self, cohort_id: i64) -> Result<Option<CohortDates>> {
        let start: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT starts_at FROM cohorts WHERE id = $1")
                .bind(cohort_id)
                .fetch_optional(self.pool())
                .await?;
        let Some((Some(starts_at),)) = start else {
            return Ok(None);
        };
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT kind, item, at FROM cohort_schedule WHERE cohort_id = $1")
                .bind(cohort_id)
                .fetch_all(self.pool())
                .await?;
        let mut dates = CohortDates {
            starts_at,
            weeks: BTreeMap::new(),
            labs: BTreeMap::new(),
        };
        for (kind, item, at) in rows {
            match ScheduleItem::from_key(&kind, &item) {
                Some(ScheduleItem::Week(w)) => {
                    dates.weeks.insert(w, at);
                }
                Some(ScheduleItem::Lab(l)) => {
                    dates.labs.insert(l, at);
                }
                // A lab since removed from the course: its date no longer applies.
                None => {}
            }
        }
        Ok(Some(dates))
    }

    /// Sets (or, with `None`, clears) the cohort's start date (audited with the old and new dates).
    pub async fn set_cohort_start(
        &self,
        actor: &Actor,
        cohort_id: i64,
        starts_at: Option<i64>,
    ) -> Result<()> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let row: Option<(String, Option<i64>)> =
            sqlx::query_as("SELECT name, starts_at FROM cohorts WHERE id = $1")
                .bind(cohort_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (name, old) = row.ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE cohorts SET starts_at = $1 WHERE id = $2")
            .bind(starts_at)
            .bind(cohort_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            now,
            actor,
            "schedule.start",
            &format!("cohort {name}"),
            json!({"cohort_id": cohort_id, "from": old, "to": starts_at}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a week's opening or a lab's due date for the cohort to `at`, or back to the course's offset with
    /// `None` (audited).
    pub async fn set_cohort_date(
        &self,
        actor: &Actor,
        cohort_id: i64,
        item: &ScheduleItem,
        at: Option<i64>,
    ) -> Result<()> {
        let now = self.now();
        let (kind, key) = item.key();
        let mut tx = self.pool().begin().await?;
        let row: Option<(String,)> = sqlx::query_as("SELECT name FROM cohorts WHERE id = $1")
            .bind(cohort_id)
            .fetch_optional(&mut *tx)
            .await?;
        let (name,) = row.ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM cohort_schedule WHERE cohort_id = $1 AND kind = $2 AND item = $3")
            .bind(cohort_id)
            .bind(kind)
            .bind(key.as_str())
            .execute(&mut *tx)
            .await?;
        if let Some(at) = at {
            sqlx::query(
                "INSERT INTO cohort_schedule (cohort_id, kind, item, at) VALUES ($1, $2, $3, $4)",
            )
            .bind(cohort_id)
            .bind(kind)
            .bind(key.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            now,
            actor,
            "schedule.date",
            &format!("cohort {name}"),
            json!({"cohort_id": cohort_id, "kind": kind, "item": key, "at": at}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Opens `week` early for the learner `email` of the cohort `cohort_id` (audited); opening it twice is not
    /// an error. Refused for anyone who is not a learner of that cohort.
    pub async fn open_week_early(
        &self,
        actor: &Actor,
        cohort_id: i64,
        email: &str,
        week: Week,
    ) -> std::result::Result<(), StaffError> {
        let now = self.now();
        let mut tx = self.pool().begin().await?;
        let user: Option<(i64, String, Option<i64>)> =
            sqlx::query_as("SELECT id, role, cohort_id FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&mut *tx)
                .await?;
        let (user_id, role, cohort) = user.ok_or_else(|| StaffError::NoAccount(email.into()))?;
        if role != "learner" || cohort != Some(cohort_id) {
            return Err(StaffError::NotInCohort(email.to_string()));
        }
        let added = sqlx::query(
            "INSERT INTO early_weeks (user_id, week, opened_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, week) DO NOTHING",
        )
        .bind(user_id)
        .bind(i64::from(week.number()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if added.rows_affected() > 0 {
            audit::record(
                &mut tx,
                now,
                actor,
                "schedule.open_early",
                &format!("user {email}"),
                json!({"user_id": user_id, "cohort_id": cohort_id, "week": week.number()}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The weeks opened early for the cohort's learners, by learner then week.
    pub async fn early_weeks_in(&self, cohort_id: i64) -> Result<Vec<EarlyWeekRow>> {
        Ok(sqlx::query_as(
            "SELECT u.email, e.week, e.opened_at FROM early_weeks e JOIN users u ON u.id = e.user_id
             WHERE u.cohort_id = $1 ORDER BY u.email, e.week",
        )
        .bind(cohort_id)
        .fetch_all(self.pool())
        .await?)
    }
}
