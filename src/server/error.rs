//! [`ApiError`]: the one place that picks HTTP statuses. Client mistakes are 4xx with a JSON body
//! naming the field and the problem (`{"error": {"code", "field", "message"}}`); server faults are
//! a generic 500 body, logged once here with the detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::InputError;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// No or unknown API key (401).
    Unauthenticated,
    /// The key lacks the scope (403).
    Forbidden(&'static str),
    /// Rate limit exceeded; retry after this many seconds (429).
    RateLimited(u64),
    /// Too many failed authentications from this client address; retry after this many seconds
    /// (429). The key was not checked.
    AuthThrottled(u64),
    /// Body is not `application/json` (415).
    UnsupportedMediaType,
    /// Body larger than the limit, bytes (413).
    TooLarge(usize),
    /// Bad input; names the field (400 malformed, 422 invalid value).
    Input(InputError),
    /// 409: the request conflicts with what its id is bound to (another user, device or
    /// network), or an outcome's receipt is not the answer's.
    Conflict(InputError),
    /// 404 naming the field whose value refers to nothing (an outcome's unknown request id).
    Unknown(InputError),
    /// The referenced thing does not exist (404).
    NotFound(String),
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// A model artifact was refused; the old model keeps serving (422). `field` is the body
    /// field that named it (`path`, `shadow`); `problem` never quotes the file.
    ModelRefused {
        /// `path` or `shadow`.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A `[reputation]` list file failed to reload; the old lists keep serving (422). `key` is
    /// the config key with its index (`reputation.vpn[1]`); `problem` names the file and line.
    ListsRefused {
        /// The config key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The request took longer than the deadline (503).
    Timeout,
    /// A server-side fault; detail is logged, not returned (500).
    Internal(String),
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Input(i) => ApiError::Input(i),
            crate::Error::Conflict(c) => ApiError::Conflict(c),
            crate::Error::NotFound(n) => ApiError::Unknown(n),
            crate::Error::Artifact(a) => ApiError::ModelRefused {
                field: "path",
                problem: a.to_string(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// Status, stable code, field and message.
    fn parts(&self) -> (StatusCode, &'static str, String, String) {
        match self {
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "authorization".into(),
                "missing or unknown API key (send `Authorization: Bearer KEY`)".into(),
            ),
            ApiError::Forbidden(scope) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "authorization".into(),
                format!("this API key lacks the `{scope}` scope"),
            ),
            ApiError::RateLimited(s) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                String::new(),
                format!("rate limit exceeded for this API key; retry after {s} s"),
            ),
            ApiError::AuthThrottled(s) => (
                StatusCode::TOO_MANY_REQUESTS,
                "auth_throttled",
                "authorization".into(),
                format!("too many failed authentications from this address; retry after {s} s"),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "content-type".into(),
                "expected `Content-Type: application/json`".into(),
            ),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                ".".into(),
                format!("body exceeds {limit} bytes"),
            ),
            ApiError::Input(e @ InputError::Malformed { .. }) => (
                StatusCode::BAD_REQUEST,
                "malformed",
                e.field().into(),
                e.to_string(),
            ),
            ApiError::Input(e @ InputError::Invalid { .. }) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                e.field().into(),
                e.to_string(),
            ),
            ApiError::Conflict(e) => (
                StatusCode::CONFLICT,
                "conflict",
                e.field().into(),
                e.to_string(),
            ),
            ApiError::Unknown(e) => (
                StatusCode::NOT_FOUND,
                "not_found",
                e.field().into(),
                e.to_string(),
            ),
            ApiError::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not_found",
                String::new(),
                what.clone(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method".into(),
                "this route does not accept this method (see /openapi.json)".into(),
            ),
            ApiError::ModelRefused { field, problem } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "model_refused",
                (*field).into(),
                format!("{field}: {problem}; the active model keeps serving"),
            ),
            ApiError::ListsRefused { key, problem } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "lists_refused",
                key.clone(),
                format!("{problem}; the old reputation lists keep serving"),
            ),
            ApiError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                String::new(),
                "request deadline exceeded".into(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                String::new(),
                "internal error (logged)".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let (status, code, field, message) = self.parts();
        let body = serde_json::json!({"error": {"code": code, "field": field, "message": message}});
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if let ApiError::RateLimited(s) | ApiError::AuthThrottled(s) = self
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_fields() {
        let cases = [
            (ApiError::Unauthenticated, 401, "authorization"),
            (ApiError::Forbidden("admin"), 403, "authorization"),
            (ApiError::RateLimited(2), 429, ""),
            (ApiError::AuthThrottled(2), 429, "authorization"),
            (ApiError::UnsupportedMediaType, 415, "content-type"),
            (ApiError::TooLarge(10), 413, "."),
            (
                ApiError::Input(InputError::invalid("user_id", "empty")),
                422,
                "user_id",
            ),
            (ApiError::Internal("disk".into()), 500, ""),
        ];
        for (e, status, field) in cases {
            let (s, _, f, m) = e.parts();
            assert_eq!((s.as_u16(), f.as_str()), (status, field), "{m}");
        }
        let r = ApiError::RateLimited(3).into_response();
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
    }
}
