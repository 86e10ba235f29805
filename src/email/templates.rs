//! Email templates by name: `<name>.subject.txt`, `<name>.txt` (the plain-text part) and
//! `<name>.html` (auto-escaped), rendered with minijinja from an event's fields. The built-in
//! ones are in `src/email/templates/`; a file of the same name in `EMAIL_TEMPLATES_DIR`
//! overrides one, and a new name there adds a template.

use std::path::PathBuf;
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! builtin {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("templates/", $file)))),*]
    };
}

static BUILTIN: &[(&str, &str)] = builtin![
    "base.html",
    "delivery_confirmation.subject.txt",
    "delivery_confirmation.txt",
    "delivery_confirmation.html",
    "shipment_shipped.subject.txt",
    "shipment_shipped.txt",
    "shipment_shipped.html",
    "order_confirmation.subject.txt",
    "order_confirmation.txt",
    "order_confirmation.html",
    "cart_reminder.subject.txt",
    "cart_reminder.txt",
    "cart_reminder.html",
    "back_in_stock.subject.txt",
    "back_in_stock.txt",
    "back_in_stock.html",
];

/// An email as rendered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    dir: Option<PathBuf>,
}

impl Templates {
    pub fn new(dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        // `{{ customer.firstname or "there" }}` renders for an order without a customer.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        let overrides = dir.clone();
        env.set_loader(move |name| {
            // Names come from configured workflows: never a path outside the directory.
            if name.contains(['/', '\\']) || name.starts_with('.') {
                return Ok(None);
            }
            if let Some(dir) = &overrides {
                match std::fs::read_to_string(dir.join(name)) {
                    Ok(text) => return Ok(Some(text)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("template {name}: {e}"),
                        ))
                    }
                }
            }
            Ok(BUILTIN
                .iter()
                .find(|(file, _)| *file == name)
                .map(|(_, text)| (*text).to_owned()))
        });
        Templates {
            env: Arc::new(env),
            dir,
        }
    }

    /// Whether a template of this name exists (its three files).
    pub fn exists(&self, name: &str) -> bool {
        valid_name(name)
            && ["subject.txt", "txt", "html"]
                .iter()
                .all(|part| self.env.get_template(&format!("{name}.{part}")).is_ok())
    }

    /// Every template's name, built-in and added.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = BUILTIN
            .iter()
            .filter_map(|(file, _)| file.strip_suffix(".subject.txt"))
            .map(str::to_owned)
            .collect();
        if let Some(Ok(entries)) = self.dir.as_ref().map(std::fs::read_dir) {
            for entry in entries.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if let Some(name) = file.strip_suffix(".subject.txt") {
                    if !names.iter().any(|n| n == name) && self.exists(name) {
                        names.push(name.to_owned());
                    }
                }
            }
        }
        names.sort();
        names
    }

    pub fn render(&self, name: &str, context: &serde_json::Value) -> Result<Rendered, String> {
        let part = |part: &str| {
            self.env
                .get_template(&format!("{name}.{part}"))
                .and_then(|template| template.render(context))
                .map_err(|e| format!("template {name}.{part}: {e}"))
        };
        let subject = part("subject.txt")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Rendered {
            subject,
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_is_escaped_and_the_text_part_is_not() {
        let templates = Templates::new(None);
        let rendered = templates
            .render(
                "delivery_confirmation",
                &json!({"order": {"reference": "R-1"}, "customer": {"firstname": "<b>Ann</b>"},
                        "shipment": {}, "shop_name": "Shop"}),
            )
            .unwrap();
        assert_eq!(rendered.subject, "Your order R-1 has been delivered");
        assert!(
            rendered.html.contains("&lt;b&gt;Ann&lt;&#x2f;b&gt;"),
            "{}",
            rendered.html
        );
        assert!(rendered.text.contains("Hello <b>Ann</b>"));
    }

    #[test]
    fn a_template_in_the_directory_overrides_and_adds() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("delivery_confirmation.subject.txt"),
            "Delivered!",
        )
        .unwrap();
        for part in ["subject.txt", "txt", "html"] {
            std::fs::write(
                dir.path().join(format!("welcome.{part}")),
                "Hi {{ customer.firstname }}",
            )
            .unwrap();
        }
        let templates = Templates::new(Some(dir.path().to_owned()));
        let rendered = templates
            .render("delivery_confirmation", &json!({}))
            .unwrap();
        assert_eq!(rendered.subject, "Delivered!");
        assert!(templates.exists("welcome") && !templates.exists("../etc"));
        assert!(templates.names().contains(&"welcome".to_owned()));
    }
}
