//! The issuer's public keys (a JSON Web Key Set): fetched through the issuer's outbound policy
//! (timeout, a few retries, circuit breaker), cached by `kid`, refreshed when stale or on an
//! unknown `kid` (at most once per cooldown), and kept when the endpoint is down.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use backon::ExponentialBuilder;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;
use tokio::sync::{Mutex, RwLock};

use crate::resilience::{Outbound, OutboundError};

/// How long keys are used before a refresh when the response has no `Cache-Control: max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// `max-age` is honoured within these bounds: a tiny value must not turn into a fetch per
/// request, a huge one must not pin a rotated-out key for days.
const MAX_AGE_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(24 * 3600));
/// Timeout of one attempt of an outbound fetch.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Further attempts of a fetch that failed transiently (connection refused, timeout, 5xx,
/// 429): a fetch asks the issuer at most `1 + FETCH_RETRIES` times. Few, because a request
/// may be waiting for the keys.
pub const FETCH_RETRIES: usize = 2;
/// Largest accepted key-set or metadata document.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// One fetched JSON document and how long the server says it may be cached.
pub struct Fetched {
    /// The parsed body.
    pub body: serde_json::Value,
    /// `Cache-Control: max-age`, when given.
    pub max_age: Option<Duration>,
}

/// The outbound calls of token verification to one issuer: an HTTP client (rustls, a
/// connect timeout, no redirects to elsewhere) and the issuer's resilience policy, shared by
/// every fetch from that issuer; cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    outbound: Outbound,
}

impl Default for Fetcher {
    /// [`FETCH_TIMEOUT`] per attempt, [`FETCH_RETRIES`] retries from 100 ms with jitter, and
    /// [`Outbound`]'s breaker: after 5 failed attempts in a row the issuer is not called for
    /// 30 s (then one probe decides), so a dead issuer is not hammered.
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the TLS backend initialises");
        let outbound = Outbound::new("jwks")
            .with_timeout(FETCH_TIMEOUT)
            .with_backoff(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(1))
                    .with_max_times(FETCH_RETRIES)
                    .with_jitter(),
            );
        Self { client, outbound }
    }
}

impl Fetcher {
    /// GETs a JSON document: the one outbound call of token verification. Each attempt has a
    /// timeout and a size limit; transient failures are retried, other answers (404, a body
    /// that is not JSON, ...) are not.
    pub async fn fetch_json(&self, url: &str) -> anyhow::Result<Fetched> {
        self.outbound
            .call_idempotent(|| get_json(&self.client, url), is_transient)
            .await
            .map_err(|error| match error {
                OutboundError::Failed(error) => error,
                refused => anyhow!("GET {url}: {refused}"),
            })
    }
}

/// One attempt of [`Fetcher::fetch_json`].
async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<Fetched> {
    let mut response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?
        .error_for_status()
        .with_context(|| format!("GET {url}"))?;
    let max_age = response
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .and_then(max_age);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("GET {url}"))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            bail!("GET {url}: response larger than {MAX_DOCUMENT_BYTES} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    let body = serde_json::from_slice(&body).with_context(|| format!("GET {url}: not JSON"))?;
    Ok(Fetched { body, max_age })
}

/// Whether trying again may help: the issuer could not be reached, was too slow, failed
/// (5xx) or asked us to slow down (429).
fn is_transient(error: &anyhow::Error) -> bool {
    error.downcast_ref::<reqwest::Error>().is_some_and(|error| {
        error.is_connect()
            || error.is_timeout()
            || error.status().is_some_and(|status| {
                status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
            })
    })
}

/// `max-age` of a `Cache-Control` value (`no-cache`/`no-store` count as zero).
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control
        .split(',')
        .map(str::trim)
        .find_map(|directive| {
            if directive.eq_ignore_ascii_case("no-cache")
                || directive.eq_ignore_ascii_case("no-store")
            {
                return Some(Duration::ZERO);
            }
            let (name, value) = directive.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("max-age")
                .then(|| value.trim().parse().ok().map(Duration::from_secs))?
        })
}

