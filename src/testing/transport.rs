//! How a [`TestClient`](super::TestClient) reaches the app: in-process through a tower or
//! actix-web service, or over HTTP to an app served on a port.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt as _;
use tower_service::Service;
use url::Url;

use super::TestClientError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An answer read to the end.
pub(crate) type Reply = Result<Response<Bytes>, TestClientError>;

/// Sends one request to the app.
pub(crate) type Transport = Rc<dyn Fn(Request<Bytes>) -> Pin<Box<dyn Future<Output = Reply>>>>;

fn app_error(err: impl std::fmt::Display) -> TestClientError {
    TestClientError::App(err.to_string())
}

/// Each request goes to a clone of `service`, made ready first, as a server would do.
pub(crate) fn tower<S, B>(service: S) -> Transport
where
    S: Service<Request<Body>, Response = Response<B>> + Clone + 'static,
    S::Error: Into<BoxError>,
    S::Future: 'static,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
{
    Rc::new(move |request: Request<Bytes>| {
        let mut service = service.clone();
        Box::pin(async move {
            poll_fn(|cx| service.poll_ready(cx))
                .await
                .map_err(|err| app_error(err.into()))?;
            let response = service
                .call(request.map(Body::from))
                .await
                .map_err(|err| app_error(err.into()))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|err| app_error(err.into()))?
                .to_bytes();
            Ok(Response::from_parts(parts, body))
        })
    })
}

/// Requests go to `base` joined with their path and query.
pub(crate) fn served(base: Url, http: reqwest::Client) -> Transport {
    Rc::new(move |request: Request<Bytes>| {
        let base = base.clone();
        let http = http.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
            let url = base
                .join(target)
                .map_err(|err| TestClientError::InvalidRequest(format!("{target}: {err}")))?;
            let response = http
                .request(parts.method, url)
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(|err| TestClientError::Network(err.without_url().to_string()))?;
            let mut converted = Response::builder().status(response.status());
            if let Some(headers) = converted.headers_mut() {
                headers.extend(response.headers().clone());
            }
            let body = response
                .bytes()
                .await
                .map_err(|err| TestClientError::Network(err.without_url().to_string()))?;
            converted.body(body).map_err(app_error)
        })
    })
}

/// Each request becomes an actix-web test request; an `Err` from the service is answered
/// with its error response, as actix-web's server does.
#[cfg(feature = "actix")]
pub(crate) fn actix<S, B>(service: S) -> Transport
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        > + 'static,
    S::Future: 'static,
    B: actix_web::body::MessageBody + 'static,
{
    let service = Rc::new(service);
    Rc::new(move |request: Request<Bytes>| {
        let service = Rc::clone(&service);
        Box::pin(async move {
            let request = actix_request(request)?;
            let response = match actix_web::dev::Service::call(&*service, request).await {
                Ok(response) => response.into_parts().1.map_into_boxed_body(),
                Err(err) => err.error_response(),
            };
            from_actix(response).await
        })
    })
}

#[cfg(feature = "actix")]
fn actix_request(request: Request<Bytes>) -> Result<actix_http::Request, TestClientError> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::http::Method;

    let (parts, body) = request.into_parts();
    let invalid = |what: &str| TestClientError::InvalidRequest(format!("actix-web refuses {what}"));
    let method =
        Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|_| invalid("the method"))?;
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut test = actix_web::test::TestRequest::default()
        .method(method)
        .uri(target);
    for (name, value) in &parts.headers {
        let name = HeaderName::from_bytes(name.as_str().as_bytes())
            .map_err(|_| invalid("a header name"))?;
        let value =
            HeaderValue::from_bytes(value.as_bytes()).map_err(|_| invalid("a header value"))?;
        test = test.append_header((name, value));
    }
    Ok(test.set_payload(body).to_request())
}

#[cfg(feature = "actix")]
async fn from_actix(response: actix_web::HttpResponse<actix_web::body::BoxBody>) -> Reply {
    let mut converted = Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        converted = converted.header(name.as_str(), value.as_bytes());
    }
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .map_err(app_error)?;
    converted.body(body).map_err(app_error)
}
