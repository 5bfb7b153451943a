//! Every link the suite writes for a person to open: in an SMS, an e-mail, a WhatsApp message,
//! Wave's `success_url` and `error_url`, the gift's QR message. One place decides where they
//! point:
//!
//! - `WOLO_PUBLIC_WEB_URL` set: at the web app, with the paths it serves (`/p/<pot>`,
//!   `/dons/<donation>/merci`, `/qr/<code id>`, ...);
//! - unset: at the pages the suite serves itself (`web`), on the suite's own address
//!   (`WOLO_PUBLIC_URL`, else `http://localhost:<port>` of `WOLO_HTTP_ADDR`), so that a link
//!   works out of the box with `make run`.
//!
//! A private pot's page shows its data only to someone holding a link its owner gave out: an
//! invitation (`?i=<invitation id>`, one per invited person) or the owner's share link
//! (`?k=<key>`), whose key is an HMAC of the pot's id under a key derived from the JWT
//! secret ([`Links::share_key`]): knowing a pot's id (a donor's receipt carries it) is not
//! enough to read a private pot.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Config;

/// Where the suite's links point, and the key of pots' share links.
#[derive(Clone)]
pub struct Links {
    base: String,
    own_pages: bool,
    share_secret: Vec<u8>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("base", &self.base)
            .field("own_pages", &self.own_pages)
            .finish_non_exhaustive()
    }
}

/// A share key: 12 bytes (96 bits) of the HMAC, 16 characters of base64url.
const SHARE_KEY_BYTES: usize = 12;
const SHARE_KEY_CHARS: usize = 16;

impl Links {
    pub fn from_config(config: &Config) -> Links {
        Links::new(
            &config.public_web_url,
            config.own_pages,
            config.jwt_secret.expose().as_bytes(),
        )
    }

    /// `base` without a trailing slash; `own_pages` when it is the suite itself.
    pub fn new(base: &str, own_pages: bool, jwt_secret: &[u8]) -> Links {
        // A key of its own, so a share key says nothing about the JWT secret's other uses.
        let mut mac = Hmac::<Sha256>::new_from_slice(jwt_secret).expect("any key length");
        mac.update(b"wolo pot share links v1");
        Links {
            base: base.trim_end_matches('/').to_string(),
            own_pages,
            share_secret: mac.finalize().into_bytes().to_vec(),
        }
    }

    /// The suite's own pages on `make run`'s address, for constructors that have no
    /// configuration (tests of a service's own settings).
    pub fn local() -> Links {
        Links::new("http://localhost:8080", true, b"local links")
    }

    /// The address every link starts with (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// True when the links point at the suite's own pages (`WOLO_PUBLIC_WEB_URL` unset).
    pub fn own_pages(&self) -> bool {
        self.own_pages
    }

    /// The owner's share link of a pot: opens it whatever its visibility.
    pub fn pot(&self, pot: Uuid) -> String {
        format!("{}/p/{pot}?k={}", self.base, self.share_key(pot))
    }

    /// The link of one invitation to a pot.
    pub fn pot_invitation(&self, pot: Uuid, invitation: Uuid) -> String {
        format!("{}/p/{pot}?i={invitation}", self.base)
    }

    /// Where Wave sends a donor whose payment went through (the thank-you page).
    pub fn donation_thanks(&self, donation: Uuid) -> String {
        format!("{}/dons/{donation}/merci", self.base)
    }

    /// Where Wave sends a donor whose payment failed or was cancelled.
    pub fn donation_failed(&self, donation: Uuid) -> String {
        format!("{}/dons/{donation}/echec", self.base)
    }

    /// The gift page of a QR code (by the code's row id): the web app's `/qr/<id>`, the
    /// suite's `/cadeau/<id>` (`/qr/` is the QR service's own prefix there).
    pub fn gift(&self, qr_code: Uuid) -> String {
        if self.own_pages {
            format!("{}/cadeau/{qr_code}", self.base)
        } else {
            format!("{}/qr/{qr_code}", self.base)
        }
    }

    fn share_mac(&self, pot: Uuid) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.share_secret).expect("any length");
        mac.update(pot.as_bytes());
        mac
    }

    /// The share key of `pot`: the first 12 bytes of its HMAC, base64url ([`SHARE_KEY_CHARS`]
    /// characters).
    pub fn share_key(&self, pot: Uuid) -> String {
        let tag = self.share_mac(pot).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..SHARE_KEY_BYTES])
    }

    /// Whether `key` is `pot`'s share key (`hmac`'s constant-time comparison).
    pub fn is_share_key(&self, pot: Uuid, key: &str) -> bool {
        if key.len() != SHARE_KEY_CHARS {
            return false;
        }
        match URL_SAFE_NO_PAD.decode(key) {
            Ok(tag) if tag.len() == SHARE_KEY_BYTES => {
                self.share_mac(pot).verify_truncated_left(&tag).is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_pages_and_the_web_app_differ_only_where_the_paths_do() {
        let own = Links::new("http://localhost:8080/", true, b"secret");
        let app = Links::new("https://app.wolo.sn", false, b"secret");
        let (pot, id) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            own.donation_thanks(id),
            format!("http://localhost:8080/dons/{id}/merci")
        );
        assert_eq!(
            app.donation_failed(id),
            format!("https://app.wolo.sn/dons/{id}/echec")
        );
        assert_eq!(own.gift(id), format!("http://localhost:8080/cadeau/{id}"));
        assert_eq!(app.gift(id), format!("https://app.wolo.sn/qr/{id}"));
        assert_eq!(
            app.pot_invitation(pot, id),
            format!("https://app.wolo.sn/p/{pot}?i={id}")
        );
        assert!(own
            .pot(pot)
            .ends_with(&format!("/p/{pot}?k={}", own.share_key(pot))));
    }

    #[test]
    fn a_share_key_opens_its_own_pot_only() {
        let links = Links::new("http://x", true, b"secret");
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let key = links.share_key(a);
        assert_eq!(key.len(), SHARE_KEY_CHARS);
        assert!(links.is_share_key(a, &key));
        assert!(!links.is_share_key(b, &key));
        assert!(!links.is_share_key(a, &key[..15]));
        assert!(!links.is_share_key(a, ""));
        // Another secret, another key.
        assert!(!Links::new("http://x", true, b"other").is_share_key(a, &key));
    }
}
