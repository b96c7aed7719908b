//! A ratatui backend that writes what a frame changed and nothing else.
//!
//! Over SSH every byte is latency, and a streamed token should cost about its own text.
//! ratatui's crossterm backend ends every frame with four reset sequences, hides the cursor
//! again on every frame, repeats `ESC[row;colH` wherever a changed cell does not follow the
//! previous one, and writes colours and attributes as separate sequences. This backend:
//!
//! - keeps the terminal's colours and attributes from one frame to the next, and writes a
//!   style change as one combined SGR sequence (`ESC[0;1;36m`), never a trailing reset;
//! - remembers where the terminal's cursor is after each frame, so the next token, which
//!   continues where the last one ended, needs no cursor move; a move on the same row is the
//!   short `ESC[nC`;
//! - erases a run of blank cells in place (`ESC[nX`, which leaves the cursor where it is)
//!   instead of writing n spaces — a line that got shorter, a page that turned;
//! - writes `ESC[?25l` / `ESC[?25h` only when the cursor's visibility changes;
//! - never queries the terminal (no cursor-position report: the position is tracked);
//! - buffers a frame and writes it in one `write`; a frame larger than [`SYNC_MIN_BYTES`] is
//!   wrapped in synchronized output (mode 2026) so that a slow link never shows it torn.
//!   Smaller frames (a token, a counter) go out in one write, which a terminal does not tear
//!   in any way a reader can see, and skip the 16 bytes the mode costs.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

use super::palette::Palette;

/// Frames larger than this are wrapped in synchronized output.
pub const SYNC_MIN_BYTES: usize = 256;

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

/// The colours and attributes the terminal draws with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pen {
    fg: Color,
    bg: Color,
    modifier: Modifier,
}

impl Pen {
    const DEFAULT: Pen = Pen {
        fg: Color::Reset,
        bg: Color::Reset,
        modifier: Modifier::empty(),
    };
}

/// What the terminal shows, cell by cell: blank or not is all that is kept.
#[derive(Debug, Default)]
struct Screen {
    width: u16,
    blank: Vec<bool>,
}

impl Screen {
    fn resize(&mut self, width: u16, height: u16) {
        self.width = width;
        self.blank = vec![true; usize::from(width) * usize::from(height)];
    }

    fn clear(&mut self) {
        self.blank.fill(true);
    }

    fn set(&mut self, x: u16, y: u16, cell: &Cell) {
        let at = usize::from(y) * usize::from(self.width) + usize::from(x);
        if x < self.width
            && let Some(slot) = self.blank.get_mut(at)
        {
            *slot = is_blank(cell);
        }
    }

