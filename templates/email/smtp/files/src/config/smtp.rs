//! SMTP relay settings: where, how the connection is secured, and the login.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::client::TlsParameters;

use super::Secret;
use super::reader::EnvReader;

/// How the connection to the relay is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: a relay on this machine, or a catcher in development.
    None,
}

/// `SMTP_*` settings.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// `SMTP_HOST`.
    pub host: String,
    /// `SMTP_PORT`.
    pub port: u16,
    /// `SMTP_SECURITY`.
    pub security: SmtpSecurity,
    /// `SMTP_USERNAME` and `SMTP_PASSWORD`, when the relay wants a login.
    pub credentials: Option<(String, Secret)>,
    /// `SMTP_HELO_NAME`: the EHLO name (the machine's host name when unset).
    pub helo_name: Option<String>,
    /// `SMTP_TIMEOUT_SECS`.
    pub timeout: Duration,
}

impl SmtpConfig {
    pub(crate) fn load(
        env: &mut EnvReader<'_>,
        development: bool,
        notes: &mut Vec<String>,
        from: &str,
    ) -> Self {
        let host = env.get("SMTP_HOST");
        let catcher = host.is_none() && development;
        if catcher {
            notes.push(
                "SMTP_HOST is not set: sending to 127.0.0.1:1025 without TLS, \
                 a local catcher such as Mailpit (development default)"
                    .to_owned(),
            );
        } else if host.is_none() {
            env.problem("missing SMTP_HOST (example: smtp.example.com)");
        }
        let host = host.unwrap_or_else(|| "127.0.0.1".to_owned());
        let security = match env.get("SMTP_SECURITY").as_deref() {
            None if catcher => SmtpSecurity::None,
            None => SmtpSecurity::StartTls,
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "starttls" => SmtpSecurity::StartTls,
                "tls" | "ssl" => SmtpSecurity::Tls,
                "none" => SmtpSecurity::None,
                _ => {
                    env.problem(format!(
                        "SMTP_SECURITY must be starttls, tls or none: got {raw:?}"
                    ));
                    SmtpSecurity::StartTls
                }
            },
        };
        let local = ["localhost", "127.0.0.1", "::1"].contains(&host.as_str());
        if security == SmtpSecurity::None && !development && !local {
            env.problem(
                "SMTP_SECURITY=none sends mail and passwords in clear text: \
                 only allowed to a relay on this machine outside development",
            );
        }
        if security != SmtpSecurity::None && TlsParameters::new(host.clone()).is_err() {
            env.problem(format!("SMTP_HOST {host:?} is not a valid TLS server name"));
        }
        let default_port = match security {
            _ if catcher => 1025,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        };
        let port = env.parse("SMTP_PORT", default_port);
        let credentials = match (env.get("SMTP_USERNAME"), env.get("SMTP_PASSWORD")) {
            (Some(user), Some(password)) => Some((user, Secret::new(password))),
            (None, None) => None,
            _ => {
                env.problem("SMTP_USERNAME and SMTP_PASSWORD must be set together");
                None
            }
        };
        // A sender the email settings already refused is not reported twice.
        let checked = crate::email::is_valid_address(super::sender_address(from));
        if checked && from.parse::<Mailbox>().is_err() {
            env.problem(format!("EMAIL_FROM {from:?} is not a valid mailbox"));
        }
        Self {
            host,
            port,
            security,
            credentials,
            helo_name: env.get("SMTP_HELO_NAME"),
            timeout: env.seconds("SMTP_TIMEOUT_SECS", 10),
        }
    }
}
