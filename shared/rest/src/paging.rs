//! Paging: the query's `limit`/`offset` and the `Range` header, intersected into one window.
//! Every number is an `i64` checked on the way in and every sum saturates, so no request can
//! overflow (debug builds would panic, release builds would wrap into nonsense); what cannot be
//! satisfied is a 416 `PGRST103`.

use axum::http::StatusCode;

use crate::error::{ApiError, ApiResult};

fn unsatisfiable(details: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "PGRST103",
        "Requested range not satisfiable",
    )
    .details(details)
}

/// A `limit` must not be negative (PostgREST's answer: 416).
pub fn check_limit(limit: Option<i64>) -> ApiResult<()> {
    if limit.is_some_and(|l| l < 0) {
        return Err(unsatisfiable(
            "Limit should be greater than or equal to zero.",
        ));
    }
    Ok(())
}

/// `Range: items=a-b` or `a-b` or `a-`, as (first row, exclusive end). A header that is not of
/// that form is ignored, as PostgREST does; a bound of more than 63 bits or an upper bound below
/// the lower one is a 416.
pub fn parse_range(value: Option<&str>) -> ApiResult<Option<(i64, Option<i64>)>> {
    let Some(v) = value else {
        return Ok(None);
    };
    let v = v.trim();
    let v = v.strip_prefix("items=").unwrap_or(v);
    let Some((a, b)) = v.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !(b.is_empty() || digits(b)) {
        return Ok(None);
    }
    let number = |s: &str| {
        s.parse::<i64>().map_err(|_| {
            unsatisfiable(format!(
                "The bounds of the Range header must be at most {}.",
                i64::MAX
            ))
        })
    };
    let first = number(a)?;
    if b.is_empty() {
        return Ok(Some((first, None)));
    }
    let last = number(b)?;
    if last < first {
        return Err(unsatisfiable(
            "The lower boundary must be lower than or equal to the upper boundary in the Range header.",
        ));
    }
    Ok(Some((first, Some(last.saturating_add(1)))))
}

/// The rows to read, as (offset, limit): the query's `limit`/`offset` intersected with the
/// `Range` header's (first, exclusive end). A negative offset counts as 0.
pub fn window(
    limit: Option<i64>,
    offset: Option<i64>,
    range: Option<(i64, Option<i64>)>,
) -> ApiResult<(i64, Option<i64>)> {
    check_limit(limit)?;
    let q_off = offset.unwrap_or(0).max(0);
    let q_end = limit.map(|l| q_off.saturating_add(l));
    let (off, end) = match range {
        None => (q_off, q_end),
        Some((first, h_end)) => {
            let end = match (q_end, h_end) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, None) => x,
                (None, y) => y,
            };
            (q_off.max(first.max(0)), end)
        }
    };
    // Both are non-negative, so the difference cannot overflow.
    Ok((off, end.map(|e| (e - off).max(0))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_limits_intersect() {
        assert_eq!(parse_range(Some("items=0-9")).unwrap(), Some((0, Some(10))));
        assert_eq!(parse_range(Some("5-")).unwrap(), Some((5, None)));
        assert_eq!(parse_range(Some("bytes")).unwrap(), None);
        assert_eq!(parse_range(Some("-5")).unwrap(), None);
        assert_eq!(parse_range(Some("9-2")).unwrap_err().status, 416);
        assert_eq!(window(Some(10), Some(5), None).unwrap(), (5, Some(10)));
        assert_eq!(
            window(Some(10), Some(5), Some((8, Some(12)))).unwrap(),
            (8, Some(4))
        );
        assert_eq!(window(Some(-1), None, None).unwrap_err().status, 416);
    }

    #[test]
    fn the_largest_numbers_saturate() {
        let max = i64::MAX;
        assert_eq!(
            parse_range(Some(&format!("0-{max}"))).unwrap(),
            Some((0, Some(max)))
        );
        assert_eq!(
            parse_range(Some("0-99999999999999999999"))
                .unwrap_err()
                .status,
            416
        );
        assert_eq!(window(Some(max), Some(max), None).unwrap(), (max, Some(0)));
        assert_eq!(
            window(Some(max), Some(1), Some((max, None))).unwrap(),
            (max, Some(0))
        );
    }
}
