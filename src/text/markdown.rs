//! Markdown in replies, laid out as styled rows for a given width.
//!
//! Models answer in Markdown; showing `**bold**` and fenced code raw makes replies hard to
//! read. pulldown-cmark parses, and this module maps its events to semantic tones and indents,
//! then wraps with [`crate::text::wrap`]:
//! - headings keep a muted `#` marker, emphasis and strong text get their tones, lists get `•`
//!   or their numbers with wrapped lines hanging under the text, quotes a `│` bar;
//! - a link shows its text, then its URL muted in parentheses (unless the text is the URL);
//! - a table's columns are padded to their widest cell by display width (wide characters and
//!   emoji take two columns), honouring the delimiter row's alignment;
//! - a fenced code block shows its language as a muted label and its lines indented by
//!   [`CODE_INDENT_COLUMNS`], never the fences, highlighted by [`crate::text::highlight`].
//!
//! Two entry points: [`layout`] for a finished reply, [`layout_live`] for one still streaming,
//! where only the complete lines are read as Markdown and the unfinished last line is shown as
//! plain text, so half-typed markup (`**bo`, a fence's first backticks) never flickers.
//! Highlighting is the costly part (~10 ms for a 2,000-token reply full of code, release
//! build), so highlighted blocks are cached by their text ([`highlight::HighlightCache`]): a
//! finished block is found whole and a growing one resumes after its lines seen before. Both
//! functions use a cache shared on the thread; [`LiveLayout`] keeps its own and also keeps the
//! complete lines' rows until another line completes. The timing test
//! `a_long_reply_lays_out_quickly` prints what each path costs per frame.
//!
//! The input is sanitized first, and again after entity decoding, so nothing here can emit a
//! control sequence.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

use crate::text::highlight::{self, CodeHighlighter, HighlightCache};
use crate::text::{self, StyledLine, StyledSpan, Tone};

/// Code block lines are indented this much under their language label.
pub const CODE_INDENT_COLUMNS: usize = 2;

/// A logical line before wrapping: its prefix for the first row, for the following rows, and
/// its spans.
#[derive(Debug, Default)]
struct Logical {
    first_prefix: String,
    rest_prefix: String,
    spans: Vec<StyledSpan<Tone>>,
}

impl Logical {
    fn is_blank(&self) -> bool {
        self.spans.is_empty() && self.first_prefix.trim().is_empty()
    }
}

#[derive(Debug, Clone)]
enum ListKind {
    Bullet,
    Ordered(u64),
}

/// An open list: its kind and how far its current item's lines are indented (its marker's
/// width), so wrapped lines and nested blocks line up with the item's text.
#[derive(Debug, Clone)]
struct List {
    kind: ListKind,
    indent_columns: usize,
}

/// Lays out `source` (raw Markdown, complete) as rows of at most `width` columns.
pub fn layout(source: &str, width: usize) -> Vec<StyledLine<Tone>> {
    let clean = text::sanitize(source);
    let mut doc = render(&clean, Highlights::Shared);
    doc.trim_trailing_blanks();
    doc.rows(width)
}

mod live;
mod table;
use table::Table;

pub use live::{LiveLayout, layout_live};

/// The fence character of a fenced code block whose source (`block`, from its opening fence
/// to its end) has no closing fence: it ran to the end of the input (or of its container).
fn unclosed_fence(block: &str) -> Option<char> {
    let mut lines = block
        .trim_end_matches('\n')
        .split('\n')
        .map(|l| l.trim_start_matches([' ', '>']).trim_end());
    let open = lines.next()?;
    let c = open.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let open_len = open.chars().take_while(|x| *x == c).count();
    let closed = lines
        .next_back()
        .is_some_and(|last| last.chars().all(|x| x == c) && last.chars().count() >= open_len);
    (!closed).then_some(c)
}

/// Markdown parsed into logical lines.
struct Doc {
    lines: Vec<Logical>,
    /// Set when the input ends inside a fenced code block that has no closing fence yet.
    open_fence: Option<OpenFence>,
}

/// Where the next line of an open fenced code block goes.
struct OpenFence {
    /// The prefix of the block's code lines (container bars, list indent, code indent).
    prefix: String,
    fence_char: char,
}

