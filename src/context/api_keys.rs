//! Ending a user's API keys with their sessions.

/// Revokes every key of `user_id` when keys end with sessions; how many.
pub(crate) async fn end_for_user(
    ctx: &crate::context::Context,
    user_id: &str,
) -> Result<usize, crate::store::StoreError> {
    let Some(keys) = ctx.config.api_keys.as_deref() else {
        return Ok(0);
    };
    if !keys.end_with_sessions {
        return Ok(0);
    }
    let revoked = keys.store.revoke_all(user_id).await?;
    keys.identities.forget_user(user_id);
    tracing::info!(user_id, revoked, "API keys of the user revoked");
    Ok(revoked)
}
