//! Delivery through an SMTP relay with lettre: pooled connections, STARTTLS or implicit TLS
//! (rustls), AUTH, and an EHLO name of our choosing.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Email, EmailError, Mailer, SendResult, is_valid_address};
use crate::config::{SmtpConfig, SmtpSecurity};

/// Sends through one relay; connections are pooled and reused.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `config`, sending as `from` (`Name <address>` or an address).
    pub fn new(config: &SmtpConfig, from: &str) -> Result<Self, String> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|error| format!("EMAIL_FROM {from:?}: {error}"))?;
        let tls = || {
            TlsParameters::new(config.host.clone())
                .map_err(|error| format!("SMTP_HOST {:?}: {error}", config.host))
        };
        let tls = match config.security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(name) = &config.helo_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        if let Some((user, password)) = &config.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    fn message(&self, email: &Email) -> Result<Message, EmailError> {
        let invalid = || EmailError::Permanent(format!("invalid recipient address {:?}", email.to));
        if !is_valid_address(&email.to) {
            return Err(invalid());
        }
        let to = email.to.parse::<Mailbox>().map_err(|_| invalid())?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|error| EmailError::Permanent(format!("cannot build the message: {error}")))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, email: &'a Email) -> SendResult<'a> {
        Box::pin(async move {
            let message = self.message(email)?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(classify)
        })
    }
}

/// A 5xx reply (unknown mailbox, refused login, policy) will not change on a retry; a 4xx
/// reply, a timeout or a connection that failed may.
fn classify(error: lettre::transport::smtp::Error) -> EmailError {
    if error.is_permanent() {
        EmailError::Permanent(error.to_string())
    } else {
        EmailError::Transient(error.to_string())
    }
}