/// Where highlighted code comes from.
#[derive(Default)]
enum Highlights<'h> {
    /// Highlighted afresh (tests compare the caches against this).
    #[default]
    Fresh,
    /// The thread's shared cache: what [`layout`] and [`layout_live`] use.
    Shared,
    /// A [`LiveLayout`]'s own.
    Own(&'h mut HighlightCache),
}

/// Parses `clean` (sanitized Markdown), highlighting code as `highlights` says.
fn render(clean: &str, highlights: Highlights<'_>) -> Doc {
    let mut b = Builder {
        highlights,
        ..Builder::default()
    };
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    for (event, range) in Parser::new_ext(clean, options).into_offset_iter() {
        b.event(event, clean, range);
    }
    b.flush();
    match b.highlights {
        Highlights::Fresh => {}
        Highlights::Shared => highlight::with_shared_cache(HighlightCache::end_layout),
        Highlights::Own(cache) => cache.end_layout(),
    }
    Doc {
        lines: b.lines,
        open_fence: b.open_fence,
    }
}

impl Doc {
    fn trim_trailing_blanks(&mut self) {
        while self.lines.last().is_some_and(Logical::is_blank) {
            self.lines.pop();
        }
    }

    fn rows(self, width: usize) -> Vec<StyledLine<Tone>> {
        let mut rows = Vec::new();
        for line in self.lines {
            push_rows(&mut rows, line, width);
        }
        rows
    }
}

/// Wraps one logical line under its prefixes.
fn push_rows(rows: &mut Vec<StyledLine<Tone>>, line: Logical, width: usize) {
    let prefix_width = text::width(&line.first_prefix).max(text::width(&line.rest_prefix));
    let inner = width.saturating_sub(prefix_width).max(1);
    for (i, mut row) in text::wrap(&line.spans, inner).into_iter().enumerate() {
        let prefix = if i == 0 {
            &line.first_prefix
        } else {
            &line.rest_prefix
        };
        if !prefix.is_empty() {
            match row.first_mut() {
                // A muted marker or label joins its prefix in one span.
                Some(first) if first.style == Tone::Muted => first.text.insert_str(0, prefix),
                _ => row.insert(
                    0,
                    StyledSpan {
                        style: Tone::Muted,
                        text: prefix.clone(),
                    },
                ),
            }
        }
        rows.push(row);
    }
}

/// A fenced or indented code block being read: its text is gathered whole and highlighted at
/// its end, so the highlighter sees complete lines whatever pieces the parser hands over.
struct CodeBlock {
    info: String,
    text: String,
    /// The fence character when the block has no closing fence (yet).
    unclosed: Option<char>,
}

/// A link being read: its URL is shown after its text unless the text says it already.
struct Link {
    url: String,
    text: String,
    show_url: bool,
}

#[derive(Default)]
struct Builder<'h> {
    lines: Vec<Logical>,
    current: Option<Logical>,
    tones: Vec<Tone>,
    lists: Vec<List>,
    quote_depth: usize,
    code: Option<CodeBlock>,
    table: Option<Table>,
    /// A list item's marker waiting for the item's first line.
    pending_marker: Option<String>,
    links: Vec<Link>,
    open_fence: Option<OpenFence>,
    highlights: Highlights<'h>,
}

