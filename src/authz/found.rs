//! What the layer leaves on every request it handles, and what handlers and per-route
//! requirements take from it.

use std::sync::Arc;

use super::denied::Denied;
use super::page::{render_denied, AccessDeniedPage};
use crate::identity::Identity;
#[cfg(any(feature = "axum", feature = "actix"))]
use crate::rejection::IdentityRejection;
use crate::response::CoreResponse;
#[cfg(any(feature = "axum", feature = "actix"))]
use crate::user::User;

/// What the layer found for a request: present on every request it handled.
#[derive(Clone, Debug)]
pub(crate) struct Authentication {
    pub(crate) identity: Option<Identity>,
    pub(crate) context: Arc<AuthContext>,
    /// The request's own path and query, as it came: checked only when a step-up sign-in
    /// is to return there, which keeps URL parsing off every other request.
    pub(crate) target: Option<http::uri::PathAndQuery>,
}

impl Authentication {
    /// Where a step-up sign-in returns to: the request's own target, when it is a safe one.
    pub(crate) fn return_to(&self) -> Option<String> {
        self.target
            .as_ref()
            .and_then(|target| crate::redirect::safe_return_to(target.as_str()))
    }
}

/// What per-route checks need from the layer's configuration.
#[derive(Debug)]
pub(crate) struct AuthContext {
    pub(crate) logout_path: String,
    pub(crate) login_path: String,
    pub(crate) denied_page: Option<AccessDeniedPage>,
}

impl AuthContext {
    /// The answer for a signed-in identity a requirement turned away (the log names the
    /// rule), at `return_to`: `403`, except that a denial a stronger or fresher sign-in can
    /// lift sends a browser to sign in again (returning there), and
    /// answers an API client `401 insufficient_user_authentication` (RFC 9470).
    pub(crate) fn deny_at(
        &self,
        identity: &Identity,
        denied: &Denied,
        html: bool,
        return_to: Option<&str>,
        set_cookies: Vec<http::HeaderValue>,
    ) -> CoreResponse {
        if let Some(step_up) = denied.step_up() {
            if !html {
                tracing::info!(user_id = %identity.user_id(), rule = %denied, "step-up required");
                return super::step_up::insufficient(&step_up, set_cookies);
            }
            if let Some(return_to) = return_to {
                tracing::info!(user_id = %identity.user_id(), rule = %denied, "step-up sign-in");
                return super::step_up::sign_in_again(
                    &self.login_path,
                    return_to,
                    &step_up,
                    set_cookies,
                );
            }
        }
        if *denied == Denied::DpopRequired {
            tracing::info!(user_id = %identity.user_id(), "DPoP required");
            let mut response =
                crate::dpop::challenge::required("this route accepts DPoP-bound tokens only");
            for cookie in set_cookies {
                response
                    .headers_mut()
                    .append(http::header::SET_COOKIE, cookie);
            }
            return response;
        }
        tracing::info!(user_id = %identity.user_id(), rule = %denied, "access denied");
        render_denied(
            identity,
            html,
            &self.logout_path,
            self.denied_page.as_ref(),
            set_cookies,
        )
    }
}

/// The identity a handler asked for, from what the layer left in the request extensions.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn required_identity(
    found: Option<&Authentication>,
) -> Result<Identity, IdentityRejection> {
    match found {
        Some(Authentication {
            identity: Some(identity),
            ..
        }) => Ok(identity.clone()),
        Some(_) => Err(IdentityRejection::NotSignedIn),
        None => Err(IdentityRejection::LayerMissing),
    }
}

/// The user-detail hook's user, typed, for the `User<T>` extractors.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn required_user<T>(found: Option<&Authentication>) -> Result<User<T>, IdentityRejection>
where
    T: Send + Sync + 'static,
{
    user_of(&required_identity(found)?)
}

/// Like [`required_user`], but no one signed in is `None` rather than an error; a missing
/// layer or a `T` that is not the hook's type still is one.
#[cfg(feature = "axum")]
pub(crate) fn optional_user<T>(
    found: Option<&Authentication>,
) -> Result<Option<User<T>>, IdentityRejection>
where
    T: Send + Sync + 'static,
{
    optional_identity(found)?
        .map(|identity| user_of(&identity))
        .transpose()
}

#[cfg(any(feature = "axum", feature = "actix"))]
fn user_of<T>(identity: &Identity) -> Result<User<T>, IdentityRejection>
where
    T: Send + Sync + 'static,
{
    identity
        .user::<T>()
        .map(User)
        .ok_or(IdentityRejection::NoUserDetails)
}

/// Like [`required_identity`], but no one signed in is `None` rather than an error.
#[cfg(feature = "axum")]
pub(crate) fn optional_identity(
    found: Option<&Authentication>,
) -> Result<Option<Identity>, IdentityRejection> {
    match found {
        Some(authentication) => Ok(authentication.identity.clone()),
        None => Err(IdentityRejection::LayerMissing),
    }
}
