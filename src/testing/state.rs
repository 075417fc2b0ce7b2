//! The provider's mutable state: knobs, outstanding codes and tokens, and
//! the bookkeeping of what each grant issued.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::tokens::{self, IdTokenFacts, SigningSetup};
use super::{
    ClaimsPlace, EndSessionRequest, LogoutTokenDefect, Misbehavior, MockAlg, MockClientAuth,
    MockStats, MockUser, Revocation,
};

/// The client the mock knows.
pub(crate) const CLIENT_ID: &str = "tower-oidc-test-client";
/// That client's secret.
pub(crate) const CLIENT_SECRET: &str = "tower-oidc-test-secret-0123456789";
/// How long an authorization code can be redeemed.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// One login: what the authorize endpoint approved, shared by every token
/// issued from it (through the code and every refresh).
#[derive(Clone, Debug)]
pub(crate) struct Grant {
    /// Identifies the grant so a code replay can revoke what it issued.
    pub(crate) id: String,
    pub(crate) user: MockUser,
    pub(crate) scope: String,
    /// OP session id (`sid`), fixed for the login.
    pub(crate) sid: String,
    pub(crate) auth_time: u64,
    /// The authentication context class reached (`acr`), if any.
    pub(crate) acr: Option<String>,
    /// The thumbprint of the DPoP key its tokens are bound to: `dpop_jkt` of the
    /// authorization request, then the key of the first token request's proof.
    pub(crate) dpop_jkt: Option<String>,
}

/// An authorization code waiting to be redeemed (or already redeemed, kept
/// so that a replay is recognised).
pub(crate) struct PendingCode {
    pub(crate) grant: Grant,
    pub(crate) nonce: Option<String>,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) expires_at: Instant,
    pub(crate) used: bool,
}

/// A refresh token; rotated ones stay, inactive, so reuse is recognised.
pub(crate) struct RefreshEntry {
    pub(crate) grant: Grant,
    pub(crate) active: bool,
}

/// What userinfo answers for an access token.
pub(crate) struct AccessEntry {
    pub(crate) grant_id: Option<String>,
    pub(crate) user: MockUser,
    /// Unix seconds; `None` when the token has no `exp`.
    pub(crate) expires_at: Option<u64>,
    /// What introspection answers about the token.
    pub(crate) claims: Map<String, Value>,
}

/// Everything behind the provider's mutex.
pub(crate) struct State {
    pub(crate) issuer: String,
    pub(crate) user: MockUser,
    pub(crate) misbehavior: Option<Misbehavior>,
    pub(crate) signing_alg: MockAlg,
    pub(crate) active_rsa: usize,
    pub(crate) access_token_ttl: Duration,
    pub(crate) id_token_ttl: Duration,
    pub(crate) issue_refresh_tokens: bool,
    pub(crate) minimal_id_token: bool,
    pub(crate) client_auth: MockClientAuth,
    pub(crate) available: bool,
    pub(crate) delay: Duration,
    pub(crate) stats: MockStats,
    pub(crate) end_session_requests: Vec<EndSessionRequest>,
    pub(crate) revocations: Vec<Revocation>,
    pub(crate) codes: HashMap<String, PendingCode>,
    pub(crate) refresh_tokens: HashMap<String, RefreshEntry>,
    pub(crate) access_tokens: HashMap<String, AccessEntry>,
    /// Userinfo answers `application/jwt`.
    pub(crate) userinfo_signed: bool,
    /// Aggregated claims and where their references go.
    pub(crate) aggregated_claims: Option<(Map<String, Value>, ClaimsPlace)>,
    /// Distributed claims (served at `/claims_source`) and where their references go.
    pub(crate) distributed_claims: Option<(Map<String, Value>, ClaimsPlace)>,
    /// The access token the distributed claims endpoint accepts.
    pub(crate) claims_source_token: String,
    /// Where logout tokens are posted at RP-initiated logout.
    pub(crate) backchannel_logout_uri: Option<String>,
    pub(crate) logout_token_defect: Option<LogoutTokenDefect>,
    /// What the back-channel logout URI answered, oldest first.
    pub(crate) backchannel_logout_statuses: Vec<u16>,
    /// Users chosen for one login each, by ticket (see [`USER_TICKET_PARAM`]).
    pub(crate) chosen_users: HashMap<String, ChosenUser>,
    /// `prompt=none` is answered `error=login_required`.
    pub(crate) login_required: bool,
    /// Authorization responses name the issuer (RFC 9207 `iss`).
    pub(crate) response_iss: bool,
    /// The `acr` of every login; `None`: the first of the requested `acr_values`.
    pub(crate) acr: Option<String>,
    /// How long ago the user authenticated, for `auth_time`.
    pub(crate) auth_age: Duration,
    /// DPoP proofs at the token endpoint must carry a nonce of these.
    pub(crate) dpop_nonces: Option<crate::dpop::nonce::Nonces>,
}

