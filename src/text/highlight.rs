//! Syntax highlighting of fenced code, as semantic tones rather than colours.
//!
//! Models answer with code in a dozen languages; one colour for all of it hides the structure.
//! syntect parses the code with Sublime Text grammars (two-face's extended set: TOML,
//! TypeScript, … beside syntect's own), but its themes are 24-bit colour schemes made for one
//! background. Here the grammar's scopes become a handful of [`Tone`]s instead
//! (`CodeKeyword`, `CodeString`, …), which the app's theme turns into the terminal's own 16
//! colours by default, so code reads well on dark and light terminals, under `NO_COLOR`, and a
//! theme file can restyle it like any other role.
//!
//! How: a syntect [`Theme`] is built in code whose scope selectors "colour" each scope with the
//! index of its tone; syntect's usual selector matching (most specific wins) picks the tone and
//! the colour is decoded back. The grammar set and that theme are loaded once per process, on
//! the first code block (see [`warm_up`]), never per frame.
//!
//! Highlighting never fails a layout: an unknown language, a parse error, a line too long to
//! parse quickly or anything else odd falls back to plain [`Tone::Code`] for the rest of the
//! block. The text given here is already sanitized by the caller and comes back unchanged.

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use syntect::highlighting::{
    Color, HighlightIterator, HighlightState, Highlighter, ScopeSelectors, StyleModifier, Theme,
    ThemeItem, ThemeSettings,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use crate::text::{StyledSpan, Tone};

/// Lines longer than this are not parsed (regex grammars can be slow on them); they and the
/// rest of their block show as plain code.
pub const MAX_HIGHLIGHT_LINE_BYTES: usize = 4 * 1024;

/// The tones a scope can map to, in the order their index is encoded in the theme's colour.
const TONES: [Tone; 10] = [
    Tone::Code,
    Tone::CodeKeyword,
    Tone::CodeString,
    Tone::CodeComment,
    Tone::CodeNumber,
    Tone::CodeFunction,
    Tone::CodeType,
    Tone::CodePunctuation,
    Tone::Success,
    Tone::Error,
];

/// Scope selectors per tone. Later items win over earlier ones only when equally specific;
/// syntect otherwise picks the most specific selector, as an editor theme would.
const SCOPES: &[(&str, Tone)] = &[
    ("comment, punctuation.definition.comment", Tone::CodeComment),
    (
        "string, constant.character, punctuation.definition.string, markup.raw",
        Tone::CodeString,
    ),
    (
        "constant.numeric, constant.language, constant.other.boolean, support.constant",
        Tone::CodeNumber,
    ),
    (
        "keyword, storage, keyword.control, variable.language, entity.name.tag, \
         keyword.other.special-method, constant.language.import-export-all",
        Tone::CodeKeyword,
    ),
    (
        "keyword.operator, punctuation, meta.brace, meta.bracket",
        Tone::CodePunctuation,
    ),
    (
        "entity.name.function, support.function, variable.function, meta.function-call.identifier, \
         entity.name.macro, support.macro, entity.other.attribute-name",
        Tone::CodeFunction,
    ),
    (
        "entity.name.type, entity.name.class, entity.name.struct, entity.name.enum, \
         entity.name.trait, entity.name.interface, entity.name.union, entity.other.inherited-class, \
         support.type, support.class, storage.type.primitive, storage.type.numeric, \
         storage.type.string, storage.type.boolean, meta.mapping.key string, \
         entity.name.namespace, entity.name.module, meta.diff.range, meta.diff.header, \
         meta.toc-list, entity.name.section",
        Tone::CodeType,
    ),
    ("markup.inserted", Tone::Success),
    ("markup.deleted", Tone::Error),
];

/// The grammars: loaded on first use (one-time cost measured in `syntax_set_load_time`).
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(two_face::syntax::extra_newlines);

/// The scope → tone table as a syntect theme.
static TONE_THEME: LazyLock<Theme> = LazyLock::new(tone_theme);

static HIGHLIGHTER: LazyLock<Highlighter<'static>> =
    LazyLock::new(|| Highlighter::new(&TONE_THEME));

fn encode(tone: Tone) -> Color {
    let index = TONES.iter().position(|t| *t == tone).unwrap_or(0);
    Color {
        r: index as u8,
        g: 0,
        b: 0,
        a: 0xff,
    }
}

fn decode(color: Color) -> Tone {
    TONES.get(color.r as usize).copied().unwrap_or(Tone::Code)
}

fn tone_theme() -> Theme {
    let scopes = SCOPES
        .iter()
        .filter_map(|(selectors, tone)| {
            Some(ThemeItem {
                // The selectors are constants covered by a test; a bad one is skipped.
                scope: ScopeSelectors::from_str(selectors).ok()?,
                style: StyleModifier {
                    foreground: Some(encode(*tone)),
                    background: None,
                    font_style: None,
                },
            })
        })
        .collect();
    Theme {
        name: Some("promptdeck tones".into()),
        author: None,
        settings: ThemeSettings {
            foreground: Some(encode(Tone::Code)),
            ..ThemeSettings::default()
        },
        scopes,
    }
}

/// Loads the grammars and the tone theme now, and says how long that took (zero when they were
/// already loaded). Layout does this by itself on the first code block; call it early (e.g.
/// on a background thread at start) to take the cost off that frame.
pub fn warm_up() -> Duration {
    let start = Instant::now();
    LazyLock::force(&SYNTAXES);
    LazyLock::force(&HIGHLIGHTER);
    start.elapsed()
}

/// The languages models write most, compiled by [`warm_up_languages`].
pub const COMMON_LANGUAGES: [&str; 13] = [
    "rust", "python", "js", "ts", "json", "toml", "yaml", "bash", "sql", "go", "c", "cpp", "diff",
];

/// Compiles the grammars of [`COMMON_LANGUAGES`] now, and says how long that took. A grammar's
/// regexes are compiled on its first line (tens of milliseconds each in a release build), so
/// the first code block in a language is slower to lay out than the next; run this on a
/// background thread at start to take that off the first frames that show code.
pub fn warm_up_languages() -> Duration {
    let start = Instant::now();
    warm_up();
    for language in COMMON_LANGUAGES {
        CodeHighlighter::new(language).line("x");
    }
    start.elapsed()
}

/// The grammar for a fence's info string (`rust`, `py`, `ts`, `sh`, `c++`, `rust,ignore`,
/// `{.python}`…), if there is one.
fn syntax_for(info: &str) -> Option<&'static SyntaxReference> {
    let token = info
        .split(|c: char| c.is_whitespace() || c == ',')
        .find(|t| !t.is_empty())?
        .trim_matches(|c| c == '{' || c == '}' || c == '.');
    let token = token.to_ascii_lowercase();
    let token = match token.as_str() {
        "" | "text" | "txt" | "plain" | "plaintext" | "output" => return None,
        "shell" | "console" | "zsh" | "shellscript" | "sh-session" => "bash",
        "c++" => "cpp",
        "golang" => "go",
        "jsonc" | "json5" => "json",
        "yml" => "yaml",
        "patch" => "diff",
        "py3" | "python3" => "python",
        "javascript" | "node" => "js",
        "typescript" => "ts",
        "dockerfile" | "docker" => "Dockerfile",
        other => other,
    };
    SYNTAXES.find_syntax_by_token(token)
}