impl Builder<'_> {
    fn tone(&self) -> Tone {
        self.tones.last().copied().unwrap_or(Tone::Normal)
    }

    fn base_prefix(&self) -> String {
        let mut p = "│ ".repeat(self.quote_depth);
        for list in &self.lists {
            p.push_str(&" ".repeat(list.indent_columns));
        }
        if self.code.is_some() {
            p.push_str(&" ".repeat(CODE_INDENT_COLUMNS));
        }
        p
    }

    fn line(&mut self) -> &mut Logical {
        if self.current.is_none() {
            let rest = self.base_prefix();
            let first = match self.pending_marker.take() {
                Some(marker) => {
                    let mut p = "│ ".repeat(self.quote_depth);
                    let outer = self.lists.len().saturating_sub(1);
                    for list in &self.lists[..outer] {
                        p.push_str(&" ".repeat(list.indent_columns));
                    }
                    p.push_str(&marker);
                    if self.code.is_some() {
                        p.push_str(&" ".repeat(CODE_INDENT_COLUMNS));
                    }
                    p
                }
                None => rest.clone(),
            };
            let rest = if text::width(&first) > text::width(&rest) {
                let mut r = rest;
                r.push_str(&" ".repeat(text::width(&first) - text::width(&r)));
                r
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
        if let Some(link) = self.links.last_mut() {
            link.text.push_str(&text);
        }
        if let Some(table) = &mut self.table {
            if let Some(cell) = table.rows.last_mut().and_then(|r| r.last_mut()) {
                push_span(cell, tone, &text);
            }
            return;
        }
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

    /// A blank line before a block, except as the first block of a list item.
    fn blank_before_block(&mut self) {
        if self.pending_marker.is_none() {
            self.blank();
        } else {
            self.flush();
        }
    }

    fn event(&mut self, event: Event<'_>, source: &str, range: Range<usize>) {
        if matches!(event, Event::Start(_)) {
            self.open_fence = None;
        }
        match event {
            Event::Start(tag) => self.start(tag, source.get(range).unwrap_or("")),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some(code) = &mut self.code {
                    code.text.push_str(&t);
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
            // A model's single newline is meant (a list of lines, a poem, an address): shown
            // as a line break, as chat interfaces do, not joined into the paragraph. It also
            // keeps a streaming paragraph from re-flowing each time a line completes.
            Event::SoftBreak | Event::HardBreak => self.flush(),
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

    fn start(&mut self, tag: Tag<'_>, source: &str) {
        match tag {
            Tag::Paragraph => self.blank_before_block(),
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
                self.blank_before_block();
                let (info, unclosed) = match kind {
                    CodeBlockKind::Fenced(info) => (info.to_string(), unclosed_fence(source)),
                    CodeBlockKind::Indented => (String::new(), None),
                };
                let label = info
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c| c == '{' || c == '}' || c == '.');
                if !label.is_empty() {
                    self.push_text(Tone::Muted, label);
                    self.flush();
                }
                self.code = Some(CodeBlock {
                    info,
                    text: String::new(),
                    unclosed,
                });
            }
            Tag::List(start) => {
                if self.lists.is_empty() {
                    self.blank_before_block();
                } else {
                    self.flush();
                }
                self.lists.push(List {
                    kind: match start {
                        Some(n) => ListKind::Ordered(n),
                        None => ListKind::Bullet,
                    },
                    indent_columns: 2,
                });
            }
            Tag::Item => {
                self.flush();
                let Some(list) = self.lists.last_mut() else {
                    return;
                };
                let marker = match &mut list.kind {
                    ListKind::Ordered(n) => {
                        let m = format!("{n}. ");
                        *n += 1;
                        m
                    }
                    ListKind::Bullet => "• ".to_string(),
                };
                list.indent_columns = text::width(&marker);
                self.pending_marker = Some(marker);
            }
            Tag::Emphasis => self.tones.push(Tone::Emphasis),
            Tag::Strong => self.tones.push(Tone::Strong),
            Tag::Strikethrough => self.tones.push(Tone::Muted),
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => {
                self.tones.push(Tone::Accent);
                self.links.push(Link {
                    url: dest_url.to_string(),
                    text: String::new(),
                    show_url: !matches!(link_type, LinkType::Autolink | LinkType::Email),
                });
            }
            Tag::Image { .. } => {
                self.push_text(Tone::Muted, "[image: ");
                self.tones.push(Tone::Muted);
            }
            Tag::Table(alignments) => {
                self.blank_before_block();
                self.table = Some(Table {
                    alignments,
                    ..Table::default()
                });
            }
            Tag::TableHead => {
                self.tones.push(Tone::Strong);
                self.start_table_row();
            }
            Tag::TableRow => self.start_table_row(),
            Tag::TableCell => {
                if let Some(row) = self.table.as_mut().and_then(|t| t.rows.last_mut()) {
                    row.push(Vec::new());
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

    fn start_table_row(&mut self) {
        if let Some(table) = &mut self.table {
            table.rows.push(Vec::new());
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
            TagEnd::CodeBlock => self.end_code_block(),
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
                if let Some(link) = self.links.pop()
                    && link.show_url
                    && !link.url.is_empty()
                    && link.url != link.text
                {
                    self.push_text(Tone::Muted, &format!(" ({})", link.url));
                }
            }
            TagEnd::Image => {
                self.tones.pop();
                self.push_text(Tone::Muted, "]");
            }
            TagEnd::TableHead => {
                self.tones.pop();
                if let Some(table) = &mut self.table {
                    table.header_rows = table.rows.len();
                }
            }
            TagEnd::Table => self.end_table(),
            TagEnd::TableRow | TagEnd::TableCell => {}
            _ => self.flush(),
        }
    }

    fn end_code_block(&mut self) {
        self.flush();
        // The block stays open (for the code indent) until its lines are out.
        let Some((info, raw, unclosed)) = self.code.as_mut().map(|b| {
            (
                std::mem::take(&mut b.info),
                std::mem::take(&mut b.text),
                b.unclosed,
            )
        }) else {
            return;
        };
        // Code keeps every line, blank ones too, but not the newline that ends the last.
        let text = text::sanitize(&raw);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let lines: Vec<&str> = if raw.is_empty() {
            Vec::new()
        } else {
            text.split('\n').collect()
        };
        let toned = match &mut self.highlights {
            Highlights::Fresh => {
                let mut highlighter = CodeHighlighter::new(&info);
                lines.iter().map(|l| highlighter.line(l)).collect()
            }
            Highlights::Shared => highlight::with_shared_cache(|c| c.block(&info, &lines)),
            Highlights::Own(cache) => cache.block(&info, &lines),
        };
        for spans in toned {
            self.line().spans.extend(spans);
            self.flush();
        }
        if let Some(fence_char) = unclosed {
            self.open_fence = Some(OpenFence {
                prefix: self.base_prefix(),
                fence_char,
            });
        }
        self.code = None;
    }
}

/// Appends `text` in `tone`, merging with the last span when the tone is the same.
fn push_span(spans: &mut Vec<StyledSpan<Tone>>, tone: Tone, text: &str) {
    if text.is_empty() {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.style == tone => last.text.push_str(text),
        _ => spans.push(StyledSpan {
            style: tone,
            text: text.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    use super::live::{settle, split_live};
    use super::*;

    fn plain(rows: &[StyledLine<Tone>]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect()
    }

    /// [`layout`] without any highlight cache.
    fn layout_fresh(source: &str, width: usize) -> Vec<StyledLine<Tone>> {
        let mut doc = render(&text::sanitize(source), Highlights::Fresh);
        doc.trim_trailing_blanks();
        doc.rows(width)
    }

    /// [`layout_live`] without any highlight cache.
    fn layout_live_fresh(source: &str, width: usize) -> Vec<StyledLine<Tone>> {
        let clean = text::sanitize(source);
        let (complete, tail) = split_live(&clean);
        settle(complete, width, Highlights::Fresh).with_tail(tail, width)
    }

    fn s(style: Tone, text: &str) -> StyledSpan<Tone> {
        StyledSpan {
            style,
            text: text.to_string(),
        }
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
                "rust",
                "  fn main() {}",
                "  ",
                "  // end",
                "",
                "│ quoted",
                "",
                "# Title",
            ]
        );
    }

    #[test]
    fn headings_and_emphasis() {
        assert_eq!(
            layout("## Plan\n\nA *quick* **bold** ~~old~~ step.", 40),
            vec![
                vec![s(Tone::Muted, "## "), s(Tone::Heading, "Plan")],
                vec![],
                vec![
                    s(Tone::Normal, "A "),
                    s(Tone::Emphasis, "quick"),
                    s(Tone::Normal, " "),
                    s(Tone::Strong, "bold"),
                    s(Tone::Normal, " "),
                    s(Tone::Muted, "old"),
                    s(Tone::Normal, " step."),
                ],
            ]
        );
    }

    #[test]
    fn lists_nest_and_number() {
        assert_eq!(
            layout("- one\n  1. a\n  2. b\n- [x] done", 40),
            vec![
                vec![s(Tone::Muted, "• "), s(Tone::Normal, "one")],
                vec![s(Tone::Muted, "  1. "), s(Tone::Normal, "a")],
                vec![s(Tone::Muted, "  2. "), s(Tone::Normal, "b")],
                vec![s(Tone::Muted, "• [x] "), s(Tone::Normal, "done")],
            ]
        );
    }

    #[test]
    fn quotes_keep_their_bar_on_wrapped_rows() {
        assert_eq!(
            layout("> a quote that wraps", 12),
            vec![
                vec![s(Tone::Muted, "│ "), s(Tone::Normal, "a quote")],
                vec![s(Tone::Muted, "│ "), s(Tone::Normal, "that wraps")],
            ]
        );
    }

    #[test]
    fn links_show_their_url_muted_unless_the_text_is_the_url() {
        assert_eq!(
            layout(
                "See [docs](https://x.test/a), <https://y.test> or [https://z.test](https://z.test).",
                80
            ),
            vec![vec![
                s(Tone::Normal, "See "),
                s(Tone::Accent, "docs"),
                s(Tone::Muted, " (https://x.test/a)"),
                s(Tone::Normal, ", "),
                s(Tone::Accent, "https://y.test"),
                s(Tone::Normal, " or "),
                s(Tone::Accent, "https://z.test"),
                s(Tone::Normal, "."),
            ]]
        );
    }

    #[test]
    fn tables_pad_columns_by_display_width_and_alignment() {
        let md = "| name | 値 | n |\n|:-----|:--:|--:|\n| 日本語 | 👋 | 1 |\n| a | `bb` | 12345 |";
        assert_eq!(
            plain(&layout(md, 60)),
            vec![
                "name   │ 値 │     n",
                "───────┼────┼──────",
                "日本語 │ 👋 │     1",
                "a      │ bb │ 12345",
            ]
        );
        let rows = layout(md, 60);
        for row in &rows {
            assert_eq!(text::width(&plain(std::slice::from_ref(row))[0]), 19);
        }
        assert_eq!(
            rows[0],
            vec![
                s(Tone::Strong, "name"),
                s(Tone::Normal, "  "),
                s(Tone::Muted, " │ "),
                s(Tone::Strong, "値"),
                s(Tone::Muted, " │ "),
                s(Tone::Normal, "    "),
                s(Tone::Strong, "n"),
            ]
        );
        assert_eq!(rows[3][2], s(Tone::Code, "bb"));
    }

    #[test]
    fn fenced_code_shows_a_label_and_highlighted_indented_lines() {
        assert_eq!(
            layout("Run:\n\n```rust\nlet n = 1;\n```\n\nDone.", 40),
            vec![
                vec![s(Tone::Normal, "Run:")],
                vec![],
                vec![s(Tone::Muted, "rust")],
                vec![
                    s(Tone::Muted, "  "),
                    s(Tone::CodeKeyword, "let"),
                    s(Tone::Code, " n "),
                    s(Tone::CodePunctuation, "= "),
                    s(Tone::CodeNumber, "1"),
                    s(Tone::CodePunctuation, ";"),
                ],
                vec![],
                vec![s(Tone::Normal, "Done.")],
            ]
        );
    }

    #[test]
    fn code_in_a_list_item_hangs_under_the_item() {
        assert_eq!(
            plain(&layout(
                "1. Build:\n   ```sh\n   cargo build\n   ```\n2. Run",
                40
            )),
            vec!["1. Build:", "", "   sh", "     cargo build", "2. Run"]
        );
    }

    #[test]
    fn an_unknown_language_is_labelled_and_plain_code() {
        assert_eq!(
            layout("```klingon\nqapla' 42\n```", 40),
            vec![
                vec![s(Tone::Muted, "klingon")],
                vec![s(Tone::Muted, "  "), s(Tone::Code, "qapla' 42")],
            ]
        );
        assert_eq!(
            layout("```\nno language\n```", 40),
            vec![vec![s(Tone::Muted, "  "), s(Tone::Code, "no language")]]
        );
    }

    #[test]
    fn an_unterminated_fence_renders_as_code_without_raw_fences() {
        let rows = layout("Here:\n\n```python\ndef f():\n    return 1", 40);
        assert_eq!(
            plain(&rows),
            vec!["Here:", "", "python", "  def f():", "      return 1"]
        );
        assert_eq!(rows[4][2], s(Tone::CodeKeyword, "return "));
        // A huge unterminated line falls back to plain code, wrapped.
        let huge = format!("```rust\n{}", "x".repeat(10_000));
        let rows = layout(&huge, 80);
        assert_eq!(rows.len(), 1 + 10_000usize.div_ceil(78));
        assert!(rows[1..].iter().all(|r| r[1].style == Tone::Code));
    }

    #[test]
    fn the_unfinished_line_of_a_streaming_reply_is_plain_text() {
        assert_eq!(
            layout_live("Some **bold** text\n\nand **half", 40),
            vec![
                vec![
                    s(Tone::Normal, "Some "),
                    s(Tone::Strong, "bold"),
                    s(Tone::Normal, " text"),
                ],
                vec![],
                vec![s(Tone::Normal, "and **half")],
            ]
        );
        // A fence being typed is not shown until its line is complete.
        assert_eq!(plain(&layout_live("Intro\n\n``", 40)), vec!["Intro"]);
        assert_eq!(plain(&layout_live("Intro\n\n```ru", 40)), vec!["Intro"]);
        assert_eq!(
            plain(&layout_live("Intro\n\n```rust\n", 40)),
            vec!["Intro", "", "rust"]
        );
    }

    #[test]
    fn inside_an_open_fence_the_unfinished_line_is_plain_code_in_place() {
        assert_eq!(
            layout_live("```rust\nlet a = 1;\nlet b", 40),
            vec![
                vec![s(Tone::Muted, "rust")],
                vec![
                    s(Tone::Muted, "  "),
                    s(Tone::CodeKeyword, "let"),
                    s(Tone::Code, " a "),
                    s(Tone::CodePunctuation, "= "),
                    s(Tone::CodeNumber, "1"),
                    s(Tone::CodePunctuation, ";"),
                ],
                vec![s(Tone::Muted, "  "), s(Tone::Code, "let b")],
            ]
        );
        // The closing fence being typed never shows; once complete, the block is closed.
        assert_eq!(
            plain(&layout_live("```rust\nx\n``", 40)),
            vec!["rust", "  x"]
        );
        assert_eq!(
            plain(&layout_live("```rust\nx\n```\nAfter", 40)),
            vec!["rust", "  x", "After"]
        );
        // Blank code lines stay while the block is open.
        assert_eq!(
            plain(&layout_live("```\nx\n\ny", 40)),
            vec!["  x", "  ", "  y"]
        );
    }

    #[test]
    fn entities_cannot_smuggle_control_characters() {
        let md = "a&#27;[2Jb &#x202E;evil `c&#x9b;d` [x](http://e&#7;/)\n| &#27;x |\n|---|\n| y&#x9b; |\n```\n\u{1b}[31mred\n```";
        for rows in [layout(md, 80), layout_live(md, 80)] {
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

    /// Replies as models write them: fences with and without languages (one never closed),
    /// lists with code, tables with wide characters, emphasis, links, quotes.
    const DOCS: [&str; 4] = [
        "Here is a fix.\n\n```rust\nfn main() {\n    let v = vec![1, 2, 3];\n    // sum\n    println!(\"{}\", v.iter().sum::<i32>());\n}\n```\n\nAnd in Python:\n\n```python\ndef total(xs):\n    return sum(xs)  # easy\n```\n\n```\nplain block\n\nwith a blank line\n```\n",
        "## Steps\n\n1. Install **Rust** with `rustup`.\n2. Run:\n   ```bash\n   cargo build --release\n   ```\n3. *Check* the [docs](https://doc.rust-lang.org/) and <https://crates.io>.\n\n- [ ] todo\n- [x] done\n  - nested *emphasis* and ***both***\n\n> **Note**: quotes\n> span lines.\n\n---\n\nThat's it!",
        "| Crate | 版本 | Size |\n|:------|:----:|-----:|\n| syntect | 5.3 | 1 MB |\n| two-face | 0.5 🚀 | 900 kB |\n| `ratatui` | 0.30 | — |\n\nTable done. Some ~~old~~ text, then a JSON example:\n\n~~~json\n{\"a\": [1, 2.5, true, null]}\n~~~\n\nAnd a diff:\n\n```diff\n-old\n+new\n```",
        "Partial at the end:\n\n- item one\n- item two with a very long line that will have to wrap at narrow widths for sure\n\n```ts\nconst x: number = 42;\nfunction f(a: string): void {\n  console.log(`hi ${a}`);\n",
    ];

    /// `text` cut at the given (sorted, deduplicated) byte offsets, on char boundaries.
    fn chunks(text: &str, mut cuts: Vec<usize>) -> Vec<&str> {
        cuts.retain(|&c| c > 0 && c < text.len() && text.is_char_boundary(c));
        cuts.sort_unstable();
        cuts.dedup();
        let mut out = Vec::new();
        let mut start = 0;
        for cut in cuts {
            out.push(&text[start..cut]);
            start = cut;
        }
        out.push(&text[start..]);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Streaming a reply chunk by chunk through [`LiveLayout`] (which keeps the complete
        /// lines' rows and highlighted code between frames) and through [`layout_live`] (the
        /// thread's shared highlight cache) gives, at every step, what laying it out afresh
        /// gives; the settled rows are always the Markdown layout of the complete lines; and
        /// finishing gives exactly `layout(full_text)`. The width may change mid-stream.
        #[test]
        fn streaming_in_any_chunks_ends_in_the_full_layout(
            doc in 0..DOCS.len(),
            cuts in prop::collection::vec(0usize..1200, 0..40),
            width in 12usize..90,
            resized in 12usize..90,
            resize_at in 0usize..40,
        ) {
            let full = DOCS[doc];
            let mut live = LiveLayout::new();
            let mut so_far = String::new();
            let mut w = width;
            for (i, chunk) in chunks(full, cuts).into_iter().enumerate() {
                if i == resize_at {
                    w = resized;
                }
                so_far.push_str(chunk);
                let rows = live.layout(&so_far, w);
                prop_assert_eq!(&rows, &layout_live_fresh(&so_far, w));
                prop_assert_eq!(&rows, &layout_live(&so_far, w));
                let complete = &so_far[..so_far.rfind('\n').map_or(0, |i| i + 1)];
                let settled = layout(complete, w);
                prop_assert_eq!(&rows[..settled.len()], &settled[..]);
            }
            let finished = layout_fresh(full, w);
            prop_assert_eq!(&live.finish(full, w), &finished);
            prop_assert_eq!(&layout(full, w), &finished);
        }
    }

    #[test]
    fn finishing_after_the_last_line_reuses_the_settled_rows() {
        let mut live = LiveLayout::new();
        let text = "# A\n\n- b\n\n```rust\nfn c() {}\n```\n";
        live.layout(text, 30);
        assert_eq!(live.finish(text, 30), layout(text, 30));
        let open = "```rust\nfn c() {}\n\n";
        live.layout(open, 30);
        assert_eq!(live.finish(open, 30), layout(open, 30));
    }

    /// Per-frame cost of a ~2,000-token reply (a third of it code), printed:
    /// `cargo test --release --lib a_long_reply_lays_out_quickly -- --nocapture`.
    #[test]
    fn a_long_reply_lays_out_quickly() {
        let mut reply = String::new();
        while reply.len() < 8_000 {
            for doc in &DOCS[..3] {
                reply.push_str(doc);
                reply.push_str("\n\n");
            }
        }
        reply.push_str("Still typ");
        crate::text::highlight::warm_up();
        let frames = 20u32;
        let time = |f: &mut dyn FnMut()| {
            f();
            let start = std::time::Instant::now();
            for _ in 0..frames {
                f();
            }
            start.elapsed() / frames
        };
        let fresh = time(&mut || {
            layout_fresh(&reply, 100);
        });
        let full = time(&mut || {
            layout(&reply, 100);
        });
        let live_fresh = time(&mut || {
            layout_live(&reply, 100);
        });
        let mut live = LiveLayout::new();
        let live_tail = time(&mut || {
            live.layout(&reply, 100);
        });
        // Frames where a line completes: the Markdown is read again, code comes from the cache.
        let ends: Vec<usize> = reply.match_indices('\n').map(|(i, _)| i + 1).collect();
        let last = &ends[ends.len() - frames as usize - 1..];
        let mut live = LiveLayout::new();
        live.layout(&reply[..last[0]], 100);
        let start = std::time::Instant::now();
        for end in &last[1..] {
            live.layout(&reply[..*end], 100);
        }
        let live_line = start.elapsed() / frames;
        let rows = layout(&reply, 100).len();
        println!(
            "{} bytes (~{} tokens), {rows} rows at 100 columns, per frame: uncached {fresh:?}, \
             layout {full:?}, layout_live {live_fresh:?}; LiveLayout: last line grew \
             {live_tail:?}, a line completed {live_line:?}",
            reply.len(),
            reply.len() / 4
        );
    }
}
