//! The user-detail hook: load or create the application's own user record for a signed-in
//! identity (flaskoidc's `USER_DETAIL_METHOD`).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::{AnyUser, DecodeUser, Identity};

/// Loads the application's user for a signed-in identity.
///
/// Called once at login (and again when the cached copy is older than the configured
/// time to live, and once per bearer token), never per request. The user is kept in the
/// session, so it must be serializable. Return `Ok(None)` to refuse the sign-in (`403`);
/// an error fails the login with a `500` page and no session, and is logged at `error`
/// level with its whole source chain (never in the page). When a reload fails, the cached
/// user is kept and the error logged at `warn` level.
///
/// Handlers take the user as `User<Self::User>`, or as `User<serde_json::Value>`; the
/// stored JSON is decoded into `Self::User` at most once per session.
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
    /// What can go wrong while loading it: any error type (its `source` chain is logged),
    /// a `String`, or a `Box<dyn Error + Send + Sync>`.
    type Error: Into<Box<dyn StdError + Send + Sync>> + Send + 'static;

    /// The user for `identity`; `None` when this identity may not sign in.
    ///
    /// # Errors
    ///
    /// Whatever keeps the user from being loaded (the application's directory is down):
    /// the login fails with `500`, a reload keeps the cached user.
    fn load_user(
        &self,
        identity: &Identity,
    ) -> impl Future<Output = Result<Option<Self::User>, Self::Error>> + Send;
}

/// The application's user loaded by the [`UserDetails`] hook, typed: `User<MyUser>` as a
/// handler argument (axum and actix-web), with `MyUser` the hook's `User` type, or
/// `User<serde_json::Value>` for the user as stored. Answers like [`Identity`] when no one
/// is signed in (`401`), and `500` when no hook is configured or `T` is another type.
///
/// `Option<User<T>>` is `None` when no one is signed in (a whitelisted path). On axum it
/// still answers `500` for a missing layer or a wrong type, as `User<T>` does; on actix-web
/// it is the framework's generic `Option<T>`, which turns every rejection into `None`: take
/// `Result<User<T>, IdentityRejection>` there to tell them apart.
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
/// // On a whitelisted page: `None` for visitors.
/// async fn greeting(user: Option<User<CatalogUser>>) -> String {
///     match user {
///         Some(User(user)) => format!("welcome back, {}", user.user_id),
///         None => "welcome".to_owned(),
///     }
/// }
///
/// let app: Router = Router::new()
///     .route("/profile", get(profile))
///     .route("/", get(greeting));
/// ```
#[derive(Debug, Clone)]
pub struct User<T>(pub Arc<T>);

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the hook said, in the form the session keeps.
pub(crate) enum Loaded {
    User(Value),
    Refused,
    Failed(HookError),
}

/// Why the hook failed, with the source chain of the application's error. Its `Display`
/// is the whole chain, `outer: inner: root`, so a log line with `%reason` keeps every cause.
pub(crate) struct HookError(Box<dyn StdError + Send + Sync>);

impl HookError {
    fn new(error: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookError({self})")
    }
}

/// The hook's user could not be turned into JSON for the session.
#[derive(Debug)]
struct Unserializable(serde_json::Error);

impl fmt::Display for Unserializable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the user could not be serialized")
    }
}

impl StdError for Unserializable {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

/// [`UserDetails`] behind `Arc<dyn _>`, storing users as JSON and decoding them back into
/// the hook's own type.
pub(crate) trait DynUserDetails: DecodeUser {
    fn load<'a>(&'a self, identity: &'a Identity) -> BoxFuture<'a, Loaded>;
}

impl<T: UserDetails> DynUserDetails for T {
    fn load<'a>(&'a self, identity: &'a Identity) -> BoxFuture<'a, Loaded> {
        Box::pin(async move {
            match self.load_user(identity).await {
                Ok(Some(user)) => match serde_json::to_value(&user) {
                    Ok(value) => Loaded::User(value),
                    Err(err) => Loaded::Failed(HookError::new(Unserializable(err))),
                },
                Ok(None) => Loaded::Refused,
                Err(err) => Loaded::Failed(HookError::new(err)),
            }
        })
    }
}

impl<T: UserDetails> DecodeUser for T {
    fn decode(&self, stored: &Value) -> Result<AnyUser, serde_json::Error> {
        let user = T::User::deserialize(stored)?;
        Ok(Arc::new(user))
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

impl UserHook {
    /// What decodes the stored user into the hook's `User` type, for [`Identity::user`].
    pub(crate) fn decoder(&self) -> Arc<dyn DecodeUser> {
        Arc::clone(&self.hook) as Arc<dyn DecodeUser>
    }
}

/// Why the hook gave no user.
pub(crate) enum NoUser {
    Refused,
    Failed(HookError),
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
    let identity = Identity::new(Arc::new(session.clone())).with_user_decoder(Some(hook.decoder()));
    hook.hook.load(&identity).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct DirectoryDown(std::io::Error);

    impl fmt::Display for DirectoryDown {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the user directory is down")
        }
    }

    impl StdError for DirectoryDown {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    struct Failing;

    impl UserDetails for Failing {
        type User = Value;
        type Error = DirectoryDown;

        async fn load_user(&self, _: &Identity) -> Result<Option<Value>, DirectoryDown> {
            Err(DirectoryDown(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "connection refused",
            )))
        }
    }

    #[tokio::test]
    async fn a_failure_keeps_its_source_chain() {
        let identity = Identity::for_tests(serde_json::json!({}), None);
        let Loaded::Failed(error) = Failing.load(&identity).await else {
            panic!("the hook failed");
        };
        assert_eq!(
            error.to_string(),
            "the user directory is down: connection refused"
        );
        assert_eq!(
            format!("{error:?}"),
            "HookError(the user directory is down: connection refused)"
        );
    }

    #[test]
    fn strings_and_boxed_errors_are_hook_errors() {
        assert_eq!(
            HookError::new("directory down").to_string(),
            "directory down"
        );
        assert_eq!(
            HookError::new(String::from("directory down")).to_string(),
            "directory down"
        );
        let unserializable = serde_json::from_str::<Value>("{").expect_err("broken");
        assert!(HookError::new(Unserializable(unserializable))
            .to_string()
            .starts_with("the user could not be serialized: EOF"));
    }
}
