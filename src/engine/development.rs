//! Requests while authentication is off (development only): each is given the configured
//! identity, loaded once through the user-detail hook as at a login; the login and logout
//! routes lead straight back into the application. Loud by design: a warning when the
//! layer starts and every minute while it serves.

use std::sync::{Arc, Weak};
use std::time::Duration;

use http::{HeaderName, HeaderValue, StatusCode};
use tokio::sync::OnceCell;

use super::{Decision, Deferred, Engine, Pending};
use crate::config::DevelopmentUser;
use crate::context::Context;
use crate::outcome::{Outcome, Pass};
use crate::request::RequestView;
use crate::response::{self, ErrorReply};
use crate::session::{now, random_id, SessionData};
use crate::user::NoUser;

/// The header every answer carries while authentication is off.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-oidc-auth");
pub(crate) const HEADER_VALUE: HeaderValue = HeaderValue::from_static("disabled");

/// How often the warning is repeated while the layer serves.
const REMINDER_EVERY: Duration = Duration::from_secs(60);

/// The identity every request gets, once the hook has loaded its user.
pub(crate) struct DevelopmentSession {
    user: Arc<DevelopmentUser>,
    session: OnceCell<Arc<SessionData>>,
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

fn session_data(user: &DevelopmentUser) -> SessionData {
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
        bearer: false,
        typed_user: Default::default(),
    }
}

/// The answer to a request while authentication is off.
pub(crate) fn decide(
    ctx: &Context,
    development: &DevelopmentSession,
    request: &RequestView<'_>,
    path: &str,
) -> Decision {
    let routes = &ctx.config.routes;
    if path == routes.login || path == routes.callback {
        let next = crate::flow::login::next_from_query(request.query);
        let target = next.unwrap_or_else(|| routes.home.clone());
        return Decision::Respond(response::redirect(StatusCode::FOUND, &target, Vec::new()));
    }
    if path == routes.logout {
        let target = ctx
            .config
            .post_logout_redirect_uri
            .clone()
            .unwrap_or_else(|| routes.home.clone());
        return Decision::Respond(response::redirect(StatusCode::FOUND, &target, Vec::new()));
    }
    match development.session.get() {
        Some(session) => Decision::Continue(Pass::signed_in(ctx.identity(Arc::clone(session)))),
        None => Decision::Defer(Pending {
            work: Deferred::Development(LoadUser),
            html: request.wants_html(),
        }),
    }
}

/// Loads the development user through the user-detail hook, once.
pub(crate) struct LoadUser;

impl LoadUser {
    pub(crate) async fn run(self, ctx: &Context) -> Outcome {
        let Some(development) = &ctx.development else {
            return Outcome::Continue(Pass {
                identity: None,
                set_cookies: Vec::new(),
            });
        };
        let loaded = development
            .session
            .get_or_try_init(|| async {
                let mut session = session_data(&development.user);
                crate::user::attach(ctx.config.user_hook.as_ref(), &mut session, now())
                    .await
                    .map(|()| Arc::new(session))
            })
            .await;
        match loaded {
            Ok(session) => Outcome::signed_in(ctx.identity(Arc::clone(session))),
            Err(NoUser::Refused) => Outcome::Respond(
                ErrorReply {
                    status: StatusCode::FORBIDDEN,
                    code: "user_refused",
                    message: "the user-detail hook refused the development user",
                    retry: None,
                }
                .render(false, Vec::new()),
            ),
            Err(NoUser::Failed(reason)) => {
                tracing::error!(%reason, "user-detail hook failed for the development user");
                Outcome::Respond(
                    ErrorReply {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        code: "user_details_failed",
                        message: "the development user's details could not be loaded",
                        retry: None,
                    }
                    .render(false, Vec::new()),
                )
            }
        }
    }
}

/// Warns now and, while `engine` lives and a runtime runs, every minute.
pub(crate) fn announce(engine: &Arc<Engine>) {
    announce_every(engine, REMINDER_EVERY);
}

fn announce_every(engine: &Arc<Engine>, period: Duration) {
    let Some(user) = engine.context().config.development.clone() else {
        return;
    };
    warn(&user);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak: Weak<Engine> = Arc::downgrade(engine);
    runtime.spawn(async move {
        let mut every = tokio::time::interval(period);
        every.tick().await;
        loop {
            every.tick().await;
            if weak.strong_count() == 0 {
                return;
            }
            warn(&user);
        }
    });
}

fn warn(user: &DevelopmentUser) {
    tracing::warn!(
        user_id = %user.user_id,
        "AUTHENTICATION IS DISABLED (OIDC_DISABLE_AUTH): every request is signed in as this \
         user; for development only, never in production"
    );
}

/// `response` marked `X-OIDC-Auth: disabled`.
pub(crate) fn mark<B>(mut response: http::Response<B>) -> http::Response<B> {
    response.headers_mut().insert(HEADER, HEADER_VALUE);
    response
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::*;

    /// Log lines, captured.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn warnings(&self) -> usize {
            let text = String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned();
            text.lines()
                .filter(|line| line.contains("WARN") && line.contains("AUTHENTICATION IS DISABLED"))
                .filter(|line| line.contains("alice"))
                .count()
        }
    }

    fn development_config() -> crate::Config {
        crate::Config::builder()
            .danger_development_user("alice", serde_json::json!({}))
            .cookie_secure(false)
            .build()
            .expect("development config")
    }

    #[test]
    fn the_warning_comes_at_start_and_again_while_serving() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // Without a runtime: the warning at start only.
        let engine = Engine::new(development_config());
        assert_eq!(captured.warnings(), 1);
        assert!(engine.auth_disabled());
        drop(engine);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let engine = Engine::new(development_config());
            announce_every(&engine, Duration::from_millis(20));
            tokio::time::sleep(Duration::from_millis(110)).await;
            let while_serving = captured.warnings();
            // One at start, one from this reminder's start, then one per period.
            assert!(while_serving >= 1 + 2 + 3, "{while_serving} warnings");
            // Once the layer is gone, so is its reminder.
            drop(engine);
            tokio::time::sleep(Duration::from_millis(60)).await;
            let after = captured.warnings();
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(captured.warnings(), after);
        });
    }

    #[test]
    fn an_ordinary_configuration_never_warns_so() {
        let config = crate::Config::builder()
            .issuer("https://op.example.com")
            .client_id("app")
            .generate_secret_key()
            .build()
            .expect("config");
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let engine = Engine::new(config);
        assert!(!engine.auth_disabled());
        assert_eq!(captured.warnings(), 0);
    }
}
