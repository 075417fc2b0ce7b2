//! Counters and histograms, recorded through the `metrics` facade so that any exporter
//! (Prometheus, StatsD, OpenTelemetry…) collects them.
//!
//! Every name starts with `tower_oidc_`; every label value comes from a fixed set of codes
//! written in this crate, never from a request: no user id, token, path or provider
//! message. Without the `metrics` feature each function here has an empty body, and the
//! timers are empty structs, so the calls compile to nothing.

use std::future::Future;

use http::StatusCode;

use crate::bearer::BearerError;
use crate::context::RefreshOutcome;
use crate::session::store::StoreError;

#[cfg(feature = "metrics")]
mod record {
    pub(super) fn count(name: &'static str, labels: &[(&'static str, &'static str)]) {
        metrics::counter!(name, labels).increment(1);
    }

    pub(super) fn seconds(
        name: &'static str,
        labels: &[(&'static str, &'static str)],
        start: std::time::Instant,
    ) {
        metrics::histogram!(name, labels).record(start.elapsed().as_secs_f64());
    }
}

/// Measures from its creation to the call that records it.
#[must_use]
pub(crate) struct Timer {
    #[cfg(feature = "metrics")]
    start: std::time::Instant,
}

impl Timer {
    #[inline]
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            start: std::time::Instant::now(),
        }
    }
}

/// Records the callback's duration when the callback ends, however it ends.
#[must_use]
pub(crate) struct CallbackTimer(Timer);

impl Drop for CallbackTimer {
    #[inline]
    fn drop(&mut self) {
        #[cfg(feature = "metrics")]
        record::seconds("tower_oidc_callback_duration_seconds", &[], self.0.start);
    }
}

/// A login sent to the provider.
#[inline]
pub(crate) fn login_started() {
    #[cfg(feature = "metrics")]
    record::count("tower_oidc_logins_started_total", &[]);
}

/// A login that ended with a session.
#[inline]
pub(crate) fn login_completed() {
    #[cfg(feature = "metrics")]
    record::count("tower_oidc_logins_completed_total", &[]);
}

/// A login refused or failed; `reason` is the error code of the answer.
#[inline]
pub(crate) fn login_failed(reason: &'static str) {
    #[cfg(feature = "metrics")]
    record::count("tower_oidc_logins_failed_total", &[("reason", reason)]);
    let _ = reason;
}

/// Starts timing a callback that waits on the provider.
#[inline]
pub(crate) fn callback_timer() -> CallbackTimer {
    CallbackTimer(Timer::start())
}

/// How one refresh of a session's tokens ended (counted once, not per waiting request).
#[inline]
pub(crate) fn refreshed(outcome: &RefreshOutcome) {
    #[cfg(feature = "metrics")]
    record::count(
        "tower_oidc_refreshes_total",
        &[(
            "outcome",
            match outcome {
                RefreshOutcome::Refreshed { .. } => "refreshed",
                RefreshOutcome::Unavailable => "unavailable",
                RefreshOutcome::Ended => "session_ended",
                RefreshOutcome::Rejected => "rejected",
            },
        )],
    );
    let _ = outcome;
}

/// A bearer token let through: `check` is `verified` (checked now) or `cached`.
#[inline]
pub(crate) fn bearer_accepted(check: &'static str) {
    #[cfg(feature = "metrics")]
    record::count("tower_oidc_bearer_accepted_total", &[("check", check)]);
    let _ = check;
}

/// A bearer token refused.
#[inline]
pub(crate) fn bearer_rejected(err: &BearerError) {
    bearer_rejected_because(match err {
        BearerError::Invalid(_) => "invalid_token",
        BearerError::Unavailable(_) => "provider_unavailable",
        BearerError::Refused => "user_refused",
        BearerError::HookFailed(_) => "user_details_failed",
    });
}

/// A bearer token refused for `reason`, one of the codes of [`bearer_rejected`] or
/// `malformed` (an `Authorization` header that is no bearer token) or `dpop_bound` (a token
/// bound to a DPoP key, sent without its proof).
#[inline]
pub(crate) fn bearer_rejected_because(reason: &'static str) {
    #[cfg(feature = "metrics")]
    record::count("tower_oidc_bearer_rejected_total", &[("reason", reason)]);
    let _ = reason;
}

/// One call to the introspection endpoint, timed by `timer`, by its answer: `active`,
/// `inactive` (a token refused) or `error`.
#[inline]
pub(crate) fn introspected<T>(timer: &Timer, answer: &Result<T, BearerError>) {
    #[cfg(feature = "metrics")]
    {
        let outcome = match answer {
            Ok(_) => "active",
            Err(BearerError::Invalid(_)) => "inactive",
            Err(_) => "error",
        };
        record::count(
            "tower_oidc_introspection_calls_total",
            &[("outcome", outcome)],
        );
        record::seconds(
            "tower_oidc_introspection_duration_seconds",
            &[],
            timer.start,
        );
    }
    let _ = (timer, answer);
}

/// `future`, a call to the session store's `operation`, timed and its errors counted.
#[inline]
pub(crate) fn store_call<T, F>(
    operation: &'static str,
    future: F,
) -> impl Future<Output = Result<T, StoreError>> + Send
where
    F: Future<Output = Result<T, StoreError>> + Send,
{
    #[cfg(feature = "metrics")]
    {
        async move {
            let start = std::time::Instant::now();
            let result = future.await;
            let labels = [("operation", operation)];
            record::seconds("tower_oidc_store_duration_seconds", &labels, start);
            if let Err(err) = &result {
                let kind = match err {
                    StoreError::Unavailable { .. } => "unavailable",
                    StoreError::Corrupt { .. } => "corrupt",
                    StoreError::Other { .. } => "other",
                    // A capability the store lacks, answered by design: no failure.
                    _ => return result,
                };
                record::count(
                    "tower_oidc_store_errors_total",
                    &[("operation", operation), ("kind", kind)],
                );
            }
            result
        }
    }
    #[cfg(not(feature = "metrics"))]
    {
        let _ = operation;
        future
    }
}

/// A back-channel logout request, by the status it was answered with.
#[inline]
pub(crate) fn backchannel_logout(status: StatusCode) {
    #[cfg(feature = "metrics")]
    record::count(
        "tower_oidc_backchannel_logouts_total",
        &[(
            "outcome",
            match status.as_u16() {
                200..=299 => "ended",
                400 => "invalid_token",
                501 => "unsupported",
                503 => "unavailable",
                _ => "error",
            },
        )],
    );
    let _ = status;
}

/// A fetch of the provider's discovery document (`document` = `discovery`) or key set
/// (`jwks`): `Ok`, or the kind of error.
#[inline]
pub(crate) fn provider_fetch(document: &'static str, result: Result<(), &'static str>) {
    #[cfg(feature = "metrics")]
    match result {
        Ok(()) => record::count(
            "tower_oidc_provider_fetches_total",
            &[("document", document), ("outcome", "ok")],
        ),
        Err(kind) => {
            record::count(
                "tower_oidc_provider_fetches_total",
                &[("document", document), ("outcome", "error")],
            );
            record::count(
                "tower_oidc_provider_fetch_failures_total",
                &[("document", document), ("reason", kind)],
            );
        }
    }
    let _ = (document, result);
}
