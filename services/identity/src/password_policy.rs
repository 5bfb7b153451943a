//! What a new password must satisfy (sign-up, `PUT /user`), as GoTrue checks it
//! (`checkPasswordStrength`): a minimum length, at least one character of each required
//! set, and not a known password. A refusal is GoTrue's `WeakPasswordError`: 422
//! `weak_password` with `weak_password: {reasons}` beside the usual fields, each reason one
//! of `length`, `characters`, `pwned` (auth-js: `AuthWeakPasswordError.reasons`).
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `WOLO_PASSWORD_MIN_LENGTH` | `8` | minimum number of characters (Unicode scalar values), at least 6 |
//! | `WOLO_PASSWORD_REQUIRED_CHARACTERS` | empty | GoTrue's format: sets of characters separated by `:` (`\:` is a colon inside a set); the password needs one character of each set |
//! | `WOLO_PASSWORD_REJECT_COMMON` | `true` | refuse the passwords of `data/common-passwords.txt` (compared lower-cased), reason `pwned` |
//!
//! Sign-in never checks the policy: a password set under an older policy keeps working.

use std::{collections::HashSet, sync::OnceLock};

use axum::http::StatusCode;
use platform::config::{ConfigError, Env};
use rest::ApiError;
use serde_json::json;

/// The default minimum length.
pub const DEFAULT_MIN_LENGTH: usize = 8;
/// No setting may go below this (GoTrue's own floor).
pub const FLOOR_MIN_LENGTH: usize = 6;

/// The list of common passwords, one per line, `#` comments (built by
/// `data/make-common-passwords.py`).
const COMMON: &str = include_str!("../data/common-passwords.txt");

/// The password rules (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    /// Each set must contribute at least one character; none when empty.
    pub required_characters: Vec<String>,
    pub reject_common: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: DEFAULT_MIN_LENGTH,
            required_characters: Vec::new(),
            reject_common: true,
        }
    }
}

/// Why a password is refused: GoTrue's reasons and one sentence per reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeakPassword {
    pub reasons: Vec<&'static str>,
    /// French sentences, then the English ones (GoTrue's) in parentheses.
    pub message: String,
}

impl From<WeakPassword> for ApiError {
    fn from(w: WeakPassword) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "weak_password", w.message)
            .field("weak_password", json!({ "reasons": w.reasons }))
    }
}

impl PasswordPolicy {
    /// The policy from `env` (see the module docs; read once at start-up,
    /// `crate::settings`); an error names the setting.
    pub fn from_env(env: &Env) -> Result<PasswordPolicy, ConfigError> {
        let mut policy = PasswordPolicy::default();
        if let Some(v) = env.get("WOLO_PASSWORD_MIN_LENGTH") {
            policy.min_length = v
                .parse::<usize>()
                .ok()
                .filter(|n| (FLOOR_MIN_LENGTH..=1024).contains(n))
                .ok_or_else(|| {
                    ConfigError::invalid(
                        "WOLO_PASSWORD_MIN_LENGTH",
                        format!(
                            "{v:?} is not a number of characters from {FLOOR_MIN_LENGTH} to 1024"
                        ),
                    )
                })?;
        }
        // Not trimmed: a set may be spaces.
        if let Some(v) = env.raw("WOLO_PASSWORD_REQUIRED_CHARACTERS") {
            policy.required_characters = parse_required_characters(&v);
        }
        if let Some(v) = env.get("WOLO_PASSWORD_REJECT_COMMON") {
            policy.reject_common = match v.to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => true,
                "false" | "off" | "no" | "0" => false,
                _ => {
                    return Err(ConfigError::invalid(
                        "WOLO_PASSWORD_REJECT_COMMON",
                        format!("{v:?} is not true or false"),
                    ))
                }
            };
        }
        Ok(policy)
    }

    /// Every reason `password` is weak, GoTrue's order (length, characters, pwned).
    pub fn check(&self, password: &str) -> Result<(), WeakPassword> {
        let mut reasons = Vec::new();
        let mut fr = Vec::new();
        let mut en = Vec::new();
        if password.chars().count() < self.min_length {
            reasons.push("length");
            fr.push(format!(
                "Le mot de passe doit contenir au moins {} caractères.",
                self.min_length
            ));
            en.push(format!(
                "Password should be at least {} characters.",
                self.min_length
            ));
        }
        if self
            .required_characters
            .iter()
            .any(|set| !password.chars().any(|c| set.contains(c)))
        {
            reasons.push("characters");
            let sets = self.required_characters.join(", ");
            fr.push(format!(
                "Le mot de passe doit contenir au moins un caractère de chacun de : {sets}."
            ));
            en.push(format!(
                "Password should contain at least one character of each: {sets}."
            ));
        }
        if self.reject_common && is_common(password) {
            reasons.push("pwned");
            fr.push(
                "Ce mot de passe est trop courant et facile à deviner, choisissez-en un autre."
                    .into(),
            );
            en.push(
                "Password is known to be weak and easy to guess, please choose a different one."
                    .into(),
            );
        }
        if reasons.is_empty() {
            return Ok(());
        }
        Err(WeakPassword {
            reasons,
            message: format!("{} ({})", fr.join(" "), en.join(" ")),
        })
    }
}

