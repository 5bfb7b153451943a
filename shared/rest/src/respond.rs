//! Responding, the last stage: what was asked for in `Accept` ([`negotiate`]), the status,
//! `Content-Range`, `Location` and `Preference-Applied` of a table request, and its rows as
//! the client asked for them (JSON array, one object, CSV, `nulls=stripped`).

use axum::{
    body::Body,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::Value as Json;

use crate::{
    cache::Table,
    error::{ApiError, ApiResult},
    plan::Call,
    prefer::{Count, Preferences, Return},
    rows,
};

/// The media type of the answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    Json,
    Object,
    Csv,
}

/// The media type `Accept` asks for, and whether `nulls=stripped` came with it; 406
/// `PGRST107` when none is served.
pub(crate) fn negotiate(headers: &HeaderMap) -> ApiResult<(Media, bool)> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok((Media::Json, false));
    };
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let mt = parts.next().unwrap_or("").to_ascii_lowercase();
        let strip = parts.any(|p| p.replace(' ', "") == "nulls=stripped");
        let media = match mt.as_str() {
            ""
            | "*/*"
            | "application/*"
            | "application/json"
            | "application/vnd.pgrst.array+json"
            | "application/vnd.pgrst.array" => Media::Json,
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => Media::Object,
            "text/csv" | "text/*" => Media::Csv,
            _ => continue,
        };
        return Ok((media, strip));
    }
    Err(ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "PGRST107",
        format!("None of these media types are available: {accept}"),
    ))
}

/// The answer to a table request, before it becomes an HTTP response.
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub body: Option<String>,
    pub content_range: Option<String>,
    pub location: Option<String>,
    pub media: Media,
}

/// The HTTP response for `result`: the body (none for `HEAD`), its content type, and the
/// `Content-Range`, `Location` and `Preference-Applied` headers.
pub(crate) fn response(
    method: &Method,
    headers: &HeaderMap,
    result: ApiResult<Outcome>,
) -> Response {
    let write = !matches!(*method, Method::GET | Method::HEAD);
    let prefs = Preferences::parse(
        headers
            .get_all("prefer")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    match result {
        Ok(out) => {
            let has_body = out.body.is_some();
            let mut res = if *method == Method::HEAD {
                Response::new(Body::empty())
            } else {
                match out.body {
                    Some(b) => Response::new(Body::from(b)),
                    None => Response::new(Body::empty()),
                }
            };
            *res.status_mut() = out.status;
            let h = res.headers_mut();
            if out.status != StatusCode::NO_CONTENT && has_body {
                let ct = match out.media {
                    Media::Csv => "text/csv; charset=utf-8",
                    Media::Object => "application/vnd.pgrst.object+json; charset=utf-8",
                    Media::Json => "application/json; charset=utf-8",
                };
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            if let Some(cr) = out
                .content_range
                .and_then(|v| HeaderValue::from_str(&v).ok())
            {
                h.insert(header::CONTENT_RANGE, cr);
            }
            if let Some(l) = out.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
                h.insert(header::LOCATION, l);
            }
            if let Ok(p) = &prefs {
                if let Some(applied) = p
                    .applied(write, false)
                    .and_then(|v| HeaderValue::from_str(&v).ok())
                {
                    h.insert("preference-applied", applied);
                }
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

/// A read's answer: 416 past the end (with a count), 206 for a part of the counted rows,
/// `Content-Range` `first-last/total`.
pub(crate) fn read(
    call: &Call<'_>,
    body: String,
    rows: i64,
    offset: i64,
    total: Option<i64>,
) -> ApiResult<Outcome> {
    let Call {
        table, role, media, ..
    } = *call;
    if let Some(t) = total {
        if offset > 0 && offset >= t && rows == 0 {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "PGRST103",
                "Requested range not satisfiable",
            )
            .details(format!(
                "An offset of {offset} was requested, but there are only {t} rows."
            )));
        }
    }
    let total_text = total.map_or("*".to_string(), |t| t.to_string());
    let content_range = if rows == 0 {
        format!("*/{total_text}")
    } else {
        format!(
            "{}-{}/{}",
            offset,
            offset.saturating_add(rows - 1),
            total_text
        )
    };
    let status = match total {
        Some(t) if rows < t && (offset > 0 || offset.saturating_add(rows) < t) => {
            StatusCode::PARTIAL_CONTENT
        }
        _ => StatusCode::OK,
    };
    let body = shape_body(body, rows, media, table, role)?;
    Ok(Outcome {
        status,
        body: Some(body),
        content_range: Some(content_range),
        location: None,
        media,
    })
}

/// A write's answer. `post_status` is POST's status (201, or 200 for an upsert that only
/// updated); PATCH and DELETE pass `None` and answer 200 with a body, 204 without.
pub(crate) fn mutation(
    call: &Call<'_>,
    post_status: Option<StatusCode>,
    body: String,
    n: i64,
    patch: bool,
) -> ApiResult<Outcome> {
    let Call {
        table,
        role,
        prefs,
        media,
        ..
    } = *call;
    if media == Media::Object && n != 1 {
        return Err(ApiError::single_object(n as usize));
    }
    let total = if matches!(prefs.count, Some(Count::Exact) | Some(Count::Estimated)) {
        n.to_string()
    } else {
        "*".into()
    };
    let content_range = if patch && n > 0 {
        format!("0-{}/{}", n - 1, total)
    } else {
        format!("*/{total}")
    };
    let location = if prefs.ret == Some(Return::HeadersOnly) && !table.primary_key.is_empty() {
        let v: Json = serde_json::from_str(&body).unwrap_or(Json::Null);
        v.get(0).map(|row| {
            let q: Vec<String> = table
                .primary_key
                .iter()
                .map(|k| {
                    let val = match row.get(k) {
                        Some(Json::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    format!(
                        "{k}=eq.{}",
                        form_urlencoded::byte_serialize(val.as_bytes()).collect::<String>()
                    )
                })
                .collect();
            format!("/{}?{}", table.name, q.join("&"))
        })
    } else {
        None
    };
    if prefs.ret == Some(Return::Representation) {
        let body = shape_body(body, n, media, table, role)?;
        return Ok(Outcome {
            status: post_status.unwrap_or(StatusCode::OK),
            body: Some(body),
            content_range: Some(content_range),
            location,
            media,
        });
    }
    Ok(Outcome {
        status: post_status.unwrap_or(StatusCode::NO_CONTENT),
        body: None,
        content_range: Some(content_range),
        location,
        media,
    })
}

/// The JSON array from PostgreSQL, as the client asked for it.
fn shape_body(
    body: String,
    rows: i64,
    media: Media,
    table: &Table,
    role: &str,
) -> ApiResult<String> {
    match media {
        Media::Json => Ok(body),
        Media::Object => {
            if rows != 1 {
                return Err(ApiError::single_object(rows as usize));
            }
            rows::single(&body)
        }
        Media::Csv => {
            let keys = table
                .star_columns(role)
                .iter()
                .map(|c| c.name.clone())
                .collect();
            rows::csv(&body, keys)
        }
    }
}

/// `nulls=stripped`: the body without its null-valued keys, at any depth.
pub(crate) fn strip_null_keys(body: &str) -> String {
    fn strip(v: Json) -> Json {
        match v {
            Json::Array(a) => Json::Array(a.into_iter().map(strip).collect()),
            Json::Object(o) => Json::Object(
                o.into_iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            other => other,
        }
    }
    serde_json::from_str::<Json>(body)
        .map(|v| strip(v).to_string())
        .unwrap_or_else(|_| body.to_string())
}
