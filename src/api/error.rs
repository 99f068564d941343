//! API errors: a status and a JSON body `{"error": {"code": "...", "message": "..."}}` a program can branch on
//! and a person can read.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API token: create one on your profile page and send it as `Authorization: Bearer <token>`")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadUpload(String),
    #[error("{0}")]
    TooLarge(String),
    /// The learner is at the cap on live runs (429).
    #[error("{0}")]
    TooManyRuns(String),
    /// The lab's week is not open to the learner yet (403, the message says when it opens).
    #[error("{0}")]
    WeekClosed(String),
    /// A request a program must fix (422); the message says what.
    #[error("{0}")]
    Invalid(String),
    /// Refused because of the server's state (409), e.g. a re-grade of the lab for the cohort still running.
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound => "not_found",
            ApiError::BadUpload(_) => "bad_upload",
            ApiError::TooLarge(_) => "too_large",
            ApiError::TooManyRuns(_) => "too_many_runs",
            ApiError::WeekClosed(_) => "week_closed",
            ApiError::Invalid(_) => "invalid",
            ApiError::Conflict(_) => "conflict",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadUpload(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRuns(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::WeekClosed(_) => StatusCode::FORBIDDEN,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(why) = self {
            tracing::error!(error = %why, "API request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            res.insert_header(("WWW-Authenticate", "Bearer"));
        }
        res.json(
            serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } }),
        )
    }
}
