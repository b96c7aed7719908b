//! What a piece of text means, independent of colour.
//!
//! Layout (the transcript's rows, Markdown) marks text with a [`Tone`]; only the UI's theme
//! (`ui::theme::Theme`) turns a tone into a colour. The tone lives here, beside the layout
//! code, so that the pure model can lay out text without depending on the UI.

/// What a piece of text means, independent of colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    /// Body text.
    Normal,
    /// Secondary information: hints, timings, collapsed notes.
    Muted,
    /// The thing to notice: the assistant marker, the active mode.
    Accent,
    /// The user's own messages' header.
    User,
    /// Failures.
    Error,
    /// Things that went partly wrong (cut short, rate limited).
    Warning,
    /// Success markers.
    Success,
    /// Code and commands.
    Code,
    /// Headings.
    Heading,
    /// Strong emphasis (bold).
    Strong,
    /// Emphasis (italic).
    Emphasis,
    /// Code: keywords (`fn`, `if`, `return`) and storage words (`let`, `static`).
    CodeKeyword,
    /// Code: string and character literals.
    CodeString,
    /// Code: comments.
    CodeComment,
    /// Code: numbers and built-in constants (`true`, `null`).
    CodeNumber,
    /// Code: names of functions and macros, where defined or called.
    CodeFunction,
    /// Code: names of types, classes, modules; keys in data files; diff hunk headers.
    CodeType,
    /// Code: operators and punctuation.
    CodePunctuation,
}
