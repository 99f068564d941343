//! The staff home (`/admin`), linking what staff manage, and the audit log (`/admin/audit`, admins only), read
//! newest first in pages of [`PAGE`] entries.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::cohorts::html;
use super::runs::format_time;
use super::{AppState, CsrfToken, CurrentUser, Layout, WebError};
use crate::access;

/// Entries per page of the audit log.
const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "pages/admin.html")]
struct AdminPage {
    layout: Layout,
    is_admin: bool,
    cohorts: i64,
    role: String,
}

/// `GET /admin`: staff only.
pub async fn home(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
) -> Result<HttpResponse, WebError> {
    if !access::is_staff(user.viewer()) {
        return Err(WebError::Forbidden);
    }
    let is_admin = access::may_manage_accounts(user.viewer());
    let cohorts = if is_admin {
        state.store.list_cohorts().await?.len()
    } else {
        state.store.cohorts_taught_by(user.id).await?.len()
    };
    let page = AdminPage {
        layout: Layout::new(&state, Some(&user), &csrf),
        is_admin,
        cohorts: i64::try_from(cohorts).unwrap_or(i64::MAX),
        role: user.role.to_string(),
    };
    Ok(html(StatusCode::OK, page.render()?))
}

struct EntryView {
    at: String,
    actor: String,
    action: String,
    target: String,
    details: String,
}

#[derive(Template)]
#[template(path = "pages/admin_audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<EntryView>,
    /// The `before` of the next (older) page, when there is one.
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// `GET /admin/audit?before=ID`: admins only.
pub async fn audit(
    state: web::Data<AppState>,
    user: CurrentUser,
    csrf: CsrfToken,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    if !access::may_manage_accounts(user.viewer()) {
        return Err(WebError::Forbidden);
    }
    // One more than a page tells whether an older page exists.
    let mut rows = state.store.audit_entries(query.before, PAGE + 1).await?;
    let older = if rows.len() as i64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let entries = rows
        .into_iter()
        .map(|r| EntryView {
            at: format_time(r.at),
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: r.details,
        })
        .collect();
    let page = AuditPage {
        layout: Layout::new(&state, Some(&user), &csrf),
        entries,
        older,
    };
    Ok(html(StatusCode::OK, page.render()?))
}
