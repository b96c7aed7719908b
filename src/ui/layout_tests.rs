//! The transcript's layout and scrolling, driven through the model as the app drives it:
//! keys give scroll effects, the view carries them out at the next frame.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{Rows, TranscriptLayout};
use crate::event::{AppEvent, RequestId};
use crate::llm::{NoteKind, StopReason, StreamEvent};
use crate::model::{Effect, Model, Session, StartKind};
use crate::ui::{self, View, theme::Theme};

struct Chat {
    model: Model,
    view: View,
    t0: Instant,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            model: Model::new(Session {
                provider: "anthropic".into(),
                provider_label: None,
                model: "claude-sonnet-4-5".into(),
                max_tokens: 1024,
                temperature: None,
                system: None,
                start: StartKind::Configured,
            }),
            view: View::default(),
            t0: Instant::now(),
        }
    }

    fn update(&mut self, event: AppEvent) -> Vec<Effect> {
        let effects = self.model.update(event, self.t0 + Duration::from_millis(1));
        self.view.take_scrolls(effects)
    }

    fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        self.update(AppEvent::Key(KeyEvent::new(code, modifiers)));
    }

    fn send(&mut self, text: &str) -> RequestId {
        self.update(AppEvent::Paste(text.into()));
        let sent = self.update(AppEvent::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        )));
        let id = sent
            .iter()
            .find_map(|e| match e {
                Effect::StartRequest { id, .. } => Some(*id),
                _ => None,
            })
            .expect("sent");
        let started = crate::llm::retry::Progress::AttemptStarted {
            number: 1,
            model: "claude-sonnet-4-5".into(),
        };
        self.update(AppEvent::progress(id, started, self.t0));
        id
    }

    fn stream(&mut self, id: RequestId, event: StreamEvent) {
        self.update(AppEvent::stream(id, event, self.t0));
    }

    fn exchange(&mut self, question: &str, answer: &str) -> RequestId {
        let id = self.send(question);
        self.stream(id, StreamEvent::TextDelta(answer.into()));
        let end = StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        };
        self.stream(id, end);
        id
    }

    /// The screen's rows after one frame at `width` x `height`.
    fn frame(&mut self, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        terminal
            .draw(|f| ui::render(&self.model, &Theme::default(), &mut self.view, f))
            .expect("draw");
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect()
    }

    /// The numbers N of the "message N" rows the transcript shows in a 60x16 frame.
    fn messages_shown(&mut self) -> Vec<usize> {
        self.frame(60, 16)[..12]
            .iter()
            .filter_map(|row| {
                row.trim()
                    .strip_prefix("message ")?
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    }

    fn layout(&self, width: u16) -> TranscriptLayout {
        let mut layout = TranscriptLayout::new(self.model.lane.transcript.id());
        layout.sync(&self.model.lane.transcript, width);
        layout
    }
}

/// Rows of every entry laid out from scratch.
fn rows_from_scratch(chat: &Chat, width: u16) -> usize {
    chat.layout(width).total_rows()
}

#[test]
fn row_counts_follow_a_growing_reply_and_a_new_width() {
    let mut chat = Chat::new();
    let id = chat.send("q");
    let transcript = &chat.model.lane.transcript;
    let mut kept = TranscriptLayout::new(transcript.id());
    kept.sync(transcript, 30);
    // The message (header, one row, blank) and the waiting reply (header, "…", blank).
    assert_eq!(kept.total_rows(), 3 + 3);
    for _ in 0..20 {
        chat.stream(
            id,
            StreamEvent::TextDelta("some more words to wrap ".into()),
        );
        kept.sync(&chat.model.lane.transcript, 30);
        assert_eq!(kept.total_rows(), rows_from_scratch(&chat, 30));
    }
    kept.sync(&chat.model.lane.transcript, 80);
    assert_eq!(kept.total_rows(), rows_from_scratch(&chat, 80));
    // Rows 0..3 are the user message; row 3 starts the reply.
    assert_eq!(kept.entry_at_row(2), Some((0, 0)));
    assert_eq!(kept.entry_at_row(3), Some((1, 3)));
    assert_eq!(kept.entry_at_row(kept.total_rows()), None);
}

#[test]
fn a_new_conversation_is_laid_out_afresh() {
    let mut chat = Chat::new();
    chat.exchange("first", "one");
    let mut kept = chat.layout(40);
    assert_eq!(kept.total_rows(), 6);
    chat.key(KeyCode::Char('n'), KeyModifiers::CONTROL);
    kept.sync(&chat.model.lane.transcript, 40);
    assert_eq!(kept.total_rows(), 0);
}

#[test]
fn notes_before_the_text_show_above_it_and_later_ones_below() {
    let mut chat = Chat::new();
    let id = chat.send("q");
    let note = |kind, summary: &str| StreamEvent::Note {
        kind,
        summary: summary.into(),
    };
    chat.stream(id, note(NoteKind::Thinking, "thinking (15 chars)"));
    chat.stream(id, StreamEvent::TextDelta("The answer.".into()));
    chat.stream(
        id,
        note(NoteKind::ToolUse, "tool_use lookup (20 bytes of input)"),
    );
    let mut layout = chat.layout(80);
    let rows: Vec<String> = layout
        .body(&chat.model.lane.transcript, 1)
        .iter_from(0)
        .map(|r| r.iter().map(|s| s.text.as_str()).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            "▸ thinking: thinking (15 chars) (collapsed)",
            "The answer.",
            "▸ tool call: tool_use lookup (20 bytes of input) (collapsed)",
        ]
    );
}