    /// How many blank cells there are from (`x`, `y`) to the right, on that row.
    fn blank_run(&self, x: u16, y: u16) -> u16 {
        let start = usize::from(y) * usize::from(self.width);
        let row = self
            .blank
            .get(start..start + usize::from(self.width))
            .unwrap_or(&[]);
        row.iter().skip(usize::from(x)).take_while(|b| **b).count() as u16
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct LeanBackend<W: Write> {
    writer: W,
    /// The frame being written.
    frame: Vec<u8>,
    pen: Pen,
    /// Where the terminal's cursor is, when known.
    cursor: Option<Position>,
    cursor_hidden: bool,
    /// Bytes written to the terminal so far (for the benchmark and tests).
    written: u64,
    /// Which cells are blank on the terminal now.
    screen: Screen,
    /// The colours the terminal can show: every colour is fitted to it.
    palette: Palette,
    /// A fixed size instead of the terminal's (tests).
    fixed_size: Option<Size>,
    /// The terminal's size as last asked or told by a resize event: asking costs opening
    /// the tty and an ioctl, and ratatui asks before every frame.
    known_size: std::cell::Cell<Option<Size>>,
    /// The size seen by the last [`Backend::size`], for the last-column rule and the screen.
    width: std::cell::Cell<u16>,
    height: std::cell::Cell<u16>,
}

impl<W: Write> LeanBackend<W> {
    /// A backend writing to `writer`, on a terminal whose cursor the caller has hidden and
    /// whose style is the default.
    pub fn new(writer: W) -> LeanBackend<W> {
        LeanBackend {
            writer,
            frame: Vec::with_capacity(16 * 1024),
            pen: Pen::DEFAULT,
            cursor: None,
            cursor_hidden: true,
            written: 0,
            screen: Screen::default(),
            palette: Palette::TrueColor,
            fixed_size: None,
            known_size: std::cell::Cell::new(None),
            width: std::cell::Cell::new(u16::MAX),
            height: std::cell::Cell::new(0),
        }
    }

    /// The same backend for a terminal that shows `palette`.
    pub fn with_palette(mut self, palette: Palette) -> LeanBackend<W> {
        self.palette = palette;
        self
    }

    /// The same backend on a terminal of `size` that is never asked (tests).
    pub fn with_size(mut self, size: Size) -> LeanBackend<W> {
        self.fixed_size = Some(size);
        self.width.set(size.width);
        self.height.set(size.height);
        self
    }

    /// The terminal now has this size (a resize event said so).
    pub fn resized(&mut self, size: Size) {
        self.known_size.set(Some(size));
    }

    /// Asks the terminal for its size again at the next frame (after the terminal was handed
    /// to another program, whose resizes the app did not see).
    pub fn forget_size(&mut self) {
        self.known_size.set(None);
    }

    /// Bytes written to the terminal so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The writer (a test's buffer).
    pub fn writer(&self) -> &W {
        &self.writer
    }

    fn move_to(&mut self, x: u16, y: u16) {
        match self.cursor {
            Some(c) if c.x == x && c.y == y => {}
            // A word's leading space is unchanged, so the diff skips it: writing the blank
            // again is shorter than moving over it (when the pen draws blanks as blanks).
            Some(c)
                if c.y == y
                    && x > c.x
                    && x - c.x <= FILL_MAX_CELLS
                    && self.pen.bg == Color::Reset
                    && (self.pen.modifier & VISIBLE_ON_BLANKS).is_empty()
                    && self.screen.blank_run(c.x, y) >= x - c.x =>
            {
                for _ in c.x..x {
                    self.frame.push(b' ');
                }
            }
            Some(c) if c.y == y && x > c.x => {
                let _ = write!(self.frame, "\x1b[{}C", x - c.x);
            }
            _ => {
                let _ = write!(self.frame, "\x1b[{};{}H", y + 1, x + 1);
            }
        }
        self.cursor = Some(Position { x, y });
    }

    fn set_pen(&mut self, to: Pen) {
        if to == self.pen {
            return;
        }
        let mut params: Vec<String> = Vec::new();
        let removed = self.pen.modifier - to.modifier;
        let from = if removed.is_empty() {
            self.pen
        } else {
            params.push("0".into());
            Pen::DEFAULT
        };
        for (flag, code) in MODIFIER_CODES {
            if to.modifier.contains(flag) && !from.modifier.contains(flag) {
                params.push(code.to_string());
            }
        }
        if to.fg != from.fg {
            params.push(color_code(to.fg, Layer::Foreground));
        }
        if to.bg != from.bg {
            params.push(color_code(to.bg, Layer::Background));
        }
        if !params.is_empty() {
            let _ = write!(self.frame, "\x1b[{}m", params.join(";"));
        }
        self.pen = to;
    }

    /// Back to the default style (before clearing: the terminal fills erased cells with the
    /// current background).
    fn reset_pen(&mut self) {
        if self.pen != Pen::DEFAULT {
            self.frame.extend_from_slice(b"\x1b[0m");
            self.pen = Pen::DEFAULT;
        }
    }
}

/// Gaps of blanks up to this long are written as spaces rather than moved over (`ESC[nC`
/// is 4 bytes).
const FILL_MAX_CELLS: u16 = 3;

/// Attributes that show on a space: a blank written with them would not look blank.
const VISIBLE_ON_BLANKS: Modifier = Modifier::REVERSED
    .union(Modifier::UNDERLINED)
    .union(Modifier::CROSSED_OUT)
    .union(Modifier::SLOW_BLINK)
    .union(Modifier::RAPID_BLINK);

/// Blank runs at least this long are erased (`ESC[nX`) rather than written as spaces.
const ERASE_MIN_CELLS: usize = 6;

/// A space in the default style: what erasing leaves.
fn is_blank(cell: &Cell) -> bool {
    cell.symbol() == " "
        && cell.fg == Color::Reset
        && cell.bg == Color::Reset
        && cell.modifier.is_empty()
}

const MODIFIER_CODES: [(Modifier, u8); 9] = [
    (Modifier::BOLD, 1),
    (Modifier::DIM, 2),
    (Modifier::ITALIC, 3),
    (Modifier::UNDERLINED, 4),
    (Modifier::SLOW_BLINK, 5),
    (Modifier::RAPID_BLINK, 6),
    (Modifier::REVERSED, 7),
    (Modifier::HIDDEN, 8),
    (Modifier::CROSSED_OUT, 9),
];

#[derive(Clone, Copy)]
enum Layer {
    Foreground,
    Background,
}

/// The SGR parameters for `color` on `layer`.
fn color_code(color: Color, layer: Layer) -> String {
    let (base, bright, extended, reset) = match layer {
        Layer::Foreground => (30, 90, 38, 39),
        Layer::Background => (40, 100, 48, 49),
    };
    let ansi = |n: u8| -> String {
        if n < 8 {
            (base + n as u16).to_string()
        } else {
            (bright + (n - 8) as u16).to_string()
        }
    };
    match color {
        Color::Reset => reset.to_string(),
        Color::Black => ansi(0),
        Color::Red => ansi(1),
        Color::Green => ansi(2),
        Color::Yellow => ansi(3),
        Color::Blue => ansi(4),
        Color::Magenta => ansi(5),
        Color::Cyan => ansi(6),
        Color::Gray => ansi(7),
        Color::DarkGray => ansi(8),
        Color::LightRed => ansi(9),
        Color::LightGreen => ansi(10),
        Color::LightYellow => ansi(11),
        Color::LightBlue => ansi(12),
        Color::LightMagenta => ansi(13),
        Color::LightCyan => ansi(14),
        Color::White => ansi(15),
        Color::Indexed(i) => format!("{extended};5;{i}"),
        Color::Rgb(r, g, b) => format!("{extended};2;{r};{g};{b}"),
    }
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let width = self.width.get();
        let height = self.height.get();
        if self.screen.width != width
            || self.screen.blank.len() != usize::from(width) * usize::from(height)
        {
            // A new size: ratatui clears the screen before drawing on it.
            self.screen.resize(width, height);
        }
        let cells: Vec<(u16, u16, &Cell)> = content.collect();
        // What the screen holds once this frame is shown: the cells not in the diff are
        // unchanged, so a run of blanks can be found across them.
        for (x, y, cell) in &cells {
            self.screen.set(*x, *y, cell);
        }
        let mut i = 0;
        while i < cells.len() {
            let (x, y, cell) = cells[i];
            // A run of blank cells (a line that got shorter, a page turned) is erased in
            // place: `ESC[nX` instead of a space per changed cell.
            if is_blank(cell) {
                let run = self.screen.blank_run(x, y);
                let changed = cells[i..]
                    .iter()
                    .take_while(|(bx, by, _)| *by == y && *bx < x + run)
                    .count();
                if changed >= ERASE_MIN_CELLS || (changed > 1 && run as usize >= ERASE_MIN_CELLS) {
                    self.move_to(x, y);
                    self.set_pen(Pen::DEFAULT);
                    let _ = write!(self.frame, "\x1b[{run}X");
                    i += changed;
                    continue;
                }
            }
            i += 1;
            self.move_to(x, y);
            self.set_pen(Pen {
                fg: self.palette.fit(cell.fg),
                bg: self.palette.fit(cell.bg),
                modifier: cell.modifier,
            });
            let symbol = cell.symbol();
            self.frame.extend_from_slice(symbol.as_bytes());
            let columns = crate::text::width(symbol);
            // A wide character, or the last column (the terminal may wait to wrap): the
            // cursor's place is not certain, so the next cell moves there explicitly.
            self.cursor = if columns == 1 && x + 1 < width {
                Some(Position { x: x + 1, y })
            } else {
                None
            };
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if !self.cursor_hidden {
            self.frame.extend_from_slice(b"\x1b[?25l");
            self.cursor_hidden = true;
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_hidden {
            self.frame.extend_from_slice(b"\x1b[?25h");
            self.cursor_hidden = false;
        }
        Ok(())
    }

    /// The tracked position: the terminal is never asked (a query costs a round trip).
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor.unwrap_or_default())
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        let Position { x, y } = position.into();
        self.move_to(x, y);
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.reset_pen();
        if clear_type == ClearType::All {
            self.screen.clear();
        }
        let code: &[u8] = match clear_type {
            ClearType::All => b"\x1b[2J",
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        };
        self.frame.extend_from_slice(code);
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        let size = match self.fixed_size.or(self.known_size.get()) {
            Some(size) => size,
            None => {
                let (width, height) = crossterm::terminal::size()?;
                let size = Size { width, height };
                self.known_size.set(Some(size));
                size
            }
        };
        self.width.set(size.width);
        self.height.set(size.height);
        Ok(size)
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let size = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size {
                width: size.columns,
                height: size.rows,
            },
            pixels: Size {
                width: size.width,
                height: size.height,
            },
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        let sync = self.frame.len() > SYNC_MIN_BYTES;
        let mut out = Vec::with_capacity(self.frame.len() + 2 * BEGIN_SYNC.len());
        if sync {
            out.extend_from_slice(BEGIN_SYNC);
        }
        out.append(&mut self.frame);
        if sync {
            out.extend_from_slice(END_SYNC);
        }
        self.writer.write_all(&out)?;
        self.written += out.len() as u64;
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests;
