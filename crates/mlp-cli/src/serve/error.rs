//! The explorer's error answers: a status and `{"error": sentence, "field": name or null}`, for
//! the handlers' own checks and for every rejection of a malformed request.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;

/// A failed request: what the page shows, and the field it shows it next to.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status (4xx for the client's mistakes, 5xx for the server's).
    pub status: StatusCode,
    /// One sentence for people.
    pub error: String,
    /// The request field at fault, if one is.
    pub field: Option<String>,
}

/// The result of a handler.
pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl ApiError {
    /// A 400 naming `field`.
    pub fn bad(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(field), error)
    }

    /// An answer with any status.
    pub fn new(status: StatusCode, field: Option<&str>, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: field.map(str::to_owned),
        }
    }

    /// A 500: the server failed, not the request.
    pub fn internal(error: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error, "field": self.field });
        (self.status, Json(body)).into_response()
    }
}

/// A JSON body read into `T`; every failure is an [`ApiError`] naming the field at fault (the
/// body's size limit is axum's `DefaultBodyLimit`, set on the router).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> ApiResult<Self> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                "the body must be JSON, sent with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        status,
                        None,
                        "the body is larger than the server accepts (1 MiB)",
                    )
                } else {
                    ApiError::new(status, None, rejection.body_text())
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Parses `bytes` as a `T`, naming the field at fault (`drawing.pixels`, not `drawing.pixels[3]`,
/// because the page marks form fields, not array items).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.inner();
        let field = if inner.is_syntax() || inner.is_eof() {
            None
        } else if let Some(missing) = missing_field(&inner.to_string()) {
            Some(join_path(&path, &missing))
        } else {
            Some(path)
        };
        let field: Option<String> = field
            .map(|f: String| without_indices(&f))
            .filter(|f| f.as_str() != ".");
        let error = match (&field, inner.is_syntax() || inner.is_eof()) {
            (_, true) => format!("the body is not valid JSON: {inner}"),
            (Some(field), false) => format!("{field}: {inner}"),
            (None, false) => format!("the body does not have the expected fields: {inner}"),
        };
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error,
            field,
        }
    })?;
    deserializer.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// The name in serde's "missing field `name`" message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() || parent == "." {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn without_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A query string as name → value; a malformed one is a 400.
pub fn query_map(query: Option<&str>) -> ApiResult<HashMap<String, String>> {
    let pairs: Vec<(String, String)> = query_pairs(query.unwrap_or(""))?;
    Ok(pairs.into_iter().collect())
}

fn query_pairs(query: &str) -> ApiResult<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> ApiResult<String> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            None,
            "the query string is not valid URL encoding",
        )
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// A required query parameter.
pub fn required<'q>(query: &'q HashMap<String, String>, name: &str) -> ApiResult<&'q str> {
    query
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError::bad(name, format!("the query parameter `{name}` is missing")))
}

/// An optional whole-number query parameter, at most `max`.
pub fn whole_number(
    query: &HashMap<String, String>,
    name: &str,
    max: usize,
) -> ApiResult<Option<usize>> {
    let Some(text) = query.get(name) else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(n) if n <= max => Ok(Some(n)),
        _ if max == usize::MAX => Err(ApiError::bad(
            name,
            format!("`{name}` must be a whole number, got {text:?}"),
        )),
        _ => Err(ApiError::bad(
            name,
            format!("`{name}` must be a whole number from 0 to {max}, got {text:?}"),
        )),
    }
}

/// Middleware: a handler that panics answers 500 and the server goes on serving.
pub async fn catch_panic(request: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => ApiError::internal("the server failed on this request").into_response(),
    }
}

/// The answer to a method a path does not take.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "this endpoint does not take this method",
    )
}

/// The answer to a path the server does not have.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, None, "no such page or endpoint")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Drawing {
        width: u32,
        pixels: Vec<u8>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        model: String,
        drawing: Drawing,
    }

    #[test]
    fn json_errors_name_the_field() {
        let field = |body: &str| parse_json::<Body>(body.as_bytes()).unwrap_err().field;
        assert_eq!(
            field(r#"{"drawing": {"width": 1, "pixels": []}}"#).as_deref(),
            Some("model")
        );
        assert_eq!(
            field(r#"{"model": "m", "drawing": {"width": 1, "pixels": [1, 300]}}"#).as_deref(),
            Some("drawing.pixels")
        );
        assert_eq!(
            field(r#"{"model": "m", "drawing": {"pixels": []}}"#).as_deref(),
            Some("drawing.width")
        );
        assert_eq!(field(r#"{"model": "m""#), None);
        assert_eq!(
            field(r#"{"model": 1, "drawing": {"width": 1, "pixels": []}} x"#).as_deref(),
            Some("model")
        );
    }

    #[test]
    fn queries_decode_and_refuse_bad_numbers() {
        let query = query_map(Some("model=search%2Fdeep&index=12&x")).unwrap();
        assert_eq!(required(&query, "model").unwrap(), "search/deep");
        assert_eq!(whole_number(&query, "index", 100).unwrap(), Some(12));
        assert_eq!(
            whole_number(&query, "index", 10)
                .unwrap_err()
                .field
                .as_deref(),
            Some("index")
        );
        assert_eq!(
            required(&query, "run").unwrap_err().field.as_deref(),
            Some("run")
        );
        assert!(query_map(Some("a=%zz")).is_err());
    }
}
