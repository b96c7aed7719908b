//! Markdown in replies, laid out as styled rows for a given width.
//!
//! Models answer in Markdown; showing `**bold**` and fenced code raw makes replies hard to
//! read. pulldown-cmark parses (it copes with the half-finished Markdown of a reply that is
//! still streaming), and this module maps its events to semantic tones and indents, then wraps
//! with [`crate::text::wrap`]. The input is sanitized first, so nothing here can emit a
//! control sequence.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::text::{self, StyledLine, StyledSpan, Tone};

/// A logical line before wrapping: its prefix for the first row, for the following rows, and
/// its spans.
#[derive(Debug, Default)]
struct Logical {
    first_prefix: String,
    rest_prefix: String,
    spans: Vec<StyledSpan<Tone>>,
}

#[derive(Debug, Clone)]
enum ListKind {
    Bullet,
    Ordered(u64),
}

/// Lays out `source` (raw Markdown) as rows of at most `width` columns.
pub fn layout(source: &str, width: usize) -> Vec<StyledLine<Tone>> {
    let clean = text::sanitize(source);
    let mut b = Builder::default();
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for event in Parser::new_ext(&clean, options) {
        b.event(event);
    }
    b.flush();
    // No trailing blank rows.
    while b
        .lines
        .last()
        .is_some_and(|l| l.spans.is_empty() && l.first_prefix.trim().is_empty())
    {
        b.lines.pop();
    }
    let mut rows = Vec::new();
    for line in b.lines {
        let prefix_width = text::width(&line.first_prefix).max(text::width(&line.rest_prefix));
        let inner = width.saturating_sub(prefix_width).max(1);
        for (i, mut row) in text::wrap(&line.spans, inner).into_iter().enumerate() {
            let prefix = if i == 0 {
                &line.first_prefix
            } else {
                &line.rest_prefix
            };
            if !prefix.is_empty() {
                row.insert(
                    0,
                    StyledSpan {
                        style: Tone::Muted,
                        text: prefix.clone(),
                    },
                );
            }
            rows.push(row);
        }
    }
    rows
}

#[derive(Default)]
struct Builder {
    lines: Vec<Logical>,
    current: Option<Logical>,
    tones: Vec<Tone>,
    lists: Vec<ListKind>,
    quote_depth: usize,
    in_code_block: bool,
    /// A list item's marker waiting for the item's first line.
    pending_marker: Option<String>,
    link_urls: Vec<String>,
}

impl Builder {
    fn tone(&self) -> Tone {
        self.tones.last().copied().unwrap_or(Tone::Normal)
    }

    fn base_prefix(&self) -> String {
        let mut p = "│ ".repeat(self.quote_depth);
        p.push_str(&"  ".repeat(self.lists.len().saturating_sub(1)));
        if !self.lists.is_empty() {
            p.push_str("  ");
        }
        p
    }

    fn line(&mut self) -> &mut Logical {
        if self.current.is_none() {
            let rest = self.base_prefix();
            let first = match self.pending_marker.take() {
                Some(marker) => {
                    let mut p = rest.clone();
                    // Replace the item's own indent with its marker.
                    p.truncate(p.len().saturating_sub(2));
                    p.push_str(&marker);
                    p
                }
                None => rest.clone(),
            };
            let rest = if text::width(&first) > text::width(&rest) {
                " ".repeat(text::width(&first))
            } else {
                rest
            };
            self.current = Some(Logical {
                first_prefix: first,
                rest_prefix: rest,
                spans: Vec::new(),
            });
        }
        self.current.get_or_insert_with(Logical::default)
    }

    fn push_text(&mut self, tone: Tone, s: &str) {
        // Again after parsing: entities (`&#27;`, `&#x202E;`) decode to control characters.
        let text = text::sanitize(s);
        let line = self.line();
        line.spans.push(StyledSpan { style: tone, text });
    }

    fn flush(&mut self) {
        if let Some(line) = self.current.take() {
            self.lines.push(line);
        }
    }

