//! The user-detail hook: load or create the application's own user record for a signed-in
//! identity (flaskoidc's `USER_DETAIL_METHOD`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::identity::Identity;

/// Loads the application's user for a signed-in identity.
///
/// Called once at login (and again when the cached copy is older than the configured
/// time to live, and once per bearer token), never per request. The user is kept in the
/// session, so it must be serializable. Return `Ok(None)` to refuse the sign-in (`403`);
/// an error fails the login with a `500` page and no session.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_oidc::{Identity, UserDetails};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct User { user_id: String, email: Option<String>, is_active: bool }
///
/// struct Directory;
///
/// impl UserDetails for Directory {
///     type User = User;
///     type Error = std::io::Error;
///
///     async fn load_user(&self, identity: &Identity) -> Result<Option<User>, Self::Error> {
///         // Look the user up in the application's database, else create it from claims.
///         Ok(Some(User {
///             user_id: identity.user_id().to_owned(),
///             email: identity.claim("email").and_then(|v| v.as_str()).map(str::to_owned),
///             is_active: true,
///         }))
///     }
/// }
/// ```
pub trait UserDetails: Send + Sync + 'static {
    /// The application's user record.
    type User: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What can go wrong while loading it.
    type Error: fmt::Display + Send + 'static;

    /// The user for `identity`; `None` when this identity may not sign in.
    fn load_user(
        &self,
        identity: &Identity,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>> + Send;
}

/// The application's user loaded by the [`UserDetails`] hook, typed: `User<MyUser>` as a
/// handler argument (axum and actix-web). Answers `500` when no hook is configured or its
/// `User` type is another one, and like [`Identity`] when no one is signed in.
///
/// ```
/// use axum::{routing::get, Router};
/// use serde::{Deserialize, Serialize};
/// use tower_oidc::User;
///
/// #[derive(Serialize, Deserialize)]
/// struct CatalogUser { user_id: String, display_name: Option<String> }
///
/// async fn profile(User(user): User<CatalogUser>) -> String {
///     user.display_name.clone().unwrap_or_else(|| user.user_id.clone())
/// }
///
/// let app: Router = Router::new().route("/profile", get(profile));
/// ```
#[derive(Debug, Clone)]
pub struct User<T>(pub Arc<T>);

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the hook said, in the form the session keeps.
pub(crate) enum Loaded {
    User(Value),
    Refused,
    Failed(String),
}

/// [`UserDetails`] behind `Arc<dyn _>`, storing users as JSON.
pub(crate) trait DynUserDetails: Send + Sync {
    fn load<'a>(&'a self, identity: &'a Identity) -> BoxFuture<'a, Loaded>;
}

impl<T: UserDetails> DynUserDetails for T {
    fn load<'a>(&'a self, identity: &'a Identity) -> BoxFuture<'a, Loaded> {
        Box::pin(async move {
            match self.load_user(identity).await {
                Ok(Some(user)) => match serde_json::to_value(&user) {
                    Ok(value) => Loaded::User(value),
                    Err(err) => Loaded::Failed(format!("the user could not be serialized: {err}")),
                },
                Ok(None) => Loaded::Refused,
                Err(err) => Loaded::Failed(err.to_string()),
            }
        })
    }
}

/// The configured hook with its cache lifetime.
#[derive(Clone)]
pub(crate) struct UserHook {
    pub(crate) hook: Arc<dyn DynUserDetails>,
    pub(crate) ttl_secs: u64,
}

impl fmt::Debug for UserHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserHook")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

/// Why the hook gave no user.
pub(crate) enum NoUser {
    Refused,
    Failed(String),
}

/// Runs the configured hook (if any) for a new session and stores its user in it.
pub(crate) async fn attach(
    hook: Option<&UserHook>,
    session: &mut crate::session::SessionData,
    now: u64,
) -> Result<(), NoUser> {
    let Some(hook) = hook else { return Ok(()) };
    match load(hook, session).await {
        Loaded::User(user) => {
            session.user = Some(user);
            session.user_loaded_at = Some(now);
            Ok(())
        }
        Loaded::Refused => Err(NoUser::Refused),
        Loaded::Failed(reason) => Err(NoUser::Failed(reason)),
    }
}

/// Calls the hook for a session's identity.
pub(crate) async fn load(hook: &UserHook, session: &crate::session::SessionData) -> Loaded {
    let identity = Identity::new(Arc::new(session.clone()));
    hook.hook.load(&identity).await
}
