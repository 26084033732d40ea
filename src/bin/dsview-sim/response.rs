//! HTTP responses: the API's JSON error type ([`ApiError`]) with its status codes, and small
//! builders for JSON, HTML, redirect and empty responses.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use crate::state::SessionError;

/// Every response the simulator sends.
pub type Reply = Response<Full<Bytes>>;

/// An API failure, answered as `{"error": "<message>"}` with the matching status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("request body too large (limit 1 MiB)")]
    PayloadTooLarge,
    #[error("simulated failure")]
    SimulatedFailure,
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Session(err) => match err {
                SessionError::InvalidCredentials | SessionError::Unauthorized => {
                    StatusCode::UNAUTHORIZED
                }
                SessionError::TooManySessions
                | SessionError::OtherSession
                | SessionError::PermissionDenied => StatusCode::FORBIDDEN,
                SessionError::UnknownSession => StatusCode::NOT_FOUND,
                SessionError::Random => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::SimulatedFailure | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn into_reply(self) -> Reply {
        let mut reply = json(
            self.status(),
            serde_json::json!({ "error": self.to_string() }).to_string(),
        );
        match self {
            Self::MethodNotAllowed { allow } => {
                reply
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
            }
            Self::Session(SessionError::Unauthorized) => {
                reply
                    .headers_mut()
                    .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        reply
    }
}

fn with_body(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    reply
}

/// A JSON response from an already serialised body.
pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    with_body(status, "application/json", body)
}

/// An HTML page.
pub fn html(status: StatusCode, page: String) -> Reply {
    with_body(status, "text/html; charset=utf-8", page)
}

/// An empty response (204 and the like).
pub fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::new()));
    *reply.status_mut() = status;
    reply
}

/// A 302 redirect to a fixed local path.
pub fn redirect(location: &'static str) -> Reply {
    let mut reply = empty(StatusCode::FOUND);
    reply
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(location));
    reply
}