/// Highlights one fenced code block, line by line, in order. Cloning it keeps its place, to
/// resume after the lines seen so far (see [`HighlightCache`]).
#[derive(Clone)]
pub struct CodeHighlighter {
    state: State,
}

#[derive(Clone)]
enum State {
    Highlighting(Box<(ParseState, HighlightState)>),
    /// Unknown language, or something went wrong: plain code from here on.
    Plain,
}

impl CodeHighlighter {
    /// A highlighter for a block whose fence says `info` (empty for none).
    pub fn new(info: &str) -> CodeHighlighter {
        let state = match syntax_for(info) {
            Some(syntax) => State::Highlighting(Box::new((
                ParseState::new(syntax),
                HighlightState::new(&HIGHLIGHTER, ScopeStack::new()),
            ))),
            None => State::Plain,
        };
        CodeHighlighter { state }
    }

    /// Whether this block is highlighted (a known language, nothing has failed yet).
    pub fn is_highlighting(&self) -> bool {
        matches!(self.state, State::Highlighting(_))
    }

    /// The next line of the block (without its `\n`), as toned spans. Adjacent spans of the
    /// same tone are merged; the texts joined give `line` back exactly.
    pub fn line(&mut self, line: &str) -> Vec<StyledSpan<Tone>> {
        if let State::Highlighting(states) = &mut self.state {
            if line.len() <= MAX_HIGHLIGHT_LINE_BYTES {
                let (parse, highlight) = &mut **states;
                // The grammars expect each line with its newline.
                let with_newline = format!("{line}\n");
                if let Ok(ops) = parse.parse_line(&with_newline, &SYNTAXES) {
                    let mut spans: Vec<StyledSpan<Tone>> = Vec::new();
                    for (style, piece) in
                        HighlightIterator::new(highlight, &ops, &with_newline, &HIGHLIGHTER)
                    {
                        let piece = piece.strip_suffix('\n').unwrap_or(piece);
                        if !piece.is_empty() {
                            push(&mut spans, decode(style.foreground), piece);
                        }
                    }
                    return spans;
                }
            }
            self.state = State::Plain;
        }
        if line.is_empty() {
            return Vec::new();
        }
        vec![StyledSpan {
            style: Tone::Code,
            text: line.to_string(),
        }]
    }
}