/// A boxed future, so [`KeySource`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the key set comes from.
pub trait KeySource: Send + Sync + 'static {
    /// Fetches the current key set.
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<Fetched>>;
}

/// A key set at a fixed URL.
pub struct JwksUrl {
    fetcher: Fetcher,
    url: String,
}

impl JwksUrl {
    /// Keys from `url`, fetched with `fetcher`.
    pub fn new(fetcher: Fetcher, url: impl Into<String>) -> Self {
        Self {
            fetcher,
            url: url.into(),
        }
    }
}

impl KeySource for JwksUrl {
    fn fetch(&self) -> BoxFuture<'_, anyhow::Result<Fetched>> {
        Box::pin(self.fetcher.fetch_json(&self.url))
    }
}

/// A public key and the only algorithms it may verify.
#[derive(Clone)]
pub struct VerificationKey {
    /// The key.
    pub key: DecodingKey,
    /// Derived from the key type (and its `alg`, when published), never from a token.
    pub algorithms: Vec<Algorithm>,
}

/// Why no key could be found for a token.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    /// The issuer has keys, but not this one (401).
    Unknown,
    /// No key set could be fetched at all (503).
    Unavailable,
}

#[derive(Default)]
struct Cached {
    keys: HashMap<String, VerificationKey>,
    /// When the keys become stale and are refreshed in the background.
    stale_at: Option<Instant>,
    /// Last fetch attempt, successful or not: the cooldown counts from here.
    attempted_at: Option<Instant>,
}

struct Inner {
    source: Box<dyn KeySource>,
    cooldown: Duration,
    cached: RwLock<Cached>,
    /// Held while fetching, so concurrent misses wait for one fetch instead of each starting one.
    fetching: Mutex<()>,
}

/// The cache; cheap to clone.
#[derive(Clone)]
pub struct JwksCache {
    inner: Arc<Inner>,
}

impl JwksCache {
    /// A cache over `source` that fetches at most once per `cooldown` on unknown keys or errors.
    pub fn new(source: impl KeySource, cooldown: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                source: Box::new(source),
                cooldown,
                cached: RwLock::new(Cached::default()),
                fetching: Mutex::new(()),
            }),
        }
    }

    /// The key with this `kid`, fetching the key set when it is unknown and the cooldown allows.
    pub async fn key(&self, kid: &str) -> Result<VerificationKey, KeyError> {
        {
            let cached = self.inner.cached.read().await;
            if let Some(key) = cached.keys.get(kid) {
                if cached.stale_at.is_some_and(|at| Instant::now() >= at) {
                    let cache = self.clone();
                    tokio::spawn(async move { cache.refresh(None).await });
                }
                return Ok(key.clone());
            }
        }
        self.refresh(Some(Instant::now())).await;
        let cached = self.inner.cached.read().await;
        match cached.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if cached.keys.is_empty() => Err(KeyError::Unavailable),
            None => Err(KeyError::Unknown),
        }
    }

    /// Fetches the key set unless another fetch happened since `asked_at` or within the
    /// cooldown; a failed fetch keeps the keys we have.
    async fn refresh(&self, asked_at: Option<Instant>) {
        let _fetching = self.inner.fetching.lock().await;
        let attempted_at = self.inner.cached.read().await.attempted_at;
        if let Some(last) = attempted_at {
            let fresh_enough = asked_at.is_some_and(|asked| last >= asked);
            if fresh_enough || last.elapsed() < self.inner.cooldown {
                return;
            }
        }
        let result = self.inner.source.fetch().await;
        let mut cached = self.inner.cached.write().await;
        let now = Instant::now();
        cached.attempted_at = Some(now);
        match result.and_then(|fetched| Ok((parse_key_set(fetched.body)?, fetched.max_age))) {
            Ok((keys, max_age)) => {
                let (min, max) = MAX_AGE_BOUNDS;
                let max_age = max_age.unwrap_or(DEFAULT_MAX_AGE).clamp(min, max);
                tracing::debug!(keys = keys.len(), ?max_age, "fetched signing keys");
                cached.keys = keys;
                cached.stale_at = Some(now + max_age);
            }
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "could not fetch signing keys");
            }
        }
    }
}

