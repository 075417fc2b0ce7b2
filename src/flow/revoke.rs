//! RFC 7009 token revocation at logout: the refresh token first (revoking it ends the
//! grant at most providers), then the access token. Best effort and bounded in time: a
//! provider that fails or is slow never holds up the logout.

use std::time::Duration;

use crate::context::Context;
use crate::provider::client_auth;
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
    let credentials = client_auth::credentials(&ctx.config, metadata)?;
    let endpoint = metadata.endpoint(
        "revocation_endpoint",
        endpoint,
        ctx.config.transport.mutual_tls(),
    );
    let response = credentials
        .post(
            &ctx.provider.client,
            endpoint,
            &[("token", token), ("token_type_hint", hint)],
        )
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