/// Highlighted code blocks kept between layouts, so that a layout highlights only lines it has
/// not seen: a finished block is found whole, a block still growing resumes after the lines
/// highlighted last time. Blocks not used in the last few layouts are dropped at
/// [`HighlightCache::end_layout`]: one for a cache kept per streaming reply
/// ([`HighlightCache::new`]), more for the one [`with_shared_cache`] lends to every layout
/// on a thread.
pub struct HighlightCache {
    blocks: Vec<CachedBlock>,
    /// Layouts ended so far.
    layouts: u64,
    /// A block is kept while it was used in this many of the last layouts.
    keep_layouts: u64,
    max_blocks: usize,
}

struct CachedBlock {
    info: String,
    /// The lines highlighted, each followed by `\n`.
    text: String,
    lines: Vec<Vec<StyledSpan<Tone>>>,
    /// The highlighter after those lines.
    after: CodeHighlighter,
    /// The layout that last used it.
    last_used: u64,
}

impl Default for HighlightCache {
    fn default() -> Self {
        HighlightCache::new()
    }
}

/// How many layouts a block survives unused in the shared cache: enough for every streaming
/// compare lane and the replies on screen, laid out once per frame each.
const SHARED_KEEP_LAYOUTS: u64 = 64;
/// At most this many blocks in the shared cache (the least recently used go first).
const SHARED_MAX_BLOCKS: usize = 256;

thread_local! {
    static SHARED: std::cell::RefCell<HighlightCache> = std::cell::RefCell::new(HighlightCache {
        keep_layouts: SHARED_KEEP_LAYOUTS,
        max_blocks: SHARED_MAX_BLOCKS,
        ..HighlightCache::new()
    });
}

/// Runs `f` with this thread's shared cache, the one [`crate::text::markdown::layout`] uses.
pub fn with_shared_cache<T>(f: impl FnOnce(&mut HighlightCache) -> T) -> T {
    SHARED.with(|cache| f(&mut cache.borrow_mut()))
}

impl HighlightCache {
    /// A cache for one reply: it keeps the blocks of the last layout only.
    pub fn new() -> HighlightCache {
        HighlightCache {
            blocks: Vec::new(),
            layouts: 0,
            keep_layouts: 1,
            max_blocks: usize::MAX,
        }
    }

    /// The toned lines of a block (its complete lines, without their `\n`): exactly what a
    /// fresh [`CodeHighlighter`] gives for them.
    pub fn block(&mut self, info: &str, lines: &[&str]) -> Vec<Vec<StyledSpan<Tone>>> {
        let now = self.layouts;
        let mut text = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
        // The longest block seen before that this one continues.
        let best = self
            .blocks
            .iter_mut()
            .filter(|b| b.info == info && text.starts_with(&b.text))
            .max_by_key(|b| b.lines.len());
        let (mut out, mut highlighter) = match best {
            Some(b) if b.lines.len() == lines.len() => {
                b.last_used = now;
                return b.lines.clone();
            }
            Some(b) => {
                b.last_used = now;
                (b.lines.clone(), b.after.clone())
            }
            None => (Vec::new(), CodeHighlighter::new(info)),
        };
        for line in &lines[out.len()..] {
            out.push(highlighter.line(line));
        }
        self.blocks.push(CachedBlock {
            info: info.to_string(),
            text,
            lines: out.clone(),
            after: highlighter,
            last_used: now,
        });
        out
    }

