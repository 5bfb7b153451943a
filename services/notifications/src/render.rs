//! Templates: locales, variable checking, formatting the Senegalese way, rendering.
//!
//! Placeholders are `{{name}}`; a template's `variables` (JSONB) declares every one with its
//! type: `string`, `number`, `cfa`, `date`, `datetime` (see V20). Numbers and amounts use a
//! plain space (U+0020) as the thousands separator in every locale: "15 000 FCFA". A plain
//! space keeps SMS texts in the GSM-7 alphabet (U+202F would switch a whole SMS to UCS-2 and
//! cut it from 160 to 70 characters). Dates and times are shown in Africa/Dakar.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Africa::Dakar;
use serde_json::{Map, Value};

use crate::error::NotifyError;

/// The thousands separator of amounts and numbers (a plain space, see the module docs).
pub const THOUSANDS_SEPARATOR: char = ' ';
/// Locales with templates; the first is the fallback.
pub const LOCALES: [&str; 3] = ["fr-SN", "wo-SN", "en"];
pub const DEFAULT_LOCALE: &str = "fr-SN";

/// The channels of a message: the very type of `notification.requested`'s `channels`.
pub use platform::events::Channel;

/// `fr`, `fr_SN`, `FR-sn`... → `fr-SN`; `wo*` → `wo-SN`; `en*` → `en`; anything else → None.
pub fn normalise_locale(s: &str) -> Option<&'static str> {
    let lang = s
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match lang.as_str() {
        "fr" => Some("fr-SN"),
        "wo" => Some("wo-SN"),
        "en" => Some("en"),
        _ => None,
    }
}

/// `12345` → `"12 345"`; negative numbers keep their sign ([`platform::amounts`]).
pub fn group_thousands(n: i64) -> String {
    platform::amounts::group_thousands(n, THOUSANDS_SEPARATOR)
}

/// "5 mars 2026" (fr-SN and wo-SN: Wolof speakers use the French month names), "5 March 2026" (en).
pub fn format_date(d: NaiveDate, locale: &str) -> String {
    platform::calendar::long_date(d, locale)
}