/// The authorize parameter that names a user chosen for this one login instead of the
/// current user. Tickets come from [`State::choose_user`] and are single-use.
pub(crate) const USER_TICKET_PARAM: &str = "tower_oidc_mock_user";

/// A user waiting for the login its ticket was issued for.
pub(crate) struct ChosenUser {
    pub(crate) user: MockUser,
    pub(crate) expires_at: Instant,
}

impl State {
    pub(crate) fn new(issuer: String) -> Self {
        State {
            issuer,
            user: MockUser::default(),
            misbehavior: None,
            signing_alg: MockAlg::Rs256,
            active_rsa: 0,
            access_token_ttl: Duration::from_secs(300),
            id_token_ttl: Duration::from_secs(300),
            issue_refresh_tokens: true,
            minimal_id_token: false,
            client_auth: MockClientAuth::Any,
            available: true,
            delay: Duration::ZERO,
            stats: MockStats::default(),
            end_session_requests: Vec::new(),
            revocations: Vec::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            access_tokens: HashMap::new(),
            userinfo_signed: false,
            aggregated_claims: None,
            distributed_claims: None,
            claims_source_token: tokens::random_token(),
            backchannel_logout_uri: None,
            logout_token_defect: None,
            backchannel_logout_statuses: Vec::new(),
            chosen_users: HashMap::new(),
            login_required: false,
            response_iss: false,
            acr: None,
            auth_age: Duration::ZERO,
            dpop_nonces: None,
        }
    }

    /// A single-use ticket that makes one authorization request approve `user`.
    pub(crate) fn choose_user(&mut self, user: MockUser) -> String {
        let now = Instant::now();
        self.chosen_users
            .retain(|_, chosen| chosen.expires_at > now);
        let ticket = tokens::random_token();
        self.chosen_users.insert(
            ticket.clone(),
            ChosenUser {
                user,
                expires_at: now + CODE_LIFETIME,
            },
        );
        ticket
    }

    /// The user a ticket was issued for, once; `None` for an unknown or expired ticket.
    pub(crate) fn take_chosen_user(&mut self, ticket: &str) -> Option<MockUser> {
        let chosen = self.chosen_users.remove(ticket)?;
        (chosen.expires_at > Instant::now()).then_some(chosen.user)
    }

    pub(crate) fn signing(&self) -> SigningSetup {
        SigningSetup {
            alg: self.signing_alg,
            active_rsa: self.active_rsa,
            misbehavior: self.misbehavior,
        }
    }

    /// How tokens other than ID and access tokens are signed (logout tokens, signed
    /// userinfo, claims JWTs): with the provider's published keys, so with the configured
    /// algorithm when it is asymmetric, else RS256; no misbehavior.
    pub(crate) fn published_key_signing(&self) -> SigningSetup {
        let alg = match self.signing_alg {
            MockAlg::Es256 => MockAlg::Es256,
            _ => MockAlg::Rs256,
        };
        SigningSetup {
            alg,
            active_rsa: self.active_rsa,
            misbehavior: None,
        }
    }

    /// Starts a login for `user` and returns its authorization code.
    pub(crate) fn new_code(
        &mut self,
        user: MockUser,
        scope: &str,
        nonce: Option<&str>,
        redirect_uri: &str,
        code_challenge: &str,
    ) -> String {
        let now = Instant::now();
        self.codes.retain(|_, pending| pending.expires_at > now);
        let grant = Grant {
            id: tokens::random_token(),
            user,
            scope: scope.to_owned(),
            sid: tokens::random_token(),
            auth_time: tokens::now_unix().saturating_sub(self.auth_age.as_secs()),
            acr: None,
            dpop_jkt: None,
        };
        let code = tokens::random_token();
        self.codes.insert(
            code.clone(),
            PendingCode {
                grant,
                nonce: nonce.map(str::to_owned),
                redirect_uri: redirect_uri.to_owned(),
                code_challenge: code_challenge.to_owned(),
                expires_at: now + CODE_LIFETIME,
                used: false,
            },
        );
        code
    }

