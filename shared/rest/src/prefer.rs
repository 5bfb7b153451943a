//! `Prefer` (RFC 7240) as PostgREST reads it, and `Preference-Applied`.

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Return {
    #[default]
    Minimal,
    HeadersOnly,
    Representation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact,
    Planned,
    Estimated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    MergeDuplicates,
    IgnoreDuplicates,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pub ret: Option<Return>,
    pub count: Option<Count>,
    pub resolution: Option<Resolution>,
    pub missing_default: bool,
    pub strict: Option<bool>,
    pub rollback: Option<bool>,
    pub max_affected: Option<i64>,
    pub timezone: Option<String>,
}

impl Preferences {
    /// Parses every `Prefer` header value; the first occurrence of a preference wins.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> ApiResult<Preferences> {
        let mut p = Preferences::default();
        let mut unknown = vec![];
        let mut seen = std::collections::HashSet::new();
        for v in values {
            for item in v.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let (k, val) = item
                    .split_once('=')
                    .map(|(k, v)| (k.trim(), v.trim()))
                    .unwrap_or((item, ""));
                if !seen.insert(k.to_string()) {
                    continue;
                }
                match (k, val) {
                    ("return", "minimal") => p.ret = Some(Return::Minimal),
                    ("return", "headers-only") => p.ret = Some(Return::HeadersOnly),
                    ("return", "representation") => p.ret = Some(Return::Representation),
                    ("count", "exact") => p.count = Some(Count::Exact),
                    ("count", "planned") => p.count = Some(Count::Planned),
                    ("count", "estimated") => p.count = Some(Count::Estimated),
                    ("resolution", "merge-duplicates") => {
                        p.resolution = Some(Resolution::MergeDuplicates)
                    }
                    ("resolution", "ignore-duplicates") => {
                        p.resolution = Some(Resolution::IgnoreDuplicates)
                    }
                    ("missing", "default") => p.missing_default = true,
                    ("missing", "null") => p.missing_default = false,
                    ("handling", "strict") => p.strict = Some(true),
                    ("handling", "lenient") => p.strict = Some(false),
                    ("tx", "commit") => p.rollback = Some(false),
                    ("tx", "rollback") => p.rollback = Some(true),
                    // A count of rows: 0 up to i64::MAX; anything else is not a preference
                    // (refused under handling=strict, ignored otherwise, as PostgREST does).
                    ("max-affected", n) if n.parse::<i64>().is_ok_and(|n| n >= 0) => {
                        p.max_affected = n.parse().ok()
                    }
                    ("timezone", tz) if !tz.is_empty() => p.timezone = Some(tz.to_string()),
                    _ => {
                        seen.remove(k);
                        unknown.push(item.to_string());
                    }
                }
            }
        }
        if p.strict == Some(true) && !unknown.is_empty() {
            return Err(ApiError::bad_request(
                "PGRST122",
                "Invalid preferences given with handling=strict",
            )
            .details(format!("Invalid preferences: {}", unknown.join(", "))));
        }
        Ok(p)
    }

    /// `Preference-Applied`, in PostgREST's order, for what this request honoured.
    pub fn applied(&self, write: bool, timezone_applied: bool) -> Option<String> {
        let mut out = vec![];
        if write {
            match self.resolution {
                Some(Resolution::MergeDuplicates) => {
                    out.push("resolution=merge-duplicates".to_string())
                }
                Some(Resolution::IgnoreDuplicates) => {
                    out.push("resolution=ignore-duplicates".to_string())
                }
                None => {}
            }
            if self.missing_default {
                out.push("missing=default".into());
            }
            match self.ret {
                Some(Return::Minimal) => out.push("return=minimal".into()),
                Some(Return::HeadersOnly) => out.push("return=headers-only".into()),
                Some(Return::Representation) => out.push("return=representation".into()),
                None => {}
            }
        }
        match self.count {
            Some(Count::Exact) => out.push("count=exact".into()),
            Some(Count::Planned) => out.push("count=planned".into()),
            Some(Count::Estimated) => out.push("count=estimated".into()),
            None => {}
        }
        match self.rollback {
            Some(true) => out.push("tx=rollback".into()),
            Some(false) => out.push("tx=commit".into()),
            None => {}
        }
        match self.strict {
            Some(true) => out.push("handling=strict".into()),
            Some(false) => out.push("handling=lenient".into()),
            None => {}
        }
        if timezone_applied {
            if let Some(tz) = &self.timezone {
                out.push(format!("timezone={tz}"));
            }
        }
        if write && self.strict == Some(true) {
            if let Some(n) = self.max_affected {
                out.push(format!("max-affected={n}"));
            }
        }
        (!out.is_empty()).then(|| out.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_headers_and_values_first_wins() {
        let p = Preferences::parse(
            [
                "count=exact, return=representation",
                "return=minimal,missing=default",
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(p.count, Some(Count::Exact));
        assert_eq!(p.ret, Some(Return::Representation));
        assert!(p.missing_default);
        assert_eq!(
            p.applied(true, false).unwrap(),
            "missing=default, return=representation, count=exact"
        );
    }

    #[test]
    fn strict_handling_refuses_unknown_preferences() {
        let e = Preferences::parse(["handling=strict, frobnicate=yes"].into_iter()).unwrap_err();
        assert_eq!(e.code, "PGRST122");
        assert!(Preferences::parse(["frobnicate=yes"].into_iter()).is_ok());
    }
}
