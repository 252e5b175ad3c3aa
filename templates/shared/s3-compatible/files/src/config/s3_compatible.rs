//! The S3 client shared by S3 and S3-compatible stores, built once while the configuration
//! loads so that an unusable setting is reported with the others.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use super::Secret;
use super::reader::EnvReader;

/// Where development stores files when no bucket is configured: a local MinIO.
const DEV_MINIO_URL: &str = "http://127.0.0.1:9000";
const DEV_BUCKET: &str = "uploads";

/// Retries of a failed store request: a few, within a time a client waits for an answer
/// (`object_store` defaults to 10 retries over up to 3 minutes, which holds the request
/// open long after the client gave up).
const RETRY: RetryConfig = RetryConfig {
    backoff: BackoffConfig {
        init_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(2),
        base: 2.0,
    },
    max_retries: 3,
    retry_timeout: Duration::from_secs(15),
};

/// What an S3 client needs; the provider's settings fill it in.
pub(crate) struct S3Settings {
    pub bucket: Option<String>,
    pub region: String,
    pub endpoint: Option<String>,
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
}

/// The bucket and the client of the chosen store.
#[derive(Clone)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// The client; `None` only in a configuration that was refused.
    pub client: Option<Arc<AmazonS3>>,
}

impl fmt::Debug for S3Config {
    // The client holds the credentials: only the bucket is printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Builds the client; every missing or unusable setting is a problem of `env`.
    /// `names` are the provider's variable names: bucket, access key id, secret key.
    /// In development with none of them set, a local MinIO with its default account is
    /// used instead (and `notes` says so), so `cargo run` needs no cloud account.
    pub(crate) fn build(
        env: &mut EnvReader<'_>,
        mut settings: S3Settings,
        names: [&str; 3],
        development: bool,
        notes: &mut Vec<String>,
    ) -> Self {
        let unset = settings.bucket.is_none()
            && settings.access_key_id.is_none()
            && settings.secret_access_key.is_none();
        if development && unset {
            notes.push(format!(
                "{} are not set: storing files in a local MinIO at {DEV_MINIO_URL}, bucket \
                 {DEV_BUCKET} (development default; `minio server` with its default account)",
                names.join(", ")
            ));
            settings = S3Settings {
                bucket: Some(DEV_BUCKET.to_owned()),
                region: "us-east-1".to_owned(),
                endpoint: Some(DEV_MINIO_URL.to_owned()),
                path_style: true,
                access_key_id: Some("minioadmin".to_owned()),
                secret_access_key: Some(Secret::new("minioadmin")),
            };
        }
        let [bucket_var, key_var, secret_var] = names;
        let mut missing = |value: bool, name: &str| {
            if !value {
                env.problem(format!("missing {name} (needed by storage)"));
            }
        };
        missing(settings.bucket.is_some(), bucket_var);
        missing(settings.access_key_id.is_some(), key_var);
        missing(settings.secret_access_key.is_some(), secret_var);
        let (Some(bucket), Some(key), Some(secret)) = (
            settings.bucket,
            settings.access_key_id,
            settings.secret_access_key,
        ) else {
            return Self {
                bucket: String::new(),
                client: None,
            };
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&bucket)
            .with_region(settings.region)
            .with_access_key_id(key)
            .with_secret_access_key(secret.expose())
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_retry(RETRY);
        if let Some(endpoint) = settings.endpoint {
            // A local MinIO or test server listens on plain HTTP; production endpoints
            // are https:// and stay so.
            let options = ClientOptions::new().with_allow_http(endpoint.starts_with("http://"));
            builder = builder.with_endpoint(endpoint).with_client_options(options);
        }
        match builder.build() {
            Ok(client) => Self {
                bucket,
                client: Some(Arc::new(client)),
            },
            Err(error) => {
                env.problem(format!("storage settings are unusable: {error}"));
                Self {
                    bucket,
                    client: None,
                }
            }
        }
    }
}
