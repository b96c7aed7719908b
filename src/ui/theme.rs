//! Colours as semantic roles.
//!
//! Panes never name a colour: they ask for a [`Tone`] (normal text, muted, accent, error…)
//! and the [`Theme`] decides what it looks like. The default theme uses the terminal's own
//! 16 colours so it reads well on dark and light backgrounds and over any SSH/tmux setup.

use ratatui::style::{Color, Modifier, Style};

/// Re-exported from the layout side ([`crate::text`]), where the model uses it too.
pub use crate::text::Tone;

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
    /// Highlighted code in fenced blocks (plain code uses `code`).
    pub code_keyword: Style,
    pub code_string: Style,
    pub code_comment: Style,
    pub code_number: Style,
    pub code_function: Style,
    pub code_type: Style,
    pub code_punctuation: Style,
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
            code_keyword: Style::default()
                .fg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            code_string: Style::default().fg(Color::Green),
            code_comment: Style::default()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            code_number: Style::default().fg(Color::Red),
            code_function: Style::default().fg(Color::Yellow),
            code_type: Style::default().fg(Color::Cyan),
            code_punctuation: Style::default(),
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
            Tone::CodeKeyword => self.code_keyword,
            Tone::CodeString => self.code_string,
            Tone::CodeComment => self.code_comment,
            Tone::CodeNumber => self.code_number,
            Tone::CodeFunction => self.code_function,
            Tone::CodeType => self.code_type,
            Tone::CodePunctuation => self.code_punctuation,
        }
    }
}

/// One role in a theme file: any field left out keeps the default's value.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// Foreground: a name (`cyan`, `darkgray`, `lightred`…), `#rrggbb`, or an index `0`–`255`.
    pub fg: Option<String>,
    /// Background, same forms.
    pub bg: Option<String>,
    pub bold: Option<bool>,
    pub italic: Option<bool>,
    pub dim: Option<bool>,
    pub underlined: Option<bool>,
    pub reversed: Option<bool>,
}

/// A theme file: roles to override, by name.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    #[serde(default)]
    pub roles: std::collections::BTreeMap<String, RoleSpec>,
}

/// A theme file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ThemeError {
    #[error("theme file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Parses a colour: a name, `#rrggbb` or an index.
pub fn parse_color(s: &str) -> Option<Color> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8));
    }
    if let Ok(index) = s.parse::<u8>() {
        return Some(Color::Indexed(index));
    }
    Some(
        match s.to_ascii_lowercase().replace(['_', '-', ' '], "").as_str() {
            "reset" | "default" => Color::Reset,
            "black" => Color::Black,
            "red" => Color::Red,
            "green" => Color::Green,
            "yellow" => Color::Yellow,
            "blue" => Color::Blue,
            "magenta" => Color::Magenta,
            "cyan" => Color::Cyan,
            "gray" | "grey" => Color::Gray,
            "darkgray" | "darkgrey" => Color::DarkGray,
            "lightred" => Color::LightRed,
            "lightgreen" => Color::LightGreen,
            "lightyellow" => Color::LightYellow,
            "lightblue" => Color::LightBlue,
            "lightmagenta" => Color::LightMagenta,
            "lightcyan" => Color::LightCyan,
            "white" => Color::White,
            _ => return None,
        },
    )
}

impl Theme {
    /// The default theme with the roles of `text` (a theme file's TOML) laid over it.
    /// `path` names the file in errors.
    pub fn with_overrides(text: &str, path: &str) -> Result<Theme, ThemeError> {
        let invalid = |message: String| ThemeError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: ThemeFile =
            toml::from_str(text).map_err(|e| invalid(e.to_string().trim().to_string()))?;
        let mut theme = Theme::default();
        for (name, spec) in &file.roles {
            let slot = theme.role_mut(name).ok_or_else(|| {
                invalid(format!(
                    "unknown role {name:?} (roles: {})",
                    ROLE_NAMES.join(", ")
                ))
            })?;
            *slot = apply(*slot, spec).map_err(|e| invalid(format!("role {name}: {e}")))?;
        }
        Ok(theme)
    }