    fn blank(&mut self) {
        self.flush();
        if self.lines.last().is_some_and(|l| !l.spans.is_empty()) {
            let prefix = "│ ".repeat(self.quote_depth);
            self.lines.push(Logical {
                first_prefix: prefix.clone(),
                rest_prefix: prefix,
                spans: Vec::new(),
            });
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if self.in_code_block {
                    let mut parts = t.split('\n').peekable();
                    while let Some(part) = parts.next() {
                        if parts.peek().is_none() && part.is_empty() {
                            break;
                        }
                        self.push_text(Tone::Code, part);
                        // Keep empty code lines visible as empty rows.
                        self.line();
                        self.flush();
                    }
                } else {
                    let tone = self.tone();
                    self.push_text(tone, &t);
                }
            }
            Event::Code(t) => self.push_text(Tone::Code, &t),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.push_text(Tone::Code, &t),
            Event::Html(t) | Event::InlineHtml(t) => {
                let tone = Tone::Muted;
                for (i, part) in t.split('\n').enumerate() {
                    if i > 0 {
                        self.flush();
                    }
                    if !part.is_empty() {
                        self.push_text(tone, part);
                    }
                }
            }
            Event::SoftBreak => {
                let tone = self.tone();
                self.push_text(tone, " ");
            }
            Event::HardBreak => self.flush(),
            Event::Rule => {
                self.blank();
                self.push_text(Tone::Muted, "────────");
                self.flush();
            }
            Event::TaskListMarker(done) => {
                self.push_text(Tone::Muted, if done { "[x] " } else { "[ ] " })
            }
            Event::FootnoteReference(name) => self.push_text(Tone::Muted, &format!("[^{name}]")),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                if self.pending_marker.is_none() {
                    self.blank();
                }
            }
            Tag::Heading { level, .. } => {
                self.blank();
                let hashes = match level {
                    HeadingLevel::H1 => "# ",
                    HeadingLevel::H2 => "## ",
                    _ => "### ",
                };
                self.push_text(Tone::Muted, hashes);
                self.tones.push(Tone::Heading);
            }
            Tag::BlockQuote(_) => {
                self.blank();
                self.quote_depth += 1;
            }
            Tag::CodeBlock(kind) => {
                self.blank();
                if let CodeBlockKind::Fenced(lang) = kind
                    && !lang.is_empty()
                {
                    self.push_text(Tone::Muted, &format!("```{lang}"));
                    self.flush();
                }
                self.in_code_block = true;
            }
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.blank();
                } else {
                    self.flush();
                }
                self.lists.push(match start {
                    Some(n) => ListKind::Ordered(n),
                    None => ListKind::Bullet,
                });
            }
            Tag::Item => {
                self.flush();
                let marker = match self.lists.last_mut() {
                    Some(ListKind::Ordered(n)) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    _ => "• ".to_string(),
                };
                self.pending_marker = Some(marker);
            }
            Tag::Emphasis => self.tones.push(Tone::Emphasis),
            Tag::Strong => self.tones.push(Tone::Strong),
            Tag::Strikethrough => self.tones.push(Tone::Muted),
            Tag::Link { dest_url, .. } => {
                self.tones.push(Tone::Accent);
                self.link_urls.push(dest_url.to_string());
            }
            Tag::Image { dest_url, .. } => {
                self.push_text(Tone::Muted, "[image: ");
                self.tones.push(Tone::Muted);
                self.link_urls.push(dest_url.to_string());
            }
            Tag::Table(_) => self.blank(),
            Tag::TableHead => self.tones.push(Tone::Strong),
            Tag::TableRow => {}
            Tag::TableCell => {
                let starts_row = self.current.as_ref().is_none_or(|l| l.spans.is_empty());
                if !starts_row {
                    self.push_text(Tone::Muted, " │ ");
                }
            }
            Tag::HtmlBlock
            | Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_)
            | Tag::Superscript
            | Tag::Subscript => self.flush(),
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.flush(),
            TagEnd::Heading(_) => {
                self.tones.pop();
                self.flush();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote_depth = self.quote_depth.saturating_sub(1);
            }
            TagEnd::CodeBlock => {
                self.flush();
                self.in_code_block = false;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
            }
            TagEnd::Item => {
                // An empty item still shows its marker.
                if self.pending_marker.is_some() {
                    self.line();
                }
                self.flush();
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.tones.pop();
            }
            TagEnd::Link => {
                self.tones.pop();
                if let Some(url) = self.link_urls.pop()
                    && !url.is_empty()
                {
                    self.push_text(Tone::Muted, &format!(" ({url})"));
                }
            }
            TagEnd::Image => {
                self.tones.pop();
                self.link_urls.pop();
                self.push_text(Tone::Muted, "]");
            }
            TagEnd::TableHead => {
                self.tones.pop();
                self.flush();
            }
            TagEnd::TableRow => self.flush(),
            TagEnd::TableCell => {}
            _ => self.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn plain(rows: &[StyledLine<Tone>]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect()
    }

    #[test]
    fn paragraphs_lists_code_and_quotes() {
        let md = "Intro with **bold** and `code`.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n```rust\nfn main() {}\n\n// end\n```\n\n> quoted\n\n# Title";
        assert_eq!(
            plain(&layout(md, 40)),
            vec![
                "Intro with bold and code.",
                "",
                "• one",
                "• two",
                "  • nested",
                "",
                "1. first",
                "2. second",
                "",
                "```rust",
                "fn main() {}",
                "",
                "// end",
                "",
                "│ quoted",
                "",
                "# Title",
            ]
        );
    }

    #[test]
    fn entities_cannot_smuggle_control_characters() {
        let rows = layout("a&#27;[2Jb &#x202E;evil `c&#x9b;d` [x](http://e&#7;/)", 80);
        for span in rows.iter().flatten() {
            assert!(
                !span
                    .text
                    .chars()
                    .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
                "{:?}",
                span.text
            );
        }
    }

    #[test]
    fn tones_follow_the_markup() {
        let rows = layout("a **b** `c` *d*", 40);
        let tones: Vec<(Tone, &str)> = rows[0].iter().map(|s| (s.style, s.text.as_str())).collect();
        assert_eq!(
            tones,
            vec![
                (Tone::Normal, "a "),
                (Tone::Strong, "b"),
                (Tone::Normal, " "),
                (Tone::Code, "c"),
                (Tone::Normal, " "),
                (Tone::Emphasis, "d"),
            ]
        );
    }

    #[test]
    fn list_items_wrap_under_their_text() {
        let rows = layout("- a long item that must wrap around", 16);
        assert_eq!(
            plain(&rows),
            vec!["• a long item", "  that must wrap", "  around"]
        );
    }

    #[test]
    fn an_unclosed_fence_mid_stream_renders_as_code() {
        let rows = layout("Here:\n\n```\nlet x = 1;", 40);
        assert_eq!(plain(&rows), vec!["Here:", "", "let x = 1;"]);
        assert_eq!(rows[2][0].style, Tone::Code);
    }

    #[test]
    fn links_show_their_target_and_tables_their_cells() {
        assert_eq!(
            plain(&layout("[docs](https://x.test/a)", 60)),
            vec!["docs (https://x.test/a)"]
        );
        assert_eq!(
            plain(&layout("| a | b |\n|---|---|\n| 1 | 2 |", 60)),
            vec!["a │ b", "1 │ 2"]
        );
    }
}
