//! The lean backend: what a frame writes, byte for byte, and that a terminal shown those
//! bytes ends up with the same screen as ratatui's own buffer.

use pretty_assertions::assert_eq;
use ratatui::Terminal;
use ratatui::layout::{Rect, Size};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::*;

fn terminal(width: u16, height: u16) -> Terminal<LeanBackend<Vec<u8>>> {
    Terminal::new(LeanBackend::new(Vec::new()).with_size(Size { width, height })).unwrap()
}

/// Draws `lines` and returns the bytes that frame wrote.
fn frame(t: &mut Terminal<LeanBackend<Vec<u8>>>, lines: &[Line<'static>]) -> String {
    let before = t.backend().writer().len();
    t.draw(|f| f.render_widget(Paragraph::new(lines.to_vec()), f.area()))
        .unwrap();
    String::from_utf8_lossy(&t.backend().writer()[before..]).into_owned()
}

#[test]
fn an_unchanged_frame_writes_nothing() {
    let mut t = terminal(20, 3);
    let lines = vec![Line::from("hello")];
    frame(&mut t, &lines);
    assert_eq!(frame(&mut t, &lines), "");
}

#[test]
fn a_token_after_the_last_costs_its_text_only() {
    let mut t = terminal(20, 3);
    let styled = |s: &str| Line::from(Span::styled(s.to_string(), Style::new().fg(Color::Cyan)));
    frame(&mut t, &[styled("hello")]);
    // No cursor move (the cursor is where "hello" ended), no colour (it stayed cyan), no
    // reset at the end.
    assert_eq!(frame(&mut t, &[styled("hello wor")]), " wor");
    assert_eq!(frame(&mut t, &[styled("hello world")]), "ld");
}

#[test]
fn styles_are_one_sequence_and_never_reset_at_the_end_of_a_frame() {
    let mut t = terminal(20, 2);
    let bytes = frame(
        &mut t,
        &[Line::from(vec![
            Span::styled(
                "a",
                Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ),
            Span::styled("b", Style::new().fg(Color::DarkGray)),
        ])],
    );
    assert!(
        bytes.starts_with("\u{1b}[1;1H\u{1b}[1;36ma\u{1b}[0;90mb"),
        "{bytes:?}"
    );
    assert!(
        !bytes.ends_with("\u{1b}[0m") && !bytes.contains("39m\u{1b}[49m"),
        "{bytes:?}"
    );
}

#[test]
fn a_move_forward_on_the_same_row_is_the_short_form() {
    let mut t = terminal(30, 2);
    frame(&mut t, &[Line::from("abc")]);
    let bytes = frame(&mut t, &[Line::from("abc          x")]);
    assert_eq!(bytes, "\u{1b}[10Cx");
    // Backwards: the full form.
    assert_eq!(
        frame(&mut t, &[Line::from("abc          y")]),
        "\u{1b}[1;14Hy"
    );
}

#[test]
fn a_blank_run_is_erased_in_place() {
    let mut t = terminal(30, 2);
    frame(&mut t, &[Line::from("a long line of text here")]);
    assert_eq!(
        frame(&mut t, &[Line::from("a long")]),
        // From the first changed cell to the end of the row (blank already or not).
        "\u{1b}[1;8H\u{1b}[23X"
    );
}

#[test]
fn only_a_large_frame_is_wrapped_in_synchronized_output() {
    let mut t = terminal(80, 10);
    let small = frame(&mut t, &[Line::from("hi")]);
    assert!(!small.contains("\u{1b}[?2026h"), "{small:?}");
    let full: Vec<Line<'static>> = (0..10)
        .map(|n| Line::from(format!("{n} ").repeat(20)))
        .collect();
    let big = frame(&mut t, &full);
    assert!(
        big.starts_with("\u{1b}[?2026h") && big.ends_with("\u{1b}[?2026l"),
        "{big:?}"
    );
}

/// What a terminal shows after `bytes`: each cell's text, colours and boldness.
fn screen(bytes: &[u8], width: u16, height: u16) -> Vec<String> {
    let mut parser = vt100::Parser::new(height, width, 0);
    parser.process(bytes);
    let s = parser.screen();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| {
                    let cell = s.cell(y, x).expect("a cell");
                    format!(
                        "{}{:?}{:?}{}{}",
                        if cell.contents().is_empty() {
                            " ".to_string()
                        } else {
                            cell.contents().to_string()
                        },
                        cell.fgcolor(),
                        cell.bgcolor(),
                        u8::from(cell.bold()),
                        u8::from(cell.inverse())
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn a_terminal_shown_the_frames_matches_what_was_drawn() {
    let (width, height) = (24u16, 6u16);
    let mut lean = terminal(width, height);
    let styles = [
        Style::new(),
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        Style::new().fg(Color::Yellow).bg(Color::Blue),
        Style::new().add_modifier(Modifier::REVERSED),
        Style::new().fg(Color::Indexed(200)),
        Style::new().fg(Color::Rgb(1, 2, 3)),
    ];
    let mut text = String::new();
    for step in 0..90 {
        text.push_str(["ab ", "c", "日本 ", "\n", "émoji 🎉 ", "xyz "][step % 6]);
        if step % 29 == 28 {
            // A page turns: most of the screen becomes blank.
            text = text.lines().last().unwrap_or_default().to_string();
        }
        let lines: Vec<Line<'static>> = text
            .lines()
            .enumerate()
            .map(|(n, l)| {
                Line::from(Span::styled(
                    l.to_string(),
                    styles[(n + step / 7) % styles.len()],
                ))
            })
            .collect();
        frame(&mut lean, &lines);
        // The reference redraws from scratch every time.
        let mut reference = terminal(width, height);
        frame(&mut reference, &lines);
        assert_eq!(
            screen(lean.backend().writer(), width, height),
            screen(reference.backend().writer(), width, height),
            "step {step}"
        );
    }
}

#[test]
fn the_cursor_is_hidden_or_shown_only_when_that_changes() {
    let mut t = terminal(10, 2);
    let mut bytes = Vec::new();
    for _ in 0..3 {
        t.draw(|f| {
            f.render_widget(Paragraph::new("x"), f.area());
            f.set_cursor_position((2, 1));
        })
        .unwrap();
        bytes.push(
            String::from_utf8_lossy(t.backend().writer())
                .matches("\u{1b}[?25h")
                .count(),
        );
    }
    assert_eq!(bytes, vec![1, 1, 1], "shown once, then left alone");
    let area = Rect::new(0, 0, 10, 2);
    t.draw(|f| f.render_widget(Paragraph::new("y"), area))
        .unwrap();
    let all = String::from_utf8_lossy(t.backend().writer()).into_owned();
    assert_eq!(all.matches("\u{1b}[?25l").count(), 1, "{all:?}");
}

#[test]
fn the_size_a_resize_event_gave_is_used_without_asking_the_terminal_each_frame() {
    // No tty here: asking would fail or give another size; the size told is what counts.
    let mut backend = LeanBackend::new(Vec::new());
    backend.resized(Size {
        width: 50,
        height: 10,
    });
    assert_eq!(
        backend.size().unwrap(),
        Size {
            width: 50,
            height: 10
        }
    );
    let mut terminal = Terminal::new(backend).unwrap();
    terminal
        .draw(|f| assert_eq!((f.area().width, f.area().height), (50, 10)))
        .unwrap();
}
