//! `Stripe-Signature` verification: HMAC-SHA256 of `{t}.{raw body}` with the endpoint's
//! signing secret, compared in constant time, within a timestamp tolerance.
//!
//! The header is `t=<unix time>,v1=<hex>[,v1=<hex>...]`: while a signing secret is rolled,
//! Stripe signs with the old and the new one and sends a `v1` for each. Other schemes
//! (`v0`, test-mode extras) are ignored.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// How far the signed timestamp may be from now, as Stripe's own libraries allow.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a delivery is refused (logged, never returned: the answer is a plain 400).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No usable `t=` and `v1=` in the header.
    #[error("malformed Stripe-Signature header")]
    Malformed,
    /// The timestamp is outside the tolerance: a replay of an old delivery, or a bad clock.
    #[error("timestamp outside the tolerance")]
    Expired,
    /// No `v1` matches any configured secret.
    #[error("no signature matches")]
    Mismatch,
}

/// Verifies `header` against the raw `body` with any of `secrets`, at unix time `now`.
pub fn verify(
    header: &str,
    body: &[u8],
    secrets: &[Secret],
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                let parsed = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed)?;
                if timestamp.replace(parsed).is_some() {
                    return Err(SignatureError::Malformed);
                }
            }
            // A value that is not hex can never match; skip it rather than refuse the rest.
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Expired);
    }
    let matches = secrets.iter().any(|secret| {
        let expected = sign(secret.expose().as_bytes(), timestamp, body);
        signatures
            .iter()
            .any(|candidate| bool::from(candidate.as_slice().ct_eq(&expected)))
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// HMAC-SHA256 of `{timestamp}.{body}`; the key is the whole `whsec_...` string.
fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_for_signature_checks";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|v| Secret::new(*v)).collect()
    }

    fn header(key: &str, t: i64) -> String {
        format!("t={t},v1={}", hex::encode(sign(key.as_bytes(), t, BODY)))
    }

    #[test]
    fn a_signature_of_the_body_with_the_secret_verifies() {
        let result = verify(&header(SECRET, 1_000), BODY, &secrets(&[SECRET]), 1_010);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn a_changed_body_does_not_verify() {
        let result = verify(&header(SECRET, 1_000), b"{}", &secrets(&[SECRET]), 1_000);
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_signature_with_another_secret_does_not_verify() {
        let result = verify(
            &header("whsec_other", 1_000),
            BODY,
            &secrets(&[SECRET]),
            1_000,
        );
        assert_eq!(result, Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_timestamp_older_than_the_tolerance_is_refused() {
        let now = 1_000 + TOLERANCE_SECS + 1;
        let result = verify(&header(SECRET, 1_000), BODY, &secrets(&[SECRET]), now);
        assert_eq!(result, Err(SignatureError::Expired));
        let edge = verify(&header(SECRET, 1_000), BODY, &secrets(&[SECRET]), now - 1);
        assert_eq!(edge, Ok(()));
    }

    #[test]
    fn any_v1_may_match_during_a_rotation() {
        let old = header("whsec_old_secret", 1_000);
        let new = hex::encode(sign(SECRET.as_bytes(), 1_000, BODY));
        let rotated = format!("{old},v1={new},v0=ignored");
        assert_eq!(verify(&rotated, BODY, &secrets(&[SECRET]), 1_000), Ok(()));
        // ...and so may any configured secret.
        let both = secrets(&["whsec_unrelated", SECRET]);
        assert_eq!(verify(&header(SECRET, 1_000), BODY, &both, 1_000), Ok(()));
    }

    #[test]
    fn headers_without_a_timestamp_or_signature_are_malformed() {
        for header in [
            "",
            "v1=00",
            "t=1000",
            "t=abc,v1=00",
            "t=1,t=2,v1=00",
            "garbage",
        ] {
            assert_eq!(
                verify(header, BODY, &secrets(&[SECRET]), 1_000),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }
}