/// The usable signing keys of a key set, by `kid`; keys without a `kid`, encryption keys,
/// symmetric keys and unsupported types are skipped.
fn parse_key_set(body: serde_json::Value) -> anyhow::Result<HashMap<String, VerificationKey>> {
    let set: JwkSet = serde_json::from_value(body).context("not a JSON Web Key Set")?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = &jwk.common.key_id else {
            continue;
        };
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let Some(algorithms) = algorithms_for(jwk) else {
            continue;
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(kid.clone(), VerificationKey { key, algorithms });
            }
            Err(error) => tracing::warn!(%kid, %error, "skipping an unusable signing key"),
        }
    }
    Ok(keys)
}

/// The algorithms a key may verify, from its type and curve; a published `alg` narrows
/// this to one and must agree with the type.
fn algorithms_for(jwk: &Jwk) -> Option<Vec<Algorithm>> {
    use Algorithm::{ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512};
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[ES256],
            EllipticCurve::P384 => &[ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => &[EdDSA],
            _ => return None,
        },
        // Symmetric keys and unknown types never verify tokens from a published key set.
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None if matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) => Some(vec![RS256]),
        None => Some(by_type.to_vec()),
        Some(published) => {
            let published = Algorithm::try_from(published).ok()?;
            by_type.contains(&published).then(|| vec![published])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            max_age("public, max-age=300, must-revalidate"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn symmetric_and_encryption_keys_are_never_used() {
        let set = serde_json::json!({ "keys": [
            { "kty": "oct", "kid": "shared", "k": "c2VjcmV0" },
            { "kty": "OKP", "crv": "Ed25519", "kid": "enc", "use": "enc",
              "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
            { "kty": "OKP", "crv": "Ed25519", "kid": "sig",
              "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
        ]});
        let keys = parse_key_set(set).expect("a key set");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["sig"].algorithms, [Algorithm::EdDSA]);
    }

    /// An issuer answering `status` to every request, and the URL to fetch from it.
    async fn issuer_answering(status: u16) -> (wiremock::MockServer, String) {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let url = format!("{}/jwks.json", server.uri());
        (server, url)
    }

    async fn requests(server: &wiremock::MockServer) -> usize {
        server.received_requests().await.unwrap_or_default().len()
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_other_failures_are_not() {
        for (status, attempts) in [(503, 1 + FETCH_RETRIES), (429, 1 + FETCH_RETRIES), (404, 1)] {
            let (issuer, url) = issuer_answering(status).await;
            assert!(Fetcher::default().fetch_json(&url).await.is_err());
            assert_eq!(requests(&issuer).await, attempts, "{status}");
        }
    }

    #[tokio::test]
    async fn a_dead_issuer_is_left_alone_once_the_breaker_opens() {
        let (issuer, url) = issuer_answering(503).await;
        let fetcher = Fetcher::default();
        assert!(fetcher.fetch_json(&url).await.is_err());
        // The second fetch's attempts open the breaker (5 failures in a row)...
        assert!(fetcher.fetch_json(&url).await.is_err());
        assert_eq!(requests(&issuer).await, 5);
        // ...which then refuses fetches without calling the issuer.
        let Err(refused) = fetcher.fetch_json(&url).await else {
            panic!("the breaker is open");
        };
        assert!(refused.to_string().contains("circuit open"), "{refused}");
        assert_eq!(requests(&issuer).await, 5);
    }
}
