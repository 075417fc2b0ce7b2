//! The identity every request gets while authentication is off (development only).

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::config::DevelopmentUser;
use crate::session::{now, random_id, SessionData};

/// The identity every request gets, once the hook has loaded its user.
pub(crate) struct DevelopmentSession {
    pub(crate) user: Arc<DevelopmentUser>,
    pub(crate) session: OnceCell<Arc<SessionData>>,
}

impl DevelopmentSession {
    /// Without a user-detail hook the session is complete at once; with one, the first
    /// request loads its user.
    pub(crate) fn new(user: Arc<DevelopmentUser>, has_hook: bool) -> Self {
        let complete = (!has_hook).then(|| Arc::new(session_data(&user)));
        Self {
            user,
            session: OnceCell::new_with(complete),
        }
    }
}

pub(crate) fn session_data(user: &DevelopmentUser) -> SessionData {
    let now = now();
    SessionData {
        sid: random_id(),
        user_id: user.user_id.clone(),
        claims: user.claims.clone(),
        id_token: None,
        access_token: None,
        refresh_token: None,
        access_expires_at: None,
        created_at: now,
        expires_at: u64::MAX,
        user: None,
        user_loaded_at: None,
        last_seen: None,
        dpop_key: None,
        provider: None,
        bearer: false,
        typed_user: Default::default(),
    }
}
