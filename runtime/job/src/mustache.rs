//! The Mustache subset a configuration's variables are rendered with (reference §10 Variables):
//! a configuration is rendered as a template over its JSON text, its variables' values escaped as
//! the content of a JSON string (the reference runner's escape), so a value can never break out
//! of the string it is placed in.
//!
//! Supported: `{{name}}` (escaped), `{{{name}}}` and `{{&name}}` (as is), `{{! comment}}`,
//! delimiter changes (`{{=<< >>=}}`), sections `{{#name}}…{{/name}}` (rendered when the value is
//! a non-empty string) and inverted sections `{{^name}}…{{/name}}`. An unknown name renders as
//! nothing, as in Mustache. Partials are not supported (a configuration has none).
//!
//! Hand-written on purpose: the Rust Mustache crates either escape for HTML with no way to
//! change it (`mustache` 0.9, unmaintained since 2018) or are Mustache-like without delimiter
//! changes (`ramhorns`); the reference's JSON escape and `{{=…=}}` are both needed here.

use std::collections::BTreeMap;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A tag was opened and never closed.
    #[error("Unclosed tag \"{0}\" in the configuration template.")]
    Unclosed(String),
    /// A section was opened and never closed, or closed without being opened.
    #[error("Unclosed or unopened section \"{0}\" in the configuration template.")]
    Section(String),
    /// A delimiter change could not be read.
    #[error("Invalid delimiter change \"{0}\" in the configuration template.")]
    Delimiters(String),
}

/// A parsed piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Escaped(String),
    Raw(String),
    Section {
        name: String,
        inverted: bool,
        children: Vec<Node>,
    },
}

/// The names a template refers to (outside comments), in order of first use.
pub fn names(template: &str) -> Result<Vec<String>, TemplateError> {
    fn walk(nodes: &[Node], out: &mut Vec<String>) {
        for node in nodes {
            let name = match node {
                Node::Text(_) => continue,
                Node::Escaped(n) | Node::Raw(n) => n,
                Node::Section { name, children, .. } => {
                    walk(children, out);
                    name
                }
            };
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    let mut out = Vec::new();
    walk(&parse(template)?, &mut out);
    Ok(out)
}

/// Renders `template` with `values`, each escaped with `escape` where the template escapes.
pub fn render(
    template: &str,
    values: &BTreeMap<String, String>,
    escape: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let nodes = parse(template)?;
    let mut out = String::with_capacity(template.len());
    emit(&nodes, values, &escape, &mut out);
    Ok(out)
}

fn emit(
    nodes: &[Node],
    values: &BTreeMap<String, String>,
    escape: &dyn Fn(&str) -> String,
    out: &mut String,
) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Escaped(n) => out.push_str(&escape(values.get(n).map_or("", String::as_str))),
            Node::Raw(n) => out.push_str(values.get(n).map_or("", String::as_str)),
            Node::Section {
                name,
                inverted,
                children,
            } => {
                let truthy = values.get(name).is_some_and(|v| !v.is_empty());
                if truthy != *inverted {
                    emit(children, values, escape, out);
                }
            }
        }
    }
}

