//! `{{name}}` template variables in prompt text.
//!
//! A prompt may leave holes for values that change per use (`{{product}}`, `{{tone}}`). They are
//! filled from `--var name=value` or the variables form. The one guarantee that matters: a
//! rendered prompt never contains an unfilled `{{name}}` — [`render`] refuses and names every
//! missing variable instead. Only well-formed names count as variables, so text such as
//! `{{ not a var }}` or a JSON example with braces is left alone. Values are inserted once and
//! not scanned again, so a value that happens to contain braces is sent as typed.

use std::collections::BTreeMap;

use super::error::{MissingVariables, PromptError};

/// One `{{name}}` occurrence: where it is and what it names.
struct Placeholder<'a> {
    /// Byte range of the whole `{{ … }}` in the text.
    start: usize,
    end: usize,
    name: &'a str,
}

/// True for a valid variable name: `[A-Za-z_][A-Za-z0-9_.-]*`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Every placeholder in `text`, in order. Spaces inside the braces are allowed.
fn placeholders(text: &str) -> Vec<Placeholder<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("{{") {
        let start = from + offset;
        let inner_start = start + 2;
        if let Some(close) = text[inner_start..].find("}}") {
            let inner = &text[inner_start..inner_start + close];
            let name = inner.trim_matches(' ');
            if is_variable_name(name) {
                let end = inner_start + close + 2;
                out.push(Placeholder { start, end, name });
                from = end;
                continue;
            }
        }
        // Not a placeholder here: try again one character later (`{{{x}}}` holds `{{x}}`).
        from = start + 1;
    }
    out
}

/// The distinct variable names in `text`, in order of first appearance.
pub fn variables(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in placeholders(text) {
        if !names.iter().any(|n| n == p.name) {
            names.push(p.name.to_string());
        }
    }
    names
}

/// `text` with its `{{variables}}` filled from `values`, and the values it used (only the
/// names the text has): what a request sends as its system prompt and what its log records.
/// The chat and `ask` both build their requests with it.
pub fn fill(
    text: &str,
    values: &BTreeMap<String, String>,
) -> Result<(String, BTreeMap<String, String>), MissingVariables> {
    let rendered = render(text, values)?;
    let used = variables(text)
        .into_iter()
        .filter_map(|name| {
            let value = values.get(&name)?.clone();
            Some((name, value))
        })
        .collect();
    Ok((rendered, used))
}

/// Fills every `{{name}}` from `vars`.
///
/// Refuses with every missing name (in order of first appearance) if any variable has no value;
/// it never returns text with an unfilled placeholder. Extra values are ignored.
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> Result<String, MissingVariables> {
    let found = placeholders(text);
    let mut missing: Vec<String> = Vec::new();
    for p in &found {
        if !vars.contains_key(p.name) && !missing.iter().any(|m| m == p.name) {
            missing.push(p.name.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(MissingVariables(missing));
    }
    let mut out = String::with_capacity(text.len());
    let mut copied_to = 0;
    for p in &found {
        out.push_str(&text[copied_to..p.start]);
        // Checked above: every name has a value.
        if let Some(value) = vars.get(p.name) {
            out.push_str(value);
        }
        copied_to = p.end;
    }
    out.push_str(&text[copied_to..]);
    Ok(out)
}

/// Parses a `--var name=value` argument. The value may be empty and may contain `=`.
pub fn parse_var(input: &str) -> Result<(String, String), PromptError> {
    let bad = |reason: &str| PromptError::BadVariable {
        input: input.to_string(),
        reason: reason.to_string(),
    };
    let (name, value) = input
        .split_once('=')
        .ok_or_else(|| bad("expected name=value"))?;
    let name = name.trim();
    if !is_variable_name(name) {
        return Err(bad(
            "a variable name starts with a letter or _ and holds letters, digits, _ . -",
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn finds_distinct_variables_in_order() {
        let text =
            "You support {{product}} in a {{ tone }} tone. {{product}}! {{user.name}} {{a-b}}";
        assert_eq!(variables(text), vec!["product", "tone", "user.name", "a-b"]);
    }

    #[test]
    fn invalid_names_stay_literal() {
        let text = "{{ not a var }} {{1x}} {{}} {single} {{ok}} {\"json\": {{\"a\": 1}}}";
        assert_eq!(variables(text), vec!["ok"]);
        assert_eq!(
            render(text, &vars(&[("ok", "yes")])).unwrap(),
            "{{ not a var }} {{1x}} {{}} {single} yes {\"json\": {{\"a\": 1}}}"
        );
        assert_eq!(render("{{{x}}}", &vars(&[("x", "v")])).unwrap(), "{v}");
    }

    #[test]
    fn render_fills_every_occurrence() {
        let out = render(
            "{{ a }} and {{a}} then {{b}}.",
            &vars(&[("a", "1"), ("b", "{{a}}"), ("unused", "x")]),
        )
        .unwrap();
        assert_eq!(out, "1 and 1 then {{a}}.", "values are not re-scanned");
    }

    #[test]
    fn render_refuses_and_names_every_missing_variable() {
        let err = render("{{tone}} {{product}} {{tone}} {{x}}", &vars(&[("x", "")])).unwrap_err();
        assert_eq!(err, MissingVariables(vec!["tone".into(), "product".into()]));
        assert_eq!(
            err.to_string(),
            "the prompt needs values for {{tone}}, {{product}} (set them with --var tone=... \
             --var product=...); nothing was sent"
        );
        assert_eq!(
            MissingVariables(vec!["tone".into()]).to_string(),
            "the prompt needs a value for {{tone}} (set it with --var tone=...); nothing was sent"
        );
    }

    #[test]
    fn parse_var_splits_at_the_first_equals() {
        assert_eq!(
            parse_var("tone=warm=ish").unwrap(),
            ("tone".into(), "warm=ish".into())
        );
        assert_eq!(parse_var("empty=").unwrap(), ("empty".into(), "".into()));
        assert!(matches!(
            parse_var("novalue"),
            Err(PromptError::BadVariable { .. })
        ));
        assert!(matches!(
            parse_var("1x=v"),
            Err(PromptError::BadVariable { .. })
        ));
    }

    proptest! {
        #[test]
        fn every_placeholder_is_filled_or_render_refuses(text in "[a-z {}]{0,40}") {
            let names = variables(&text);
            // The value holds a letter the text cannot: any `{{name}}` left in the output
            // without it would be a placeholder that was not filled.
            let filled: BTreeMap<String, String> =
                names.iter().map(|n| (n.clone(), "X".to_string())).collect();
            let out = render(&text, &filled).unwrap();
            for left in variables(&out) {
                prop_assert!(left.contains('X'), "{out:?} still holds {{{{{left}}}}}");
            }
            if !names.is_empty() {
                prop_assert!(render(&text, &BTreeMap::new()).is_err());
            }
        }
    }
}