#[test]
fn paging_scrolls_up_and_back_down_to_follow() {
    let mut chat = Chat::new();
    for i in 0..10 {
        chat.exchange(&format!("message {i}"), "- one\n- two\n- three");
    }
    // Each exchange: user (header + 1 + blank) + reply (header + 3 + blank) = 8 rows, so
    // "message N" is row 8N + 1 of 80. The view shows 12 rows (16 less the usage strip, the
    // composer and the status line); a page is 10.
    assert_eq!(rows_from_scratch(&chat, 59), 80);
    assert_eq!(chat.messages_shown(), vec![9], "rows 68..80");
    chat.key(KeyCode::PageUp, KeyModifiers::NONE);
    assert_eq!(chat.messages_shown(), vec![8], "rows 58..70");
    chat.key(KeyCode::Home, KeyModifiers::NONE);
    assert_eq!(chat.messages_shown(), vec![0, 1], "rows 0..12");
    chat.key(KeyCode::PageDown, KeyModifiers::NONE);
    assert_eq!(chat.messages_shown(), vec![2], "rows 10..22");
    chat.key(KeyCode::End, KeyModifiers::NONE);
    assert_eq!(chat.messages_shown(), vec![9]);
    chat.key(KeyCode::PageUp, KeyModifiers::NONE);
    for _ in 0..20 {
        chat.key(KeyCode::PageDown, KeyModifiers::NONE);
    }
    assert_eq!(chat.messages_shown(), vec![9]);
    // Past the end: the view follows new text again.
    let id = chat.send("message 10");
    chat.stream(
        id,
        StreamEvent::TextDelta("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n".into()),
    );
    let rows = chat.frame(60, 16);
    assert!(rows.iter().any(|r| r.contains("  k ")), "{rows:#?}");
}

#[test]
fn scrolling_back_stays_put_while_new_text_arrives() {
    let mut chat = Chat::new();
    for i in 0..10 {
        chat.exchange(&format!("message {i}"), "an answer");
    }
    chat.key(KeyCode::Home, KeyModifiers::NONE);
    let before = chat.frame(60, 16);
    let id = chat.send("and now?");
    // Sending follows the new reply …
    assert!(chat.frame(60, 16).iter().any(|r| r.contains("and now?")));
    chat.key(KeyCode::Home, KeyModifiers::NONE);
    chat.frame(60, 16);
    // … and a view scrolled back does not move while it streams.
    for _ in 0..30 {
        chat.stream(id, StreamEvent::TextDelta("more text\n".into()));
    }
    let after = chat.frame(60, 16);
    assert_eq!(before[..8], after[..8]);
}

#[test]
fn the_reply_chosen_with_alt_up_is_scrolled_into_view() {
    let mut chat = Chat::new();
    for i in 0..6 {
        chat.exchange(
            &format!("question {i}"),
            "a reply long enough to take a few rows of a view this narrow, \
             wrapped over several rows",
        );
    }
    for _ in 0..5 {
        chat.key(KeyCode::Up, KeyModifiers::ALT);
        chat.frame(60, 16);
    }
    let rows = chat.frame(60, 16);
    assert!(
        rows[0].starts_with("▶ ◆"),
        "the first reply's header on top: {rows:#?}"
    );
    assert!(rows.iter().all(|r| !r.contains("question 0")));
    assert!(rows.iter().any(|r| r.contains("question 1")));
    // Back past the newest: the view follows again.
    for _ in 0..6 {
        chat.key(KeyCode::Down, KeyModifiers::ALT);
    }
    let rows = chat.frame(60, 16);
    assert!(rows.iter().any(|r| r.contains("question 5")), "{rows:#?}");
}

#[test]
fn a_closed_lane_or_conversation_leaves_no_view_behind() {
    let mut chat = Chat::new();
    chat.exchange("first", "one");
    chat.frame(60, 16);
    let old = chat.model.lane.transcript.id();
    chat.key(KeyCode::Char('n'), KeyModifiers::CONTROL);
    chat.frame(60, 16);
    assert!(!chat.view.has_lane(old));
    assert!(chat.view.has_lane(chat.model.lane.transcript.id()));
}

#[test]
fn a_streaming_reply_shares_its_complete_lines_from_frame_to_frame() {
    let mut chat = Chat::new();
    let id = chat.send("long");
    chat.stream(
        id,
        StreamEvent::TextDelta("First line.\nSecond line.\nThird ".into()),
    );
    let mut layout = chat.layout(80);
    let first = layout.body(&chat.model.lane.transcript, 1);
    chat.stream(id, StreamEvent::TextDelta("line grows".into()));
    let second = layout.body(&chat.model.lane.transcript, 1);
    let text = |rows: &Rows, from: usize| -> Vec<String> {
        rows.iter_from(from)
            .map(|r| r.iter().map(|s| s.text.as_str()).collect())
            .collect()
    };
    assert_eq!(
        text(&second, 0),
        vec!["First line.", "Second line.", "Third line grows"]
    );
    assert_eq!(text(&second, 1), vec!["Second line.", "Third line grows"]);
    assert_eq!(text(&second, 2), vec!["Third line grows"]);
    assert_eq!(second.len(), 3);
    // The complete lines were laid out once: the same rows, not a copy.
    assert!(
        first.shares_first_part_with(&second),
        "the complete lines were copied"
    );
    // A new complete line lays them out again.
    chat.stream(id, StreamEvent::TextDelta("\nFourth".into()));
    let third = layout.body(&chat.model.lane.transcript, 1);
    assert!(!second.shares_first_part_with(&third));
    assert_eq!(
        text(&third, 0),
        vec!["First line.", "Second line.", "Third line grows", "Fourth"]
    );
}