/// In Africa/Dakar: "5 mars 2026 à 14h30" (fr-SN), "5 mars 2026 ci 14h30" (wo-SN),
/// "5 March 2026 at 14:30" (en).
pub fn format_datetime(t: DateTime<Utc>, locale: &str) -> String {
    let local = t.with_timezone(&Dakar);
    let date = format_date(local.date_naive(), locale);
    match locale {
        "en" => format!("{date} at {}", local.format("%H:%M")),
        "wo-SN" => format!("{date} ci {}", local.format("%Hh%M")),
        _ => format!("{date} à {}", local.format("%Hh%M")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarType {
    String,
    Number,
    Cfa,
    Date,
    Datetime,
}

impl VarType {
    fn parse(s: &str) -> Option<VarType> {
        Some(match s {
            "string" => VarType::String,
            "number" => VarType::Number,
            "cfa" => VarType::Cfa,
            "date" => VarType::Date,
            "datetime" => VarType::Datetime,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            VarType::String => "a string",
            VarType::Number => "an integer",
            VarType::Cfa => "an integer amount in CFA francs",
            VarType::Date => "a date (YYYY-MM-DD)",
            VarType::Datetime => "a date and time (RFC 3339, e.g. 2026-03-05T14:30:00Z)",
        }
    }
}

/// A template row, as the renderer needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Template {
    pub id: uuid::Uuid,
    pub template_key: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub channels: Option<Vec<String>>,
    pub locale: Option<String>,
    pub variables: Option<Value>,
}

impl Template {
    /// `otp.fr-SN` → `otp`.
    pub fn message_key(&self) -> &str {
        self.template_key
            .rsplit_once('.')
            .map(|(m, _)| m)
            .unwrap_or(&self.template_key)
    }

    pub fn locale(&self) -> &str {
        self.locale.as_deref().unwrap_or(DEFAULT_LOCALE)
    }

    pub fn channels(&self) -> Vec<Channel> {
        self.channels
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|c| Channel::parse(c))
            .collect()
    }

    fn declared(&self) -> Result<Vec<(String, VarType)>, NotifyError> {
        let Some(vars) = &self.variables else {
            return Ok(vec![]);
        };
        let obj = vars
            .as_object()
            .ok_or_else(|| self.broken("variables is not an object"))?;
        obj.iter()
            .map(|(k, v)| {
                let t = v.as_str().and_then(VarType::parse).ok_or_else(|| {
                    self.broken(&format!("variable {k:?} has an unknown type {v}"))
                })?;
                Ok((k.clone(), t))
            })
            .collect()
    }

    fn broken(&self, why: &str) -> NotifyError {
        NotifyError::BrokenTemplate {
            template_key: self.template_key.clone(),
            why: why.to_string(),
        }
    }

    /// Checks `data` against the declared variables (every one present with its type, none
    /// undeclared) and formats each value for the template's locale.
    pub fn check(&self, data: &Value) -> Result<Map<String, Value>, NotifyError> {
        let message = self.message_key().to_string();
        let empty = Map::new();
        let obj = match data {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return Err(NotifyError::DataNotObject),
        };
        let declared = self.declared()?;
        for k in obj.keys() {
            if !declared.iter().any(|(d, _)| d == k) {
                return Err(NotifyError::UnknownVariable {
                    message: message.clone(),
                    variable: k.clone(),
                });
            }
        }
        let locale = self.locale();
        let mut out = Map::new();
        for (name, ty) in declared {
            let v = match obj.get(&name) {
                None | Some(Value::Null) => {
                    return Err(NotifyError::MissingVariable {
                        message: message.clone(),
                        variable: name,
                    })
                }
                Some(v) => v,
            };
            let bad = |why: &str| NotifyError::BadVariable {
                variable: name.clone(),
                expected: ty.describe().to_string(),
                why: why.to_string(),
            };
            let text = match ty {
                VarType::String => match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(bad(&format!("got {v}"))),
                },
                VarType::Number | VarType::Cfa => match v.as_i64() {
                    Some(n) => group_thousands(n),
                    None => return Err(bad(&format!("got {v}"))),
                },
                VarType::Date => {
                    let s = v.as_str().ok_or_else(|| bad(&format!("got {v}")))?;
                    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .or_else(|_| {
                            DateTime::parse_from_rfc3339(s)
                                .map(|t| t.with_timezone(&Dakar).date_naive())
                        })
                        .map_err(|e| bad(&format!("{s:?}: {e}")))?;
                    format_date(d, locale)
                }
                VarType::Datetime => {
                    let s = v.as_str().ok_or_else(|| bad(&format!("got {v}")))?;
                    let t =
                        DateTime::parse_from_rfc3339(s).map_err(|e| bad(&format!("{s:?}: {e}")))?;
                    format_datetime(t.with_timezone(&Utc), locale)
                }
            };
            out.insert(name, Value::String(text));
        }
        Ok(out)
    }

    /// Subject, text and HTML bodies with the formatted values substituted.
    pub fn render(&self, values: &Map<String, Value>) -> Result<Rendered, NotifyError> {
        Ok(Rendered {
            subject: self
                .subject
                .as_deref()
                .map(|s| substitute(s, values, false))
                .transpose()
                .map_err(|v| self.broken(&format!("subject uses undeclared {{{{{v}}}}}")))?,
            body_text: substitute(&self.body_text, values, false)
                .map_err(|v| self.broken(&format!("body_text uses undeclared {{{{{v}}}}}")))?,
            body_html: self
                .body_html
                .as_deref()
                .map(|s| substitute(s, values, true))
                .transpose()
                .map_err(|v| self.broken(&format!("body_html uses undeclared {{{{{v}}}}}")))?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces every `{{name}}`; an undeclared name is the error (its name).
fn substitute(tpl: &str, values: &Map<String, Value>, html: bool) -> Result<String, String> {
    let mut out = String::with_capacity(tpl.len() + 32);
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = after[..end].trim();
        let value = values
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| name.to_string())?;
        if html {
            out.push_str(&html_escape(value));
        } else {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_grouped_with_a_plain_space() {
        assert_eq!(group_thousands(15000), "15 000");
        assert_eq!(group_thousands(1234567), "1 234 567");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(-25000), "-25 000");
        assert_eq!(group_thousands(0), "0");
    }

    #[test]
    fn locales_are_normalised() {
        assert_eq!(normalise_locale("fr"), Some("fr-SN"));
        assert_eq!(normalise_locale("wo_SN"), Some("wo-SN"));
        assert_eq!(normalise_locale("en-GB"), Some("en"));
        assert_eq!(normalise_locale("de"), None);
    }

    #[test]
    fn dates_in_dakar() {
        let d = NaiveDate::from_ymd_opt(2026, 8, 5).unwrap();
        assert_eq!(format_date(d, "fr-SN"), "5 août 2026");
        assert_eq!(format_date(d, "en"), "5 August 2026");
        let t = DateTime::parse_from_rfc3339("2026-03-05T14:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_datetime(t, "fr-SN"), "5 mars 2026 à 14h30");
        assert_eq!(format_datetime(t, "en"), "5 March 2026 at 14:30");
    }

    #[test]
    fn html_values_are_escaped() {
        let mut m = Map::new();
        m.insert("n".into(), json!("<b>&"));
        assert_eq!(
            substitute("a {{n}} b", &m, true).unwrap(),
            "a &lt;b&gt;&amp; b"
        );
        assert_eq!(substitute("a {{n}} b", &m, false).unwrap(), "a <b>& b");
        assert_eq!(substitute("{{x}}", &m, false).unwrap_err(), "x");
    }
}
