//! CSRF protection by the signed double-submit pattern.
//!
//! Every visitor gets a random token in a signed cookie; every state-changing form carries the same token in a
//! hidden field. A cross-site page can make the browser send the cookie but cannot read it, so it cannot put the
//! matching value in the form. Signing stops a sibling subdomain from planting a cookie of its choosing.

use subtle::ConstantTimeEq;

/// The cookie holding the visitor's token.
pub const COOKIE: &str = "gauntlet_csrf";
/// The form field that must repeat it.
pub const FIELD: &str = "csrf_token";

/// A fresh token.
pub fn new_token() -> String {
    super::random_token(24)
}

/// Whether the submitted form value matches the cookie's token, in constant time.
pub fn matches(cookie_token: &str, form_token: &str) -> bool {
    !cookie_token.is_empty()
        && cookie_token.len() == form_token.len()
        && bool::from(cookie_token.as_bytes().ct_eq(form_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        let t = new_token();
        assert!(matches(&t, &t.clone()));
        assert!(!matches(&t, &new_token()));
        assert!(!matches(&t, ""));
        assert!(!matches("", ""));
    }
}
