//! Settings every external token issuer needs: safe URLs and the role claim.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use super::reader::EnvReader;

/// Least time between two fetches of the signing keys caused by unknown `kid`s or errors.
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// A required URL, as given: `https`, or `http` on a loopback address in development only
/// (so a local issuer works, while production traffic is never plain text).
pub(super) fn issuer_url(env: &mut EnvReader<'_>, name: &str, development: bool) -> String {
    let Some(raw) = env.get(name) else {
        env.problem(format!("missing {name}"));
        return String::new();
    };
    if let Err(problem) = check_url(&raw, development) {
        env.problem(format!("{name} {problem}: got {raw:?}"));
    }
    raw
}

/// Why `raw` is not an acceptable issuer or key-set URL.
pub(super) fn check_url(raw: &str, development: bool) -> Result<(), &'static str> {
    let url = Url::parse(raw).map_err(|_| "is not a URL")?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if development && is_loopback(&url) => Ok(()),
        "http" => Err("must use https (plain http only for localhost in development)"),
        _ => Err("must be an https URL"),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// `AUTH_ROLE_CLAIM`: dotted path of the claim holding `admin` or `user`.
pub(super) fn role_claim(env: &EnvReader<'_>) -> Option<String> {
    env.get("AUTH_ROLE_CLAIM")
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn issuer_urls_must_be_https_except_loopback_in_development() {
        assert!(check_url("https://issuer.example.com", false).is_ok());
        assert!(check_url("http://issuer.example.com", false).is_err());
        assert!(check_url("http://issuer.example.com", true).is_err());
        assert!(check_url("http://127.0.0.1:8080", true).is_ok());
        assert!(check_url("http://[::1]:8080", true).is_ok());
        assert!(check_url("http://localhost:9000", true).is_ok());
        assert!(check_url("http://127.0.0.1:8080", false).is_err());
        assert!(check_url("ftp://issuer.example.com", true).is_err());
        assert!(check_url("issuer.example.com", true).is_err());
    }
}
