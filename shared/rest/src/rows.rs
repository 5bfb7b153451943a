//! The JSON array PostgreSQL answers a read with (`json_agg`), reshaped for the client without
//! parsing the values inside the rows: a stored value nested deeper than serde_json's recursion
//! limit (128) reads back like any other instead of failing the request, and numbers keep every
//! digit PostgreSQL wrote.

use std::fmt;

use serde::{
    de::{MapAccess, Visitor},
    Deserialize, Deserializer,
};
use serde_json::value::RawValue;

use crate::error::{ApiError, ApiResult};

/// One row: its keys in order, each value as PostgreSQL wrote it (read without recursion).
struct RawRow(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for RawRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Row;
        impl<'de> Visitor<'de> for Row {
            type Value = RawRow;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a row object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRow, A::Error> {
                let mut out = vec![];
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push(entry);
                }
                Ok(RawRow(out))
            }
        }
        d.deserialize_map(Row)
    }
}

fn rows(body: &str) -> ApiResult<Vec<RawRow>> {
    serde_json::from_str(body).map_err(|e| {
        tracing::error!(error = %e, "the database answered rows that are not a JSON array of objects");
        ApiError::internal("bad json")
    })
}

/// The only row of `body` (the caller has checked there is exactly one).
pub fn single(body: &str) -> ApiResult<String> {
    let values: Vec<Box<RawValue>> = serde_json::from_str(body).map_err(|e| {
        tracing::error!(error = %e, "the database answered rows that are not a JSON array");
        ApiError::internal("bad json")
    })?;
    Ok(values
        .first()
        .map_or_else(|| "null".to_string(), |v| v.get().to_string()))
}

/// `text/csv`: a header of the first row's keys (or `keys` when there is no row), then one
/// line per row; strings unquoted unless they need it, null empty, anything else as JSON.
pub fn csv(body: &str, keys: Vec<String>) -> ApiResult<String> {
    let rows = rows(body)?;
    let keys: Vec<String> = match rows.first() {
        Some(r) => r.0.iter().map(|(k, _)| k.clone()).collect(),
        None => keys,
    };
    let quote = |s: String| -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s
        }
    };
    let cell = |v: Option<&RawValue>| -> String {
        let Some(v) = v else {
            return String::new();
        };
        let raw = v.get().trim();
        if raw == "null" {
            String::new()
        } else if raw.starts_with('"') {
            quote(serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string()))
        } else {
            quote(raw.to_string())
        }
    };
    let mut out = keys
        .iter()
        .map(|k| quote(k.clone()))
        .collect::<Vec<_>>()
        .join(",");
    for r in &rows {
        out.push('\n');
        let line: Vec<String> = keys
            .iter()
            .map(|k| cell(r.0.iter().find(|(rk, _)| rk == k).map(|(_, v)| &**v)))
            .collect();
        out.push_str(&line.join(","));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_deeper_than_serde_json_allows_read_back() {
        let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        let body =
            format!(r#"[{{"k": "a,b", "v": {deep}, "n": null, "x": 12345678901234567890.5}}]"#);
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
        let one = single(&body).unwrap();
        assert!(one.starts_with(r#"{"k": "a,b", "v": [[["#));
        let text = csv(&body, vec![]).unwrap();
        let (head, line) = text.split_once('\n').unwrap();
        assert_eq!(head, "k,v,n,x");
        assert!(line.starts_with(r#""a,b",[[[["#), "{line}");
        assert!(line.ends_with(",,12345678901234567890.5"), "{line}");
        assert_eq!(csv(r#"[]"#, vec!["a".into(), "b".into()]).unwrap(), "a,b");
    }
}