fn parse(template: &str) -> Result<Vec<Node>, TemplateError> {
    let (mut open, mut close) = ("{{".to_owned(), "}}".to_owned());
    // The stack of open sections: (name, inverted, the nodes before it).
    let mut stack: Vec<(String, bool, Vec<Node>)> = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find(open.as_str()) {
        if start > 0 {
            nodes.push(Node::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + open.len()..];
        // A triple mustache closes with "}" + the closing delimiter.
        let (body, consumed) = if open == "{{" && after.starts_with('{') {
            let end = after
                .find(&format!("}}{close}"))
                .ok_or_else(|| TemplateError::Unclosed(snippet(after)))?;
            (&after[..=end], end + 1 + close.len())
        } else {
            let end = after
                .find(close.as_str())
                .ok_or_else(|| TemplateError::Unclosed(snippet(after)))?;
            (&after[..end], end + close.len())
        };
        rest = &after[consumed..];
        let tag = body.trim();
        match tag.chars().next() {
            Some('!') => {}
            Some('=') => {
                let inner = tag
                    .strip_prefix('=')
                    .and_then(|t| t.strip_suffix('='))
                    .ok_or_else(|| TemplateError::Delimiters(tag.to_owned()))?;
                let mut parts = inner.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(o), Some(c), None) => {
                        open = o.to_owned();
                        close = c.to_owned();
                    }
                    _ => return Err(TemplateError::Delimiters(tag.to_owned())),
                }
            }
            Some('{') => {
                let name = tag
                    .strip_prefix('{')
                    .and_then(|t| t.strip_suffix('}'))
                    .ok_or_else(|| TemplateError::Unclosed(tag.to_owned()))?;
                nodes.push(Node::Raw(name.trim().to_owned()));
            }
            Some('&') => nodes.push(Node::Raw(tag[1..].trim().to_owned())),
            Some(c @ ('#' | '^')) => {
                let name = tag[1..].trim().to_owned();
                stack.push((name, c == '^', std::mem::take(&mut nodes)));
            }
            Some('/') => {
                let name = tag[1..].trim();
                match stack.pop() {
                    Some((open_name, inverted, before)) if open_name == name => {
                        let children = std::mem::replace(&mut nodes, before);
                        nodes.push(Node::Section {
                            name: open_name,
                            inverted,
                            children,
                        });
                    }
                    _ => return Err(TemplateError::Section(name.to_owned())),
                }
            }
            _ => nodes.push(Node::Escaped(tag.to_owned())),
        }
    }
    if !rest.is_empty() {
        nodes.push(Node::Text(rest.to_owned()));
    }
    if let Some((name, _, _)) = stack.pop() {
        return Err(TemplateError::Section(name));
    }
    Ok(nodes)
}

/// The start of an unclosed tag, for its error.
fn snippet(text: &str) -> String {
    text.chars().take(30).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn upper(s: &str) -> String {
        s.to_uppercase()
    }

    #[test]
    fn variables_escaped_raw_comments_and_unknown_names() {
        let v = values(&[("a", "x\"y"), ("b", "B")]);
        assert_eq!(
            render(
                "{{a}}|{{ a }}|{{{a}}}|{{& a}}|{{!note}}|{{missing}}|{{b}}",
                &v,
                upper
            )
            .unwrap(),
            "X\"Y|X\"Y|x\"y|x\"y|||B"
        );
    }

    #[test]
    fn delimiters_change() {
        let v = values(&[("a", "1")]);
        assert_eq!(
            render("{{a}} {{=<< >>=}} <<a>> {{a}} <<={{ }}=>> {{a}}", &v, |s| s
                .to_owned())
            .unwrap(),
            "1  1 {{a}}  1"
        );
    }

    #[test]
    fn sections_and_inverted_sections() {
        let v = values(&[("on", "y"), ("off", "")]);
        let t = "{{#on}}A{{#off}}B{{/off}}{{^off}}C{{/off}}{{/on}}{{^on}}D{{/on}}";
        assert_eq!(render(t, &v, |s| s.to_owned()).unwrap(), "AC");
        assert_eq!(names(t).unwrap(), ["off", "on"]);
    }

    #[test]
    fn broken_templates_are_errors() {
        let v = values(&[]);
        let id = |s: &str| s.to_owned();
        assert!(matches!(
            render("{{a", &v, id),
            Err(TemplateError::Unclosed(_))
        ));
        assert!(matches!(
            render("{{#a}}x", &v, id),
            Err(TemplateError::Section(_))
        ));
        assert!(matches!(
            render("x{{/a}}", &v, id),
            Err(TemplateError::Section(_))
        ));
        assert!(matches!(
            render("{{=<<>>=}}", &v, id),
            Err(TemplateError::Delimiters(_))
        ));
    }
}
