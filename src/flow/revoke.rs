//! RFC 7009 token revocation at logout: the refresh token first (revoking it ends the
//! grant at most providers), then the access token. Best effort and bounded in time: a
//! provider that fails or is slow never holds up the logout.

use std::time::Duration;

use oauth2::AuthType;

use crate::context::Context;
use crate::provider::metadata::ProviderMetadata;
use crate::session::SessionData;

/// How long all revocations of one logout may take together.
pub(crate) const REVOCATION_BUDGET: Duration = Duration::from_secs(2);

/// Revokes the tokens `session` holds at the provider's revocation endpoint, if it has
/// one. Failures are logged, never returned.
pub(crate) async fn revoke_tokens(ctx: &Context, session: &SessionData) {
    if session.bearer {
        return;
    }
    let tokens: Vec<(&str, &'static str)> = [
        (session.refresh_token.as_deref(), "refresh_token"),
        (session.access_token.as_deref(), "access_token"),
    ]
    .into_iter()
    .filter_map(|(token, hint)| token.map(|token| (token, hint)))
    .collect();
    if tokens.is_empty() {
        return;
    }
    let Some(metadata) = ctx.provider.cached_metadata() else {
        return;
    };
    let Some(endpoint) = metadata.revocation_endpoint.clone() else {
        return;
    };
    let all = async {
        for (token, hint) in tokens {
            if let Err(reason) = revoke(ctx, &metadata, &endpoint, token, hint).await {
                tracing::warn!(%reason, token_type = hint, "token revocation failed");
            }
        }
    };
    if tokio::time::timeout(REVOCATION_BUDGET, all).await.is_err() {
        tracing::warn!("token revocation timed out");
    }
}

/// One revocation request, authenticated as the token endpoint is.
async fn revoke(
    ctx: &Context,
    metadata: &ProviderMetadata,
    endpoint: &url::Url,
    token: &str,
    hint: &str,
) -> Result<(), String> {
    let config = &ctx.config;
    let basic = config.client_secret.is_some()
        && matches!(
            super::oauth::auth_type(config, metadata),
            AuthType::BasicAuth
        );
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token);
        form.append_pair("token_type_hint", hint);
        if !basic {
            form.append_pair("client_id", &config.client_id);
            if let Some(secret) = &config.client_secret {
                form.append_pair("client_secret", secret.expose());
            }
        }
        form.finish()
    };
    let mut request = ctx
        .provider
        .client
        .post(endpoint.as_str())
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body);
    if basic {
        if let Some(secret) = &config.client_secret {
            request = request.basic_auth(
                form_encoded(&config.client_id),
                Some(form_encoded(secret.expose())),
            );
        }
    }
    let response = request
        .send()
        .await
        .map_err(|err| err.without_url().to_string())?;
    // RFC 7009 §2.2: 200 whether or not the token was still valid.
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the revocation endpoint answered {}",
            response.status()
        ))
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded first.
fn form_encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
