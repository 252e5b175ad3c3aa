//! Cloudflare R2 through its S3 API: the account's endpoint, region `auto`, an R2 API
//! token's key pair.

use super::Secret;
use super::reader::EnvReader;
use super::s3_compatible::{S3Config, S3Settings};

/// `R2_ACCOUNT_ID`, `R2_BUCKET`, `R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY`, `R2_ENDPOINT`.
pub(crate) fn load(
    env: &mut EnvReader<'_>,
    development: bool,
    notes: &mut Vec<String>,
) -> S3Config {
    let account = env.get("R2_ACCOUNT_ID");
    // In development with nothing set, the shared loader falls back to a local MinIO.
    let nothing_set = account.is_none()
        && ["R2_BUCKET", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"]
            .iter()
            .all(|name| env.get(name).is_none());
    let endpoint = match (env.get("R2_ENDPOINT"), account) {
        (Some(endpoint), _) => {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                env.problem("R2_ENDPOINT must start with http:// or https://");
            }
            Some(endpoint)
        }
        (None, Some(account)) if account.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Some(format!("https://{account}.r2.cloudflarestorage.com"))
        }
        (None, Some(_)) => {
            env.problem("R2_ACCOUNT_ID must be the account id: letters and digits only");
            None
        }
        (None, None) => {
            if !(development && nothing_set) {
                env.problem("missing R2_ACCOUNT_ID (needed by storage)");
            }
            None
        }
    };
    let settings = S3Settings {
        bucket: env.get("R2_BUCKET"),
        // R2 takes `auto` (or an empty region, which `us-east-1` aliases) for SigV4.
        region: "auto".to_owned(),
        endpoint,
        // Path-style needs no DNS name per bucket and works for every R2 bucket.
        path_style: true,
        access_key_id: env.get("R2_ACCESS_KEY_ID"),
        secret_access_key: env.get("R2_SECRET_ACCESS_KEY").map(Secret::new),
    };
    S3Config::build(
        env,
        settings,
        ["R2_BUCKET", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"],
        development,
        notes,
    )
}
