//! Wave's webhook signature: `Wave-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`,
//! hex = HMAC-SHA256(secret, t's digits immediately followed by the raw body). Any `v1`
//! matching any configured secret is accepted; compares are constant-time (`verify_slice`).

pub use platform::signature::SignatureError;

/// The answer's message for each refusal (French first).
pub fn message(e: SignatureError) -> &'static str {
    match e {
        SignatureError::Missing => {
            "En-tête Wave-Signature manquant (missing Wave-Signature header)"
        }
        SignatureError::Malformed => {
            "En-tête Wave-Signature illisible (malformed Wave-Signature header)"
        }
        SignatureError::Stale => {
            "Horodatage de la signature hors tolérance (signature timestamp out of tolerance)"
        }
        SignatureError::Mismatch => "Signature Wave invalide (invalid Wave signature)",
    }
}

/// Checks `header` for `body` at unix time `now` against every secret: Wave signs `t`'s
/// digits immediately followed by the raw body ([`platform::signature`]).
pub fn verify(
    secrets: &[platform::config::Secret],
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    platform::signature::verify(
        secrets.iter().map(|s| s.expose().as_bytes()),
        header,
        now,
        tolerance_secs,
        |t| [t.as_bytes(), body].concat(),
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY_B: &str = r#"{"id":"AE_test_0001","type":"checkout.session.completed","data":{"id":"cos-18qq25rgr100a","amount":"5000","checkout_status":"complete","client_reference":"don-42","currency":"XOF","error_url":"https://example.org/don/error","last_payment_error":null,"business_name":"Example NGO","payment_status":"succeeded","transaction_id":"TCN4Y4ZC3FM","success_url":"https://example.org/don/ok","wave_launch_url":"https://pay.wave.com/c/cos-18qq25rgr100a","when_completed":"2023-11-14T22:14:10Z","when_created":"2023-11-14T22:13:20Z","when_expires":"2023-11-14T22:43:20Z"}}"#;
    const T: i64 = 1_700_000_000;

    fn s(v: &[&str]) -> Vec<platform::config::Secret> {
        v.iter()
            .map(|x| platform::config::Secret::new(*x))
            .collect()
    }

    #[test]
    fn reference_vectors() {
        assert_eq!(BODY_B.len(), 561);
        let a = "t=1700000000,v1=f3a15680551495e7d27302c4d19e4cbedc650f19fa5b40373c00cbea52a64406";
        assert_eq!(
            verify(&s(&["secret"]), Some(a), br#"{"a":1}"#, T, 300),
            Ok(())
        );
        let b = "t=1700000000,v1=3a535bb6ec7eeb9b5f5875a950637e133b9bfb0518404152444d2b7b4f9ad8e5";
        let cur = "wave_sn_WHS_test_0123456789abcdef";
        let old = "wave_sn_WHS_old_fedcba9876543210";
        assert_eq!(
            verify(&s(&[cur]), Some(b), BODY_B.as_bytes(), T, 300),
            Ok(())
        );
        let rot = "t=1700000000,v1=7762b3389a1e5028ebb3ebd5d9e6aa7bf4e6ff60363ba1dc70b4b11aa1a199b8,v1=3a535bb6ec7eeb9b5f5875a950637e133b9bfb0518404152444d2b7b4f9ad8e5";
        assert_eq!(
            verify(&s(&[cur]), Some(rot), BODY_B.as_bytes(), T, 300),
            Ok(())
        );
        assert_eq!(
            verify(&s(&[old]), Some(rot), BODY_B.as_bytes(), T, 300),
            Ok(())
        );
        assert_eq!(
            verify(&s(&["other", old]), Some(rot), BODY_B.as_bytes(), T, 300),
            Ok(())
        );
        // Stripe-style "t.body" must be rejected.
        let dot =
            "t=1700000000,v1=81f28f9f851596d0da8519cdf4d4c217cd07b0230f52a74f1e6fe901635ea38e";
        assert_eq!(
            verify(&s(&[cur]), Some(dot), BODY_B.as_bytes(), T, 300),
            Err(SignatureError::Mismatch)
        );
        // Tolerance both ways, a changed body, missing and malformed headers.
        assert_eq!(
            verify(&s(&[cur]), Some(b), BODY_B.as_bytes(), T + 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&s(&[cur]), Some(b), BODY_B.as_bytes(), T - 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&s(&[cur]), Some(b), b"{}", T, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&s(&[cur]), None, b"{}", T, 300),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&s(&[cur]), Some("v1=00"), b"{}", T, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(&s(&[cur]), Some("t=abc,v1=00"), b"{}", T, 300),
            Err(SignatureError::Malformed)
        );
    }
}
