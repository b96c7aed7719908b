//! Text hygiene and layout shared by every pane and by the pure model.
//!
//! Two jobs live here because every string on screen needs both:
//! - [`sanitize`]: nothing a model, a prompt file or a server error says may reach the terminal
//!   as a control sequence. ESC-introduced sequences (CSI, OSC, DCS, ...) are removed whole,
//!   other C0/C1 controls and DEL are dropped, bidi overrides are dropped (they can make text
//!   read differently from what it is), tabs become spaces. Newlines survive.
//! - [`wrap`]: word wrapping of styled spans by display width (wide CJK characters and emoji
//!   take two columns; grapheme clusters are never split), so a cell can cache its wrapped
//!   lines per width and the transcript can count rows without rendering.
//!
//! Laid-out text is marked with semantic [`Tone`]s, not colours, and [`markdown`] lays out
//! replies. None of this draws anything: the model lays out its transcript with it, and
//! `ui` turns the rows into terminal lines with a theme. Keeping it out of `ui` keeps the
//! model free of any dependency on rendering.

pub mod code_blocks;
pub mod diff;
pub mod highlight;
pub mod markdown;
mod tone;

pub use tone::Tone;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Tab stops are expanded to this many spaces.
pub const TAB_WIDTH_COLUMNS: usize = 4;

/// What happens to tabs when sanitizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tabs {
    /// Expanded to spaces, for text laid out on screen.
    Expand,
    /// Kept, for text printed to stdout where the reader's terminal expands them.
    Keep,
}

/// Removes every terminal control sequence from `input`, keeping `\n`.
///
/// `\r\n` and lone `\r` become `\n`; tabs become spaces.
pub fn sanitize(input: &str) -> String {
    sanitize_with(input, Tabs::Expand)
}

/// Like [`sanitize`] but keeps tabs: for text written to stdout by `ask`, which must be the
/// model's text exactly, minus anything that could drive the terminal.
pub fn sanitize_for_output(input: &str) -> String {
    sanitize_with(input, Tabs::Keep)
}

