//! The message templates shipped in `templates/email/` (one shared layout, an HTML and a
//! plain-text file per message), embedded in the binary and rendered with minijinja.

use std::sync::LazyLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};

use super::Email;
use crate::config::EmailSite;

/// A message the app sends, with the data its template needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "kebab-case")]
pub enum EmailTemplate {
    /// After sign-up.
    Welcome,
    /// Confirms the address; `link` carries a single-use token.
    VerifyEmail { link: String, expires_in_hours: u64 },
    /// Lets the owner choose a new password; `link` carries a single-use token.
    PasswordReset {
        link: String,
        expires_in_minutes: u64,
    },
    /// Tells the owner their password changed, in case it was not them.
    PasswordChanged,
    /// Anything else: a title, a paragraph and an optional button.
    Notification {
        title: String,
        body: String,
        action_label: Option<String>,
        action_url: Option<String>,
    },
}

/// Every template name, in the order `email preview` lists them.
pub const TEMPLATE_NAMES: &[&str] = &[
    "welcome",
    "verify-email",
    "password-reset",
    "password-changed",
    "notification",
];

/// A template failed to render: a bug in a template, caught by the tests.
#[derive(Debug, thiserror::Error)]
#[error("email template {template} failed to render: {source}")]
pub struct RenderError {
    template: &'static str,
    #[source]
    source: minijinja::Error,
}

/// Sources embedded at build time, so the binary needs no template folder at run time.
const SOURCES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../templates/email/layout.html"),
    ),
    (
        "layout.txt",
        include_str!("../../templates/email/layout.txt"),
    ),
    (
        "welcome.html",
        include_str!("../../templates/email/welcome.html"),
    ),
    (
        "welcome.txt",
        include_str!("../../templates/email/welcome.txt"),
    ),
    (
        "verify-email.html",
        include_str!("../../templates/email/verify-email.html"),
    ),
    (
        "verify-email.txt",
        include_str!("../../templates/email/verify-email.txt"),
    ),
    (
        "password-reset.html",
        include_str!("../../templates/email/password-reset.html"),
    ),
    (
        "password-reset.txt",
        include_str!("../../templates/email/password-reset.txt"),
    ),
    (
        "password-changed.html",
        include_str!("../../templates/email/password-changed.html"),
    ),
    (
        "password-changed.txt",
        include_str!("../../templates/email/password-changed.txt"),
    ),
    (
        "notification.html",
        include_str!("../../templates/email/notification.html"),
    ),
    (
        "notification.txt",
        include_str!("../../templates/email/notification.txt"),
    ),
];

/// One environment for the process: `.html` templates escape their values, `.txt` do not,
/// and an undefined variable is an error instead of an empty string.
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // A `{% if %}` line leaves no blank line in the plain-text part.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("default delimiters are valid");
    env.set_syntax(syntax);
    for (name, source) in SOURCES {
        env.add_template(name, source)
            .expect("embedded email templates parse (checked by the tests)");
    }
    env
});

