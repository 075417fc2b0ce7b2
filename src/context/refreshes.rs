//! Single-flight token refreshes: one provider call per session and refresh token, its
//! outcome shared by every request that arrives while it runs or shortly after.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderValue;
use tokio::sync::OnceCell;

use crate::session::SessionData;

/// Outcomes stay this long so requests still carrying the old cookie reuse them instead of
/// presenting a refresh token the provider has already rotated away.
const OUTCOME_TTL: Duration = Duration::from_secs(60);

/// How one refresh ended.
#[derive(Clone)]
pub(crate) enum RefreshOutcome {
    Refreshed {
        session: Arc<SessionData>,
        cookies: Vec<HeaderValue>,
    },
    /// The provider refused the refresh token: the session is over.
    Rejected,
    /// The provider could not be asked; the session goes on with the token it has.
    Unavailable,
    /// The session ended (a logout) while the refresh was under way: the logout wins.
    Ended,
}

pub(crate) type RefreshCell = Arc<OnceCell<RefreshOutcome>>;

/// Single-flight refreshes keyed by session and refresh token.
#[derive(Default)]
pub(crate) struct RefreshGate {
    cells: Mutex<HashMap<String, (Instant, RefreshCell)>>,
}

impl RefreshGate {
    /// The cell every request refreshing `key` shares.
    pub(crate) fn cell(&self, key: String) -> RefreshCell {
        let Ok(mut cells) = self.cells.lock() else {
            return Arc::new(OnceCell::new());
        };
        cells.retain(|_, (created, _)| created.elapsed() < OUTCOME_TTL);
        Arc::clone(
            &cells
                .entry(key)
                .or_insert_with(|| (Instant::now(), Arc::new(OnceCell::new())))
                .1,
        )
    }
}
