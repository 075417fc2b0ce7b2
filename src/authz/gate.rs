//! The per-route check both framework adapters run: the same answers on axum and actix-web.

use crate::identity::Authentication;
use crate::rejection::IdentityRejection;
use crate::request::accepts_html;
use crate::response::CoreResponse;

use super::Require;

/// Lets a request through `require`, or says what to answer instead: `500` JSON when the
/// layer did not handle the request (a setup mistake, as the extractors answer it), `401`
/// when no one is signed in, `403` (a page when `accept` takes HTML) when the signed-in
/// identity fails a rule. `accept` holds every `Accept` header value; it is read only on
/// a denial.
pub(crate) fn gate<'a>(
    found: Option<&Authentication>,
    require: &Require,
    accept: impl IntoIterator<Item = &'a [u8]>,
) -> Result<(), CoreResponse> {
    let Some(authentication) = found else {
        return Err(IdentityRejection::LayerMissing.to_response());
    };
    let Some(identity) = &authentication.identity else {
        return Err(IdentityRejection::NotSignedIn.to_response());
    };
    require.check(identity).map_err(|denied| {
        authentication
            .context
            .deny(identity, &denied, accepts_html(accept), Vec::new())
    })
}
