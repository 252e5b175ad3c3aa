//! Amazon S3 or an S3-compatible service: bucket, region, credentials, endpoint.

use super::Secret;
use super::reader::EnvReader;
use super::s3_compatible::{S3Config, S3Settings};

/// `S3_BUCKET`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_ENDPOINT_URL`, `S3_FORCE_PATH_STYLE`.
pub(crate) fn load(
    env: &mut EnvReader<'_>,
    development: bool,
    notes: &mut Vec<String>,
) -> S3Config {
    let endpoint = env.get("AWS_ENDPOINT_URL");
    if let Some(endpoint) = &endpoint
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        env.problem("AWS_ENDPOINT_URL must start with http:// or https://");
    }
    let settings = S3Settings {
        bucket: env.get("S3_BUCKET"),
        region: env
            .get("AWS_REGION")
            .unwrap_or_else(|| "us-east-1".to_owned()),
        endpoint,
        path_style: env.parse("S3_FORCE_PATH_STYLE", false),
        access_key_id: env.get("AWS_ACCESS_KEY_ID"),
        secret_access_key: env.get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
    };
    S3Config::build(
        env,
        settings,
        ["S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        development,
        notes,
    )
}