impl EmailTemplate {
    /// The template's file name without extension.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::VerifyEmail { .. } => "verify-email",
            Self::PasswordReset { .. } => "password-reset",
            Self::PasswordChanged => "password-changed",
            Self::Notification { .. } => "notification",
        }
    }

    /// Renders the message for `to`: the subject from the HTML template's `subject` block,
    /// the HTML body and the plain-text alternative.
    pub fn render(&self, to: &str, site: &EmailSite) -> Result<Email, RenderError> {
        let name = self.name();
        let failed = |source| RenderError {
            template: name,
            source,
        };
        let mut context = serde_json::to_value(self).expect("templates serialize");
        let fields = context.as_object_mut().expect("a tagged enum is an object");
        fields.insert("app_name".into(), site.app_name.clone().into());
        fields.insert("app_url".into(), site.app_url.clone().into());
        fields.insert("to".into(), to.into());
        let context = Value::from(Serde(&context));

        let html_template = TEMPLATES
            .get_template(&format!("{name}.html"))
            .map_err(failed)?;
        let mut captured = html_template
            .render_captured(context.clone())
            .map_err(failed)?;
        let subject = captured
            .with_state_mut(|state| state.render_block("subject"))
            .map_err(failed)?;
        let html = captured.into_output();
        let text = TEMPLATES
            .get_template(&format!("{name}.txt"))
            .and_then(|template| template.render(context))
            .map_err(failed)?;
        Ok(Email {
            to: to.to_owned(),
            // A subject is one line: the template's whitespace must not become headers.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            html,
            text,
            template: name.to_owned(),
        })
    }

    /// Sample data for `email preview`: what each template looks like with realistic values.
    pub fn sample(name: &str, app_url: &str) -> Option<Self> {
        let link = |path: &str| format!("{app_url}/{path}?token=3f9c2a7e1b5d4c8a9e0f6b2d1a7c5e3f");
        Some(match name {
            "welcome" => Self::Welcome,
            "verify-email" => Self::VerifyEmail {
                link: link("verify-email"),
                expires_in_hours: 24,
            },
            "password-reset" => Self::PasswordReset {
                link: link("reset-password"),
                expires_in_minutes: 60,
            },
            "password-changed" => Self::PasswordChanged,
            "notification" => Self::Notification {
                title: "Your export is ready".into(),
                body: "The export you asked for finished: 3 projects, 1,204 rows.".into(),
                action_label: Some("Download".into()),
                action_url: Some(format!("{app_url}/exports/latest")),
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EmailSite {
        EmailSite {
            app_name: "Acme".into(),
            app_url: "https://app.example.com".into(),
        }
    }

    #[test]
    fn every_template_renders_a_subject_html_and_text() {
        for name in TEMPLATE_NAMES {
            let template = EmailTemplate::sample(name, "https://app.example.com").expect(name);
            assert_eq!(template.name(), *name);
            let email = template.render("ada@example.com", &config()).expect(name);
            assert!(!email.subject.is_empty(), "{name}: empty subject");
            assert!(!email.subject.contains('\n'), "{name}: multi-line subject");
            assert!(email.html.contains("<html"), "{name}: no layout");
            // minijinja's HTML escaping writes `/` as `&#x2f;`, which browsers and mail clients read back.
            assert!(email.html.contains("app.example.com"), "{name}");
            assert!(!email.text.contains('<'), "{name}: markup in the text part");
            assert_eq!(email.to, "ada@example.com");
        }
    }

    #[test]
    fn links_appear_in_both_parts_and_values_are_escaped_in_html_only() {
        let reset = EmailTemplate::PasswordReset {
            link: "https://app.example.com/reset?token=abc&x=1".into(),
            expires_in_minutes: 30,
        };
        let email = reset.render("ada@example.com", &config()).unwrap();
        assert!(email.html.contains("token=abc&amp;x=1"), "{}", email.html);
        assert!(email.text.contains("token=abc&x=1"), "{}", email.text);
        assert!(email.text.contains("30 minutes"), "{}", email.text);

        let note = EmailTemplate::Notification {
            title: "<script>alert(1)</script>".into(),
            body: "a < b".into(),
            action_label: None,
            action_url: None,
        };
        let email = note.render("ada@example.com", &config()).unwrap();
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(email.text.contains("a < b"), "{}", email.text);
    }

    #[test]
    fn templates_round_trip_through_json_for_queued_jobs() {
        let template = EmailTemplate::sample("verify-email", "https://x.example").unwrap();
        let json = serde_json::to_string(&template).unwrap();
        assert!(json.contains("\"template\":\"verify-email\""), "{json}");
        assert_eq!(
            serde_json::from_str::<EmailTemplate>(&json).unwrap(),
            template
        );
    }

    #[test]
    fn unknown_sample_names_are_none() {
        assert!(EmailTemplate::sample("newsletter", "https://x.example").is_none());
    }
}
