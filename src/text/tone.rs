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
}