fn sanitize_with(input: &str, tabs: Tabs) -> String {
    // Fast path: most text has nothing to strip.
    if !input.chars().any(needs_work) {
        return input.to_string();
    }
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => out.push('\n'),
            // On stdout a carriage return is dropped, not turned into a newline: a CRLF split
            // across two stream deltas must not print two line ends.
            '\r' if tabs == Tabs::Keep => {}
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\t' if tabs == Tabs::Keep => out.push('\t'),
            '\t' => out.push_str(&" ".repeat(TAB_WIDTH_COLUMNS)),
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI/OSC/DCS introducers carry a payload too.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// JSON text made safe for a terminal without changing what it means: every control
/// character that serde leaves raw (DEL, C1 such as U+009B CSI) and every bidirectional
/// override or isolate (U+202A–U+202E, U+2066–U+2069) becomes a `\uXXXX` escape. Such
/// characters can only stand inside JSON strings, where the escape decodes to the same text.
pub fn json_terminal_safe(json: String) -> String {
    if !json.chars().any(is_control) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_control(c) && c != '\t' && c != '\r' {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_work(c: char) -> bool {
    c == '\r' || c == '\t' || c == '\u{1b}' || is_control(c)
}

/// C0 (except newline), DEL, C1 and the bidirectional override/isolate characters.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // ESC followed by intermediate bytes then a final byte (e.g. `ESC ( B`).
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

/// CSI: parameter and intermediate bytes, then one final byte in `@`..=`~`.
fn skip_csi(chars: &mut Chars<'_>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
        if !('\u{20}'..='\u{3f}').contains(&c) {
            // Not a well-formed CSI: stop at the first byte that cannot belong to it.
            break;
        }
    }
}

/// OSC/DCS/SOS/PM/APC: everything up to BEL, ST (`ESC \`) or C1 ST.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// Display width of a string in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// A piece of text with a semantic style (resolved to colours by the theme at render time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StyledSpan<S> {
    pub style: S,
    pub text: String,
}

/// One visual row: spans that together fit the wrap width.
pub type StyledLine<S> = Vec<StyledSpan<S>>;

/// Word-wraps one logical line of styled spans to `width_columns`.
///
/// Breaks at spaces where possible, and inside a word (between grapheme clusters) only when
/// the word alone is wider than the line. Spaces at a break are dropped. Always returns at
/// least one (possibly empty) row.
pub fn wrap<S: Clone + PartialEq>(
    spans: &[StyledSpan<S>],
    width_columns: usize,
) -> Vec<StyledLine<S>> {
    let width_columns = width_columns.max(1);
    let mut rows: Vec<StyledLine<S>> = Vec::new();
    let mut row: StyledLine<S> = Vec::new();
    let mut row_width = 0usize;

    // Tokenize into words and runs of spaces, keeping each token's style.
    for span in spans {
        for token in space_runs(&span.text) {
            let is_space = token.chars().all(|c| c == ' ');
            let token_width = width(token);
            if row_width + token_width <= width_columns {
                push(&mut row, &span.style, token);
                row_width += token_width;
                continue;
            }
            if is_space {
                // A break point: end the row here and drop the spaces.
                rows.push(std::mem::take(&mut row));
                row_width = 0;
                continue;
            }
            if token_width <= width_columns && row_width > 0 {
                trim_trailing_spaces(&mut row);
                rows.push(std::mem::take(&mut row));
                push(&mut row, &span.style, token);
                row_width = token_width;
                continue;
            }
            // The word is wider than a whole row: split it between graphemes.
            for g in token.graphemes(true) {
                let gw = width(g);
                if row_width + gw > width_columns && row_width > 0 {
                    rows.push(std::mem::take(&mut row));
                    row_width = 0;
                }
                push(&mut row, &span.style, g);
                row_width += gw;
            }
        }
    }
    rows.push(row);
    rows
}

/// Splits text into alternating runs of spaces and of everything else, so punctuation stays
/// with its word.
fn space_runs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let is_space = first == ' ';
        let end = rest
            .char_indices()
            .find(|&(_, c)| (c == ' ') != is_space)
            .map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

fn push<S: Clone + PartialEq>(row: &mut StyledLine<S>, style: &S, text: &str) {
    if let Some(last) = row.last_mut()
        && last.style == *style
    {
        last.text.push_str(text);
        return;
    }
    row.push(StyledSpan {
        style: style.clone(),
        text: text.to_string(),
    });
}

fn trim_trailing_spaces<S>(row: &mut StyledLine<S>) {
    while let Some(last) = row.last_mut() {
        let trimmed = last.text.trim_end_matches(' ').len();
        if trimmed == 0 {
            row.pop();
        } else {
            last.text.truncate(trimmed);
            break;
        }
    }
}

/// A count with thousands separators: 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The width of each column of `rows` (rows may be short): its widest cell by `cell_width`.
/// For the CLI's tables and Markdown's.
pub fn column_widths<C>(rows: &[Vec<C>], cell_width: impl Fn(&C) -> usize) -> Vec<usize> {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..count)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(&cell_width)
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// Lays out rows of cells as left-aligned columns two spaces apart, one line per row, by
/// display width (the last column is not padded). For the CLI's tables.
pub fn columns(table: &[Vec<String>]) -> String {
    let widths = column_widths(table, |cell| width(cell));
    let mut out = String::new();
    for row in table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            if c + 1 < row.len() {
                line.push_str(&" ".repeat(widths[c].saturating_sub(width(cell))));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Cuts `s` to at most `max_columns` display columns, ending with `…` when it was cut.
pub fn truncate(s: &str, max_columns: usize) -> String {
    if width(s) <= max_columns {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = width(g);
        if used + w + 1 > max_columns {
            break;
        }
        out.push_str(g);
        used += w;
    }
    if max_columns > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sanitize_removes_escape_sequences_whole() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m plain"), "red plain");
        assert_eq!(sanitize("a\u{1b}]0;evil title\u{7}b"), "ab");
        assert_eq!(
            sanitize("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"),
            "alinkb"
        );
        assert_eq!(
            sanitize("bell\u{7} nul\u{0} del\u{7f} c1\u{9b}2Jx"),
            "bell nul del c1x"
        );
        assert_eq!(sanitize("\u{1b}Pdcs payload\u{1b}\\after"), "after");
        assert_eq!(sanitize("\u{1b}(Bcharset"), "charset");
        assert_eq!(sanitize("rtl\u{202e}evil"), "rtlevil");
    }

    #[test]
    fn sanitize_keeps_text_newlines_and_expands_tabs() {
        assert_eq!(sanitize("line1\r\nline2\rline3\n"), "line1\nline2\nline3\n");
        assert_eq!(sanitize("a\tb"), "a    b");
        assert_eq!(sanitize_for_output("a\tb\u{1b}[2J"), "a\tb");
        // A CRLF cut between two deltas still makes one line end.
        assert_eq!(
            sanitize_for_output("line\r") + &sanitize_for_output("\nnext"),
            "line\nnext"
        );
        assert_eq!(sanitize("日本語 👋🏽 café"), "日本語 👋🏽 café");
    }

    proptest! {
        #[test]
        fn sanitized_text_never_contains_controls(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        }

        #[test]
        fn wrapped_rows_fit_and_keep_every_visible_character(
            s in "[a-z 日本👋🏽é]{0,80}", w in 1usize..30
        ) {
            let spans = vec![StyledSpan { style: (), text: s.clone() }];
            let rows = wrap(&spans, w);
            for row in &rows {
                let text: String = row.iter().map(|s| s.text.as_str()).collect();
                // Only a single grapheme wider than the whole row may overflow it.
                prop_assert!(
                    width(&text) <= w || text.graphemes(true).count() == 1,
                    "{text:?} wider than {w}"
                );
            }
            let joined: String = rows.iter().flatten().map(|s| s.text.as_str()).collect();
            prop_assert_eq!(joined.replace(' ', ""), s.replace(' ', ""));
        }
    }

    #[test]
    fn wrap_breaks_at_words_and_splits_long_words() {
        let spans = vec![StyledSpan {
            style: 0u8,
            text: "hello wide 日本語日本語 world".into(),
        }];
        let rows: Vec<String> = wrap(&spans, 8)
            .iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect();
        // Words break at spaces; a run wider than a row is split between graphemes.
        assert_eq!(rows, vec!["hello", "wide 日", "本語日本", "語 world"]);
        let spans = vec![StyledSpan {
            style: 0u8,
            text: "the end. (yes)".into(),
        }];
        let rows: Vec<String> = wrap(&spans, 8)
            .iter()
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect();
        assert_eq!(
            rows,
            vec!["the end.", "(yes)"],
            "punctuation stays with its word"
        );
    }

    #[test]
    fn columns_align_by_display_width() {
        let table = vec![
            vec!["ID".to_string(), "TITLE".to_string(), "X".to_string()],
            vec!["1".to_string(), "日本".to_string(), "y".to_string()],
        ];
        assert_eq!(columns(&table), "ID  TITLE  X\n1   日本   y\n");
    }

    #[test]
    fn thousands_separates_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn truncate_respects_display_width() {
        assert_eq!(truncate("日本語テキスト", 7), "日本語…");
        assert_eq!(truncate("short", 10), "short");
    }
}
