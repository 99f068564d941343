//! `ApiUser`: the owner of the bearer token a request carries.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use super::ApiError;
use crate::web::{AppState, CurrentUser};

/// A request authenticated by a personal API token.
pub struct ApiUser(pub CurrentUser);

impl FromRequest for ApiUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| ApiError::Internal("no app state".into()))?;
            let token = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(ApiError::Unauthorized)?;
            let hash = crate::auth::session::hash_token(token);
            let user = state
                .store
                .api_token_user(&hash)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            Ok(ApiUser(user.into()))
        })
    }
}