/// GoTrue's `PasswordRequiredCharacters.Decode`: sets separated by `:`, a `\` before a `:`
/// keeps it inside the set, empty sets dropped.
pub fn parse_required_characters(value: &str) -> Vec<String> {
    let mut parts: Vec<String> = value.split(':').map(str::to_string).collect();
    let n = parts.len();
    for i in 0..n.saturating_sub(1) {
        if parts[i].ends_with('\\') {
            let mut joined = parts[i][..parts[i].len() - 1].to_string();
            joined.push(':');
            joined.push_str(&parts[i + 1]);
            parts[i] = String::new();
            parts[i + 1] = joined;
        }
    }
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Whether `password`, lower-cased, is in the list of common passwords.
pub fn is_common(password: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });
    set.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)]) -> Result<PasswordPolicy, String> {
        PasswordPolicy::from_env(&Env::from_pairs(pairs)).map_err(|e| e.to_string())
    }

    #[test]
    fn the_defaults_are_eight_characters_no_classes_and_no_common_password() {
        let p = policy(&[]).unwrap();
        assert_eq!(p, PasswordPolicy::default());
        assert_eq!(p.min_length, 8);
        assert!(p.required_characters.is_empty());
        assert!(p.reject_common);
        assert!(p.check("Teranga-4f2a").is_ok());
        assert!(p.check("jamm-ak-salaam").is_ok());
        // Characters, not bytes: 8 accented letters are 8.
        assert!(p.check("éèàùçôîâ").is_ok());
        assert_eq!(p.check("court").unwrap_err().reasons, vec!["length"]);
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        let p = PasswordPolicy::default();
        for common in [
            "12345678",
            "password",
            "Password1",
            "AZERTY123",
            "azertyuiop",
            "motdepasse",
            "Senegal2024",
            "dakar221",
            "teranga123",
            "iloveyou",
            "00000000",
            "19901990",
            "bismillah",
        ] {
            let err = p.check(common).unwrap_err();
            assert_eq!(err.reasons, vec!["pwned"], "{common}");
            assert!(err.message.contains("trop courant"), "{}", err.message);
        }
        // "123456" is both short and common.
        assert_eq!(
            p.check("123456").unwrap_err().reasons,
            vec!["length", "pwned"]
        );
        let off = policy(&[("WOLO_PASSWORD_REJECT_COMMON", "false")]).unwrap();
        assert!(off.check("12345678").is_ok());
    }

    #[test]
    fn required_characters_follow_gotrues_format_and_message() {
        assert_eq!(
            parse_required_characters("abc:ABC:0123456789"),
            vec!["abc", "ABC", "0123456789"]
        );
        assert_eq!(parse_required_characters(""), Vec::<String>::new());
        assert_eq!(parse_required_characters("::a::"), vec!["a"]);
        // An escaped colon belongs to its set.
        assert_eq!(parse_required_characters(r"abc:!@\:#"), vec!["abc", "!@:#"]);
        let p = policy(&[(
            "WOLO_PASSWORD_REQUIRED_CHARACTERS",
            "abcdefghijklmnopqrstuvwxyz:ABCDEFGHIJKLMNOPQRSTUVWXYZ:0123456789",
        )])
        .unwrap();
        assert!(p.check("Teranga2026x").is_ok());
        let err = p.check("teranga-sans-chiffre").unwrap_err();
        assert_eq!(err.reasons, vec!["characters"]);
        assert!(
            err.message.contains(
                "Password should contain at least one character of each: abcdefghijklmnopqrstuvwxyz, ABCDEFGHIJKLMNOPQRSTUVWXYZ, 0123456789."
            ),
            "{}",
            err.message
        );
        // Every reason at once, in GoTrue's order.
        assert_eq!(
            p.check("azerty").unwrap_err().reasons,
            vec!["length", "characters", "pwned"]
        );
    }

    #[test]
    fn a_bad_setting_is_named() {
        for v in ["5", "huit", "0", "2000"] {
            let err = policy(&[("WOLO_PASSWORD_MIN_LENGTH", v)]).unwrap_err();
            assert!(err.contains("WOLO_PASSWORD_MIN_LENGTH"), "{err}");
        }
        assert_eq!(
            policy(&[("WOLO_PASSWORD_MIN_LENGTH", " 12 ")])
                .unwrap()
                .min_length,
            12
        );
        let err = policy(&[("WOLO_PASSWORD_REJECT_COMMON", "peut-être")]).unwrap_err();
        assert!(err.contains("WOLO_PASSWORD_REJECT_COMMON"), "{err}");
    }

    #[test]
    fn a_refusal_is_gotrues_weak_password_body() {
        let e: ApiError = PasswordPolicy::default().check("1234").unwrap_err().into();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.code, "weak_password");
        let body = serde_json::to_value(&e).unwrap();
        assert_eq!(body["weak_password"], json!({"reasons": ["length"]}));
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("Password should be at least 8 characters."),
            "{body}"
        );
    }

    #[test]
    fn the_shipped_list_is_lower_case_and_long_enough() {
        let entries: Vec<&str> = COMMON
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert!(entries.len() > 5000, "{}", entries.len());
        assert!(entries.iter().all(|e| *e == e.to_lowercase()));
        assert!(entries
            .iter()
            .all(|e| e.chars().count() >= FLOOR_MIN_LENGTH));
    }
}