    /// Ends a layout: forgets the blocks not used recently.
    pub fn end_layout(&mut self) {
        self.layouts += 1;
        let oldest_kept = self.layouts.saturating_sub(self.keep_layouts);
        self.blocks.retain(|b| b.last_used >= oldest_kept);
        if self.blocks.len() > self.max_blocks {
            self.blocks.sort_by_key(|b| std::cmp::Reverse(b.last_used));
            self.blocks.truncate(self.max_blocks);
        }
    }
}

fn push(spans: &mut Vec<StyledSpan<Tone>>, tone: Tone, text: &str) {
    // Whitespace takes the tone before it, so runs merge and rows stay short.
    let tone = if text.trim().is_empty() {
        spans.last().map_or(Tone::Code, |s| s.style)
    } else {
        tone
    };
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

    use super::*;

    fn toned(info: &str, code: &str) -> Vec<Vec<(Tone, String)>> {
        let mut h = CodeHighlighter::new(info);
        code.split('\n')
            .map(|l| {
                h.line(l)
                    .into_iter()
                    .map(|s| (s.style, s.text))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_scope_selector_parses() {
        for (selectors, _) in SCOPES {
            assert!(ScopeSelectors::from_str(selectors).is_ok(), "{selectors}");
        }
        assert_eq!(tone_theme().scopes.len(), SCOPES.len());
        for tone in TONES {
            assert_eq!(decode(encode(tone)), tone);
        }
    }

    #[test]
    fn rust_keywords_strings_comments_numbers_and_functions_get_their_tones() {
        let rows = toned(
            "rust",
            "fn main() {\n    let s = \"hi\"; // greet\n    f(42)\n}",
        );
        assert_eq!(
            rows,
            vec![
                vec![
                    (Tone::CodeKeyword, "fn ".to_string()),
                    (Tone::CodeFunction, "main".to_string()),
                    (Tone::CodePunctuation, "() {".to_string()),
                ],
                vec![
                    (Tone::Code, "    ".to_string()),
                    (Tone::CodeKeyword, "let".to_string()),
                    (Tone::Code, " s ".to_string()),
                    (Tone::CodePunctuation, "= ".to_string()),
                    (Tone::CodeString, "\"hi\"".to_string()),
                    (Tone::CodePunctuation, "; ".to_string()),
                    (Tone::CodeComment, "// greet".to_string()),
                ],
                vec![
                    (Tone::Code, "    ".to_string()),
                    (Tone::CodeFunction, "f".to_string()),
                    (Tone::CodePunctuation, "(".to_string()),
                    (Tone::CodeNumber, "42".to_string()),
                    (Tone::CodePunctuation, ")".to_string()),
                ],
                vec![(Tone::CodePunctuation, "}".to_string())],
            ]
        );
    }

    #[test]
    fn fence_info_strings_find_their_grammar() {
        for (info, name) in [
            ("rust", "Rust"),
            ("rust,ignore", "Rust"),
            ("{.python}", "Python"),
            ("py", "Python"),
            ("js", "JavaScript"),
            ("ts", "TypeScript"),
            ("typescript", "TypeScript"),
            ("json", "JSON"),
            ("toml", "TOML"),
            ("yaml", "YAML"),
            ("yml", "YAML"),
            ("sh", "Bourne Again Shell (bash)"),
            ("bash", "Bourne Again Shell (bash)"),
            ("shell", "Bourne Again Shell (bash)"),
            ("sql", "SQL"),
            ("go", "Go"),
            ("c", "C"),
            ("cpp", "C++"),
            ("c++", "C++"),
            ("diff", "Diff"),
            ("Python title=\"x.py\"", "Python"),
        ] {
            assert_eq!(
                syntax_for(info).map(|s| s.name.as_str()),
                Some(name),
                "{info}"
            );
        }
        assert!(syntax_for("").is_none());
        assert!(syntax_for("text").is_none());
        assert!(syntax_for("no-such-language").is_none());
    }

    #[test]
    fn unknown_languages_and_odd_lines_fall_back_to_plain_code() {
        assert_eq!(
            toned("klingon", "qapla' 42"),
            vec![vec![(Tone::Code, "qapla' 42".to_string())]]
        );
        let mut h = CodeHighlighter::new("rust");
        let huge = "x".repeat(MAX_HIGHLIGHT_LINE_BYTES + 1);
        assert_eq!(
            h.line(&huge),
            vec![StyledSpan {
                style: Tone::Code,
                text: huge.clone()
            }]
        );
        assert!(!h.is_highlighting(), "the rest of the block stays plain");
        assert_eq!(h.line("").len(), 0);
    }

    #[test]
    fn highlighting_keeps_the_text_exactly() {
        let samples = [
            (
                "python",
                "def f(x):\n    return x ** 2  # sq\n\"\"\"unterminated",
            ),
            ("json", "{\"a\": [1, 2.5, true, null], \"b\": \"日本\"}"),
            ("diff", "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new"),
            ("sql", "SELECT id FROM t WHERE x = 'y' -- c"),
            ("bash", "for f in *.rs; do echo \"$f\"; done"),
            ("yaml", "key: [1, 'two']\n# c"),
            ("toml", "[a]\nb = \"c\" # d"),
            ("go", "func main() { fmt.Println(`raw`) }"),
            ("c", "#include <stdio.h>\nint main(void) { return 0; }"),
        ];
        for (info, code) in samples {
            let mut h = CodeHighlighter::new(info);
            assert!(h.is_highlighting(), "{info}");
            for line in code.split('\n') {
                let joined: String = h.line(line).iter().map(|s| s.text.as_str()).collect();
                assert_eq!(joined, line, "{info}");
            }
        }
    }

    #[test]
    fn the_cache_resumes_a_growing_block_exactly_as_a_fresh_highlighter() {
        let code = [
            "/* open",
            "still comment */ let x = \"s",
            "tr\";",
            "fn f() {}",
        ];
        let fresh = |n: usize| {
            let mut h = CodeHighlighter::new("rust");
            code[..n].iter().map(|l| h.line(l)).collect::<Vec<_>>()
        };
        let mut cache = HighlightCache::default();
        for n in 0..=code.len() {
            assert_eq!(cache.block("rust", &code[..n]), fresh(n), "{n} lines");
            cache.end_layout();
        }
        // Finished blocks are found whole; unused ones are forgotten.
        assert_eq!(cache.block("rust", &code), fresh(code.len()));
        cache.end_layout();
        assert_eq!(cache.blocks.len(), 1);
        assert_eq!(cache.block("python", &code[..1]).len(), 1);
        cache.end_layout();
        assert_eq!(cache.blocks.len(), 1);
    }

    #[test]
    fn the_shared_cache_keeps_recent_blocks_up_to_its_bound() {
        let mut cache = HighlightCache {
            keep_layouts: 3,
            max_blocks: 2,
            ..HighlightCache::new()
        };
        for code in ["a", "b", "c"] {
            cache.block("rust", &[code]);
        }
        cache.end_layout();
        assert_eq!(cache.blocks.len(), 2, "at most max_blocks");
        cache.end_layout();
        cache.end_layout();
        assert_eq!(
            cache.blocks.len(),
            2,
            "used in one of the last three layouts"
        );
        cache.end_layout();
        assert_eq!(cache.blocks.len(), 0, "unused in the last three layouts");
    }

    /// The one-time grammar load, printed: `cargo test --release --lib syntax_set_load_time
    /// -- --nocapture`.
    #[test]
    fn syntax_set_load_time() {
        let first = warm_up();
        let again = warm_up();
        let start = Instant::now();
        let mut h = CodeHighlighter::new("rust");
        h.line("fn main() {}");
        let first_line = start.elapsed();
        println!(
            "syntax set + tone theme load: {first:?} (already loaded: {again:?}); first Rust line: {first_line:?}"
        );
    }
}
