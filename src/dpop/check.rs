//! A request with a DPoP credential, as a resource server sees it: the proof checked at
//! once (one signature verification), its `jti` used once, and the token (verified, or
//! from the bearer cache) bound to the proof's key.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::binding::{self, Binding};
use super::challenge;
use super::credential::DpopCredential;
use super::nonce::Nonces;
use super::proof::{self, Expected, ProofError, Proven};
use crate::bearer::BearerError;
use crate::config::SessionBackend;
use crate::context::{Context, StoreVerdict};
use crate::identity::Identity;
use crate::outcome::{Outcome, Step};
use crate::request::RequestView;
use crate::session::expiring_set::ExpiringSet;
use crate::session::SessionData;

/// Proof `jti`s remembered at most in this process.
const USED_JTIS: usize = 100_000;

/// What the layer keeps for DPoP between requests.
pub(crate) struct DpopState {
    /// `jti`s of accepted proofs, per key, while their `iat` could still pass.
    used_jtis: ExpiringSet,
    /// Set when proofs must carry our nonce.
    nonces: Option<Nonces>,
}

impl DpopState {
    pub(crate) fn new(config: &crate::config::Config) -> Self {
        Self {
            used_jtis: ExpiringSet::new(USED_JTIS),
            nonces: config
                .dpop
                .nonces
                .then(|| Nonces::new(config.cookie_key.master())),
        }
    }
}

/// Work left once the proof passed: the store's word on its `jti`, the token's check.
pub(crate) struct DpopCheck {
    token: String,
    proven: Proven,
    jti_checked: bool,
}

/// A request with `Authorization: DPoP`, when DPoP is on; `None` leaves the request to the
/// other credentials.
pub(crate) fn from_request(ctx: &Context, request: &RequestView<'_>) -> Option<Step<DpopCheck>> {
    if ctx.config.dpop.mode == super::DpopMode::Off {
        return None;
    }
    match super::credential::from_headers(request.headers) {
        DpopCredential::Absent => None,
        DpopCredential::Malformed(reason) => Some(refuse(challenge::invalid_proof(reason))),
        DpopCredential::Present { token, proof } => Some(decide(ctx, request, token, proof)),
    }
}

/// Checks the proof now, and the token when the bearer cache knows it.
fn decide(ctx: &Context, request: &RequestView<'_>, token: &str, proof: &str) -> Step<DpopCheck> {
    let config = &ctx.config;
    let Some(url) = super::htu::expected(config, request) else {
        return refuse(challenge::invalid_proof(
            "the request has no valid Host to check htu against",
        ));
    };
    let now = crate::session::now();
    let expected = Expected {
        method: request.method.as_str(),
        url: &url,
        token: Some(token),
        now,
        options: &config.dpop,
        nonces: ctx.dpop.nonces.as_ref(),
    };
    let proven = match proof::verify(proof, &expected) {
        Ok(proven) => proven,
        Err(ProofError::Invalid(reason)) => return refuse(challenge::invalid_proof(reason)),
        Err(ProofError::NonceRequired) => {
            let nonce = ctx
                .dpop
                .nonces
                .as_ref()
                .map(|nonces| nonces.issue(now))
                .unwrap_or_default();
            return refuse(challenge::use_nonce(&nonce));
        }
    };
    let store_decides = matches!(config.session, SessionBackend::Store(_))
        && ctx.store_keeps_used_keys.load(Ordering::Relaxed);
    if !store_decides && !first_use_here(ctx, &proven, now) {
        return refuse(challenge::invalid_proof("the proof was used before (jti)"));
    }
    match ctx.bearer_cache.get(token, now) {
        Some(session) if !store_decides => Step::Done(bind(ctx, session, &proven)),
        _ => Step::Wait(DpopCheck {
            token: token.to_owned(),
            proven,
            jti_checked: !store_decides,
        }),
    }
}

impl DpopCheck {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        if !self.jti_checked {
            let replayed = match ctx
                .first_use_of_dpop_proof(&self.proven.jkt, &self.proven.jti)
                .await
            {
                StoreVerdict::First => false,
                StoreVerdict::Replayed => true,
                StoreVerdict::NotKept => !first_use_here(ctx, &self.proven, crate::session::now()),
                StoreVerdict::Failed(err) => {
                    tracing::warn!(error = %err, "DPoP proof: its jti could not be checked");
                    return Outcome::Respond(crate::flow::bearer::reject(
                        BearerError::Unavailable(
                            "the proof's single use cannot be checked right now".into(),
                        ),
                    ));
                }
            };
            if replayed {
                return Outcome::Respond(challenge::invalid_proof(
                    "the proof was used before (jti)",
                ));
            }
        }
        let now = crate::session::now();
        let session = match ctx.bearer_cache.get(&self.token, now) {
            Some(session) => session,
            None => match crate::flow::bearer::verify(ctx, &self.token).await {
                Ok(session) => {
                    let session = Arc::new(session);
                    ctx.bearer_cache
                        .insert(&self.token, Arc::clone(&session), now);
                    session
                }
                Err(BearerError::Invalid(reason)) => {
                    return Outcome::Respond(challenge::invalid_token(&reason))
                }
                Err(err) => return Outcome::Respond(crate::flow::bearer::reject(err)),
            },
        };
        bind(ctx, session, &self.proven)
    }
}

/// Records the proof's `jti` in this process; `false` when it was there already.
fn first_use_here(ctx: &Context, proven: &Proven, now: u64) -> bool {
    let key = format!("{}:{}", proven.jkt, proven.jti);
    let expires = now.saturating_add(ctx.config.dpop.jti_lifetime_secs());
    ctx.dpop.used_jtis.insert(&key, now, expires) == Some(true)
}

/// The token must be bound to the proof's key.
fn bind(ctx: &Context, session: Arc<SessionData>, proven: &Proven) -> Outcome {
    match binding::of(&session.claims) {
        Binding::Jkt(jkt) if jkt == proven.jkt => {
            tracing::debug!(user_id = %session.user_id, "DPoP-bound token accepted");
            Outcome::signed_in(ctx.identity(session))
        }
        Binding::Jkt(_) => Outcome::Respond(challenge::invalid_token(
            "the token is bound to another key than the proof's (cnf.jkt)",
        )),
        Binding::Unbound | Binding::Unverifiable => Outcome::Respond(challenge::invalid_token(
            "the token is not bound to a DPoP key (cnf.jkt)",
        )),
    }
}

fn refuse(response: crate::response::CoreResponse) -> Step<DpopCheck> {
    Step::Done(Outcome::Respond(response))
}

/// Whether `identity` came from a DPoP-bound token whose proof passed: a bound token is
/// accepted in no other way.
pub(crate) fn proved(identity: &Identity) -> bool {
    identity.is_bearer() && matches!(binding::of(identity.claims()), Binding::Jkt(_))
}
