//! Colours as semantic roles.
//!
//! Panes never name a colour: they ask for a [`Tone`] (normal text, muted, accent, error…)
//! and the [`Theme`] decides what it looks like. The default theme uses the terminal's own
//! 16 colours so it reads well on dark and light backgrounds and over any SSH/tmux setup.

use ratatui::style::{Color, Modifier, Style};

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

/// The style for every tone, plus chrome.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub normal: Style,
    pub muted: Style,
    pub accent: Style,
    pub user: Style,
    pub error: Style,
    pub warning: Style,
    pub success: Style,
    pub code: Style,
    pub heading: Style,
    pub strong: Style,
    pub emphasis: Style,
    /// Pane borders.
    pub border: Style,
    /// The status line's background row.
    pub status_bar: Style,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            normal: Style::default(),
            muted: Style::default().fg(Color::DarkGray),
            accent: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            user: Style::default()
                .fg(Color::Green)
                .add_modifier(Modifier::BOLD),
            error: Style::default().fg(Color::Red),
            warning: Style::default().fg(Color::Yellow),
            success: Style::default().fg(Color::Green),
            code: Style::default().fg(Color::Magenta),
            heading: Style::default().add_modifier(Modifier::BOLD),
            strong: Style::default().add_modifier(Modifier::BOLD),
            emphasis: Style::default().add_modifier(Modifier::ITALIC),
            border: Style::default().fg(Color::DarkGray),
            status_bar: Style::default().add_modifier(Modifier::REVERSED),
        }
    }
}

impl Theme {
    /// The style of a tone.
    pub fn style(&self, tone: Tone) -> Style {
        match tone {
            Tone::Normal => self.normal,
            Tone::Muted => self.muted,
            Tone::Accent => self.accent,
            Tone::User => self.user,
            Tone::Error => self.error,
            Tone::Warning => self.warning,
            Tone::Success => self.success,
            Tone::Code => self.code,
            Tone::Heading => self.heading,
            Tone::Strong => self.strong,
            Tone::Emphasis => self.emphasis,
        }
    }
}
