//! [`app`]: the `Router` of every route in [`ROUTES`], with the layer that times each request
//! out, counts it in the metrics by route pattern and status (and, on the dashboard's timeline,
//! by the tenant of the key that made it), and opens its tracing span.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use super::AppState;
use super::error::ApiError;
use super::handlers;

/// Every route: (method, path pattern). The OpenAPI document must list each (a test checks).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/score"),
    ("post", "/v1/score/batch"),
    ("post", "/v1/outcomes"),
    ("get", "/v1/model"),
    ("post", "/v1/admin/reload"),
    ("get", "/v1/users/{id}/profile"),
    ("delete", "/v1/users/{id}"),
    ("get", "/v1/audit/head"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/dashboard"),
    ("get", "/openapi.json"),
];

/// The service, without a socket.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/score", post(handlers::score))
        .route("/v1/score/batch", post(handlers::score_batch))
        .route("/v1/outcomes", post(handlers::outcomes))
        .route("/v1/model", get(handlers::model))
        .route("/v1/admin/reload", post(handlers::reload))
        .route("/v1/users/{id}/profile", get(handlers::export_profile))
        .route("/v1/users/{id}", delete(handlers::erase_user))
        .route("/v1/audit/head", get(handlers::audit_head))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .route("/dashboard", get(super::dashboard::dashboard))
        .route("/openapi.json", get(handlers::openapi))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// Deadline, metrics and span for one request.
async fn observe(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route: &'static str = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|m| ROUTES.iter().find(|(_, p)| *p == m.as_str()))
        .map_or("other", |(_, p)| p);
    use tracing::Instrument;
    let span = tracing::debug_span!(
        "request",
        route,
        method = %req.method(),
        request_id = tracing::field::Empty
    );
    let start = Instant::now();
    let peer = req.extensions().get::<super::auth::PeerIp>().copied();
    let run = tokio::time::timeout(st.settings.timeout, next.run(req));
    let (resp, tenant) = super::auth::with_request(peer, run).instrument(span).await;
    let resp = resp.unwrap_or_else(|_| ApiError::Timeout.into_response());
    st.metrics
        .observe(route, resp.status().as_u16(), start.elapsed(), tenant);
    resp
}
