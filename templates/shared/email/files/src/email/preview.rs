//! `email preview TEMPLATE`: renders a template with sample data, to check a change to
//! `templates/email/` without sending anything.

use anyhow::bail;
use clap::{Subcommand, ValueEnum};

use super::EmailTemplate;
use super::templates::TEMPLATE_NAMES;
use crate::config::Config;

/// The `email` subcommands.
#[derive(Debug, Subcommand)]
pub enum EmailCommand {
    /// Print a template rendered with sample data (names: welcome, verify-email,
    /// password-reset, password-changed, notification).
    Preview {
        /// Template name.
        template: String,
        /// Which part to print: the plain text (with the subject), the HTML, or both.
        #[arg(long, value_enum, default_value_t = Part::Text)]
        part: Part,
    },
}

/// A part of a rendered message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Part {
    Text,
    Html,
    Both,
}

/// Runs an `email` subcommand.
pub fn run_command(command: EmailCommand, config: &Config) -> anyhow::Result<()> {
    let EmailCommand::Preview { template, part } = command;
    print!("{}", preview(&template, part, config)?);
    Ok(())
}

/// The text `email preview` prints.
pub fn preview(name: &str, part: Part, config: &Config) -> anyhow::Result<String> {
    let Some(template) = EmailTemplate::sample(name, &config.email.site.app_url) else {
        bail!(
            "unknown email template {name:?}; one of: {}",
            TEMPLATE_NAMES.join(", ")
        );
    };
    let email = template.render("someone@example.com", &config.email.site)?;
    let mut out = String::new();
    if part != Part::Html {
        out.push_str(&format!(
            "From: {}\nTo: {}\nSubject: {}\n\n{}\n",
            config.email.from, email.to, email.subject, email.text
        ));
    }
    if part == Part::Both {
        out.push('\n');
    }
    if part != Part::Text {
        out.push_str(&email.html);
        out.push('\n');
    }
    Ok(out)
}