    /// RFC 6749 §4.1.2: a replayed code revokes what the code issued.
    pub(crate) fn revoke_grant(&mut self, grant_id: &str) {
        self.access_tokens
            .retain(|_, entry| entry.grant_id.as_deref() != Some(grant_id));
        for entry in self.refresh_tokens.values_mut() {
            if entry.grant.id == grant_id {
                entry.active = false;
            }
        }
    }

    /// The token endpoint's JSON answer for `grant`.
    pub(crate) fn token_response(
        &mut self,
        grant: &Grant,
        nonce: Option<&str>,
        scope: &str,
        with_refresh_token: bool,
    ) -> Value {
        let access_token = self.issue_access_token(grant, scope);
        let mut response = Map::new();
        response.insert("access_token".into(), json!(access_token));
        let token_type = if grant.dpop_jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        };
        response.insert("token_type".into(), json!(token_type));
        response.insert("expires_in".into(), json!(self.access_token_ttl.as_secs()));
        if self.misbehavior != Some(Misbehavior::OmitIdToken) {
            response.insert("id_token".into(), json!(self.issue_id_token(grant, nonce)));
        }
        if with_refresh_token {
            let refresh_token = tokens::random_token();
            self.refresh_tokens.insert(
                refresh_token.clone(),
                RefreshEntry {
                    grant: grant.clone(),
                    active: true,
                },
            );
            response.insert("refresh_token".into(), json!(refresh_token));
        }
        response.insert("scope".into(), json!(scope));
        Value::Object(response)
    }

    fn issue_id_token(&self, grant: &Grant, nonce: Option<&str>) -> String {
        let facts = IdTokenFacts {
            issuer: &self.issuer,
            client_id: CLIENT_ID,
            user: &grant.user,
            nonce,
            sid: &grant.sid,
            auth_time: grant.auth_time,
            acr: grant.acr.as_deref(),
            ttl: self.id_token_ttl,
            minimal: self.minimal_id_token,
        };
        let mut claims = tokens::id_token_claims(&facts, self.misbehavior, tokens::now_unix());
        if let Value::Object(claims) = &mut claims {
            super::claims::add_references(self, ClaimsPlace::IdToken, claims);
        }
        tokens::sign(&self.signing(), "JWT", &claims)
    }

    fn issue_access_token(&mut self, grant: &Grant, scope: &str) -> String {
        let mut claims = tokens::access_token_claims(
            &self.issuer,
            CLIENT_ID,
            &grant.user.sub,
            scope,
            self.access_token_ttl,
            tokens::now_unix(),
        );
        if let Some(jkt) = &grant.dpop_jkt {
            claims.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        self.sign_access_token(Some(grant.id.clone()), grant.user.clone(), claims)
    }

    /// Signs an access token and remembers it for userinfo.
    pub(crate) fn sign_access_token(
        &mut self,
        grant_id: Option<String>,
        user: MockUser,
        claims: Map<String, Value>,
    ) -> String {
        let now = tokens::now_unix();
        self.access_tokens
            .retain(|_, entry| entry.expires_at.is_none_or(|exp| exp > now));
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        let token = tokens::sign(&self.signing(), "at+jwt", &Value::Object(claims.clone()));
        self.remember_access_token(token.clone(), grant_id, user, claims, expires_at);
        token
    }

    /// Records an issued access token for userinfo and introspection.
    pub(crate) fn remember_access_token(
        &mut self,
        token: String,
        grant_id: Option<String>,
        user: MockUser,
        claims: Map<String, Value>,
        expires_at: Option<u64>,
    ) {
        self.access_tokens.insert(
            token,
            AccessEntry {
                grant_id,
                user,
                expires_at,
                claims,
            },
        );
    }

    /// The user a refreshed grant speaks for: the current user if it is the
    /// same person (so profile edits show), else the one who logged in.
    pub(crate) fn refreshed_user(&self, grant_user: &MockUser) -> MockUser {
        if self.user.sub == grant_user.sub {
            self.user.clone()
        } else {
            grant_user.clone()
        }
    }
}
