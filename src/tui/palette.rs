//! How many colours the terminal shows, and the colours of a frame fitted to it.
//!
//! `NO_COLOR` (any non-empty value, <https://no-color.org>) means no colour at all: the
//! theme then marks structure with bold, dim, underline and reverse instead
//! ([`crate::ui::theme::Theme::monochrome`]), and the backend writes no colour. Otherwise
//! 24-bit colour is used only when the terminal announces it (`COLORTERM=truecolor` or
//! `24bit`); a `TERM` naming 256 colours gets the nearest of the 256, anything else the
//! nearest of the 16 ANSI colours — the built-in theme uses only those 16, so what the user
//! sees there never changes; a theme file's `#rrggbb` is what gets fitted.

use ratatui::style::Color;

/// The colours a terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// `NO_COLOR`: none.
    NoColor,
    /// The 16 ANSI colours.
    Ansi16,
    /// The xterm 256-colour palette.
    Ansi256,
    /// 24-bit colour.
    TrueColor,
}

impl Palette {
    /// From the environment's `NO_COLOR`, `COLORTERM` and `TERM`.
    pub fn from_env() -> Palette {
        let var = |name: &str| std::env::var(name).ok();
        Palette::from_vars(
            var("NO_COLOR").as_deref(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }

    /// From the values of `NO_COLOR`, `COLORTERM` and `TERM`.
    pub fn from_vars(
        no_color: Option<&str>,
        colorterm: Option<&str>,
        term: Option<&str>,
    ) -> Palette {
        if no_color.is_some_and(|v| !v.is_empty()) {
            return Palette::NoColor;
        }
        let colorterm = colorterm.unwrap_or("").to_ascii_lowercase();
        if colorterm == "truecolor" || colorterm == "24bit" {
            return Palette::TrueColor;
        }
        if term.is_some_and(|t| t.contains("256color")) {
            Palette::Ansi256
        } else {
            Palette::Ansi16
        }
    }

    /// `color` as this palette can show it.
    pub fn fit(self, color: Color) -> Color {
        match (self, color) {
            (_, Color::Reset) => Color::Reset,
            (Palette::NoColor, _) => Color::Reset,
            (Palette::TrueColor, c) => c,
            (Palette::Ansi256, Color::Rgb(r, g, b)) => Color::Indexed(to_256(r, g, b)),
            (Palette::Ansi256, c) => c,
            (Palette::Ansi16, Color::Rgb(r, g, b)) => nearest_ansi(r, g, b),
            (Palette::Ansi16, Color::Indexed(i)) => {
                let (r, g, b) = rgb_of_256(i);
                nearest_ansi(r, g, b)
            }
            (Palette::Ansi16, c) => c,
        }
    }
}

/// The 16 ANSI colours as xterm shows them by default.
const ANSI: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

fn distance((r1, g1, b1): (u8, u8, u8), (r2, g2, b2): (u8, u8, u8)) -> u32 {
    let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2) as u32;
    d(r1, r2) + d(g1, g2) + d(b1, b2)
}

fn nearest_ansi(r: u8, g: u8, b: u8) -> Color {
    ANSI.iter()
        .min_by_key(|(_, rgb)| distance(*rgb, (r, g, b)))
        .map_or(Color::Reset, |(c, _)| *c)
}

/// The levels of the 6x6x6 colour cube.
const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The nearest colour of the 256 (the cube or the grey ramp; never the 16, which themes
/// redefine).
fn to_256(r: u8, g: u8, b: u8) -> u8 {
    let level = |v: u8| {
        CUBE.iter()
            .enumerate()
            .min_by_key(|(_, l)| (i32::from(**l) - i32::from(v)).abs())
            .map_or(0, |(i, _)| i as u8)
    };
    let (ri, gi, bi) = (level(r), level(g), level(b));
    let cube = 16 + 36 * ri + 6 * gi + bi;
    let cube_rgb = (CUBE[ri as usize], CUBE[gi as usize], CUBE[bi as usize]);
    let average = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    let grey_index = ((average.saturating_sub(8)) / 10).min(23) as u8;
    let grey = 8 + 10 * grey_index;
    if distance((grey, grey, grey), (r, g, b)) < distance(cube_rgb, (r, g, b)) {
        232 + grey_index
    } else {
        cube
    }
}

fn rgb_of_256(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI[usize::from(i)].1,
        16..=231 => {
            let n = i - 16;
            (
                CUBE[usize::from(n / 36)],
                CUBE[usize::from((n / 6) % 6)],
                CUBE[usize::from(n % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_environment_decides_the_palette() {
        assert_eq!(
            Palette::from_vars(Some("1"), Some("truecolor"), Some("xterm-256color")),
            Palette::NoColor
        );
        assert_eq!(
            Palette::from_vars(Some(""), Some("truecolor"), None),
            Palette::TrueColor,
            "an empty NO_COLOR does not count"
        );
        assert_eq!(
            Palette::from_vars(None, None, Some("screen-256color")),
            Palette::Ansi256
        );
        assert_eq!(
            Palette::from_vars(None, None, Some("xterm")),
            Palette::Ansi16
        );
        assert_eq!(
            Palette::from_vars(None, Some("24bit"), Some("xterm")),
            Palette::TrueColor
        );
    }

    #[test]
    fn colours_are_fitted_to_the_palette() {
        let orange = Color::Rgb(255, 135, 0);
        assert_eq!(Palette::TrueColor.fit(orange), orange);
        assert_eq!(Palette::Ansi256.fit(orange), Color::Indexed(208));
        assert_eq!(
            Palette::Ansi256.fit(Color::Rgb(128, 128, 128)),
            Color::Indexed(244)
        );
        assert_eq!(Palette::Ansi16.fit(orange), Color::Yellow);
        assert_eq!(Palette::Ansi16.fit(Color::Indexed(196)), Color::LightRed);
        assert_eq!(Palette::Ansi16.fit(Color::Cyan), Color::Cyan, "the 16 stay");
        assert_eq!(Palette::NoColor.fit(Color::Cyan), Color::Reset);
    }
}