    /// The same theme without colour, for `NO_COLOR`: structure shows through the attributes
    /// every terminal has — muted text and borders dim, accents and warnings bold, errors bold
    /// and underlined, the status bar reversed.
    pub fn monochrome(mut self) -> Theme {
        for name in ROLE_NAMES {
            if let Some(style) = self.role_mut(name) {
                style.fg = None;
                style.bg = None;
            }
        }
        self.muted = self.muted.add_modifier(Modifier::DIM);
        self.border = self.border.add_modifier(Modifier::DIM);
        self.accent = self.accent.add_modifier(Modifier::BOLD);
        self.warning = self.warning.add_modifier(Modifier::BOLD);
        self.error = self
            .error
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        self.status_bar = self.status_bar.add_modifier(Modifier::REVERSED);
        self
    }

    fn role_mut(&mut self, name: &str) -> Option<&mut Style> {
        Some(match name {
            "normal" => &mut self.normal,
            "muted" => &mut self.muted,
            "accent" => &mut self.accent,
            "user" => &mut self.user,
            "error" => &mut self.error,
            "warning" => &mut self.warning,
            "success" => &mut self.success,
            "code" => &mut self.code,
            "heading" => &mut self.heading,
            "strong" => &mut self.strong,
            "emphasis" => &mut self.emphasis,
            "code_keyword" => &mut self.code_keyword,
            "code_string" => &mut self.code_string,
            "code_comment" => &mut self.code_comment,
            "code_number" => &mut self.code_number,
            "code_function" => &mut self.code_function,
            "code_type" => &mut self.code_type,
            "code_punctuation" => &mut self.code_punctuation,
            "border" => &mut self.border,
            "status_bar" => &mut self.status_bar,
            _ => return None,
        })
    }
}

/// Every role a theme file may set.
pub const ROLE_NAMES: [&str; 20] = [
    "normal",
    "muted",
    "accent",
    "user",
    "error",
    "warning",
    "success",
    "code",
    "heading",
    "strong",
    "emphasis",
    "code_keyword",
    "code_string",
    "code_comment",
    "code_number",
    "code_function",
    "code_type",
    "code_punctuation",
    "border",
    "status_bar",
];

fn apply(mut style: Style, spec: &RoleSpec) -> Result<Style, String> {
    let color = |c: &Option<String>, what: &str| -> Result<Option<Color>, String> {
        c.as_deref()
            .map(|s| {
                parse_color(s).ok_or_else(|| {
                    format!("{what} {s:?} is not a colour (a name, #rrggbb or 0-255)")
                })
            })
            .transpose()
    };
    if let Some(fg) = color(&spec.fg, "fg")? {
        style = style.fg(fg);
    }
    if let Some(bg) = color(&spec.bg, "bg")? {
        style = style.bg(bg);
    }
    for (flag, modifier) in [
        (spec.bold, Modifier::BOLD),
        (spec.italic, Modifier::ITALIC),
        (spec.dim, Modifier::DIM),
        (spec.underlined, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ] {
        style = match flag {
            Some(true) => style.add_modifier(modifier),
            Some(false) => style.remove_modifier(modifier),
            None => style,
        };
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn a_theme_file_overrides_only_the_roles_it_names() {
        let theme = Theme::with_overrides(
            "[roles]\naccent = { fg = \"#ff8800\", bold = false }\nmuted = { fg = \"244\" }\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            theme.accent,
            Style::default()
                .fg(Color::Rgb(0xff, 0x88, 0x00))
                .remove_modifier(Modifier::BOLD)
        );
        assert_eq!(theme.muted, Style::default().fg(Color::Indexed(244)));
        assert_eq!(theme.error, Theme::default().error);
    }

    #[test]
    fn bad_theme_files_name_the_problem() {
        let err = Theme::with_overrides("[roles]\naccnet = { fg = \"red\" }", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.toml") && err.contains("accnet"), "{err}");
        let err = Theme::with_overrides("[roles]\naccent = { fg = \"redish\" }", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("redish"), "{err}");
    }

    #[test]
    fn the_shipped_theme_files_load() {
        for file in ["default.toml", "light.toml"] {
            let path = format!("{}/themes/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            Theme::with_overrides(&text, &path).unwrap();
        }
        let text = std::fs::read_to_string(format!(
            "{}/themes/default.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(
            Theme::with_overrides(&text, "default.toml").unwrap(),
            Theme::default(),
            "themes/default.toml documents the built-in theme exactly"
        );
    }
}
