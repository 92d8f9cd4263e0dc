//! API errors: a stable snake_case code the interface translates, and a message for people.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use peywand_domain::{RecordId, TracingRequestId};
use peywand_store::{Conflict, StoreError};

use crate::i18n::Tr;
use crate::refusal::{Refusal, conflict_worded};

/// An error answered by the API, as `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Invalid(String),
    /// What someone filled in at a form, refused: worded for its reader on pages.
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(Conflict),
    #[error("the request body is not valid JSON for this route: {0}")]
    BadJson(String),
    #[error("the request body is larger than this server accepts")]
    TooLarge,
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("something went wrong on the server; the request was not completed")]
    Internal,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable key: invalid_request, not_found, conflict, bad_json, too_large, unavailable, unauthenticated, forbidden,
    /// too_many_attempts, internal.
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) | ApiError::Refused(_) => "invalid_request",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::BadJson(_) => "bad_json",
            ApiError::TooLarge => "too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooManyAttempts(_) => "too_many_attempts",
            ApiError::Internal => "internal",
        }
    }
    /// The error for a page's reader: refusals and conflicts in their language, since they
    /// say what to mend; anything else as the server words it.
    pub(crate) fn worded(&self, t: &Tr) -> String {
        match self {
            ApiError::Refused(r) => r.worded(t),
            ApiError::Conflict(c) => conflict_worded(c, t),
            other => other.to_string(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::Refused(_) | ApiError::BadJson(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(why) => ApiError::Conflict(why),
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}

/// A tracing request named in a path; text that cannot be one names nothing.
pub(crate) fn request_in_path(id: &str) -> Result<TracingRequestId, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("tracing request {id:?}")))
}

/// A registration named in a path by its record id; text that cannot be one names nothing.
pub(crate) fn record_in_path(record_id: &str) -> Result<RecordId, ApiError> {
    RecordId::parse(record_id)
        .map_err(|_| ApiError::NotFound(format!("registration {record_id:?}")))
}
