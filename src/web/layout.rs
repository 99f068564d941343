//! What the base layout of every page needs: who is signed in, the CSRF token for the sign-out form, and the
//! asset version for cache-busting URLs.

use super::{AppState, CsrfToken, CurrentUser};

/// The frame around every page.
pub struct Layout {
    pub user_name: Option<String>,
    pub is_staff: bool,
    pub csrf: String,
    pub asset_version: String,
    pub course_title: String,
}

impl Layout {
    pub fn new(state: &AppState, user: Option<&CurrentUser>, csrf: &CsrfToken) -> Layout {
        Layout {
            user_name: user.map(|u| u.display_name.clone()),
            is_staff: user.is_some_and(|u| u.role.is_staff()),
            csrf: csrf.0.clone(),
            asset_version: state.asset_version.clone(),
            course_title: state.curriculum().course.title.clone(),
        }
    }
}
