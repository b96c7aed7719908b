//! Copying over SSH: Alt-Y copies the reply the panel shows (the latest, or the one chosen
//! with Alt-↑/↓) — or, after Alt-K picked one, a code block of it — to the clipboard of the
//! terminal the user sits at, through OSC 52 (the app writes the sequence; the terminal, or
//! tmux with `set-clipboard on`, puts it on the clipboard). Mouse capture stays off, so the
//! terminal's own selection keeps working too.

use super::{Effect, Model, StatusTone};
use crate::event::RequestId;
use crate::text::code_blocks::{CodeBlock, code_blocks};

/// Terminals refuse OSC 52 payloads past about this size (xterm's default is 100,000 bytes
/// of base64).
pub const COPY_MAX_BYTES: usize = 74_000;

/// Which code block of which reply Alt-Y copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeChoice {
    pub reply: RequestId,
    /// 0-based.
    pub block: usize,
}

impl Model {
    /// Alt-K: the next code block of the reply the panel shows (after the last: the whole
    /// reply again).
    pub(super) fn next_code_block(&mut self) {
        let Some(reply) = self.panel_reply() else {
            self.set_status(StatusTone::Info, "no reply to copy from yet");
            return;
        };
        let id = reply.id;
        let blocks = code_blocks(reply.text());
        if blocks.is_empty() {
            self.code_choice = None;
            self.set_status(
                StatusTone::Info,
                "this reply has no code block — Alt-Y copies the whole reply",
            );
            return;
        }
        let next = match self.code_choice {
            Some(choice) if choice.reply == id => choice.block + 1,
            _ => 0,
        };
        match blocks.get(next) {
            Some(block) => {
                self.code_choice = Some(CodeChoice {
                    reply: id,
                    block: next,
                });
                let text = format!(
                    "code block {} of {}: {} — Alt-Y copies it, Alt-K the next",
                    next + 1,
                    blocks.len(),
                    describe(block)
                );
                self.set_status(StatusTone::Info, text);
            }
            None => {
                self.code_choice = None;
                self.set_status(StatusTone::Info, "the whole reply — Alt-Y copies it");
            }
        }
    }

    /// Alt-Y: copies the chosen code block, else the whole reply the panel shows.
    pub(super) fn copy(&mut self) -> Vec<Effect> {
        let Some(reply) = self.panel_reply() else {
            self.set_status(StatusTone::Info, "nothing to copy yet");
            return Vec::new();
        };
        let (text, what) = match self
            .code_choice
            .filter(|c| c.reply == reply.id)
            .and_then(|c| Some((c.block, code_blocks(reply.text()).get(c.block)?.clone())))
        {
            Some((n, block)) => (block.code.clone(), format!("code block {}", n + 1)),
            None => (reply.text().to_string(), "the reply".to_string()),
        };
        // What reaches the clipboard is what was shown: no control sequences.
        let text = crate::text::sanitize_for_output(&text);
        if text.is_empty() {
            self.set_status(StatusTone::Info, "the reply is empty: nothing copied");
            return Vec::new();
        }
        if text.len() > COPY_MAX_BYTES {
            self.set_status(
                StatusTone::Warning,
                format!(
                    "{what} is {} — too large for the terminal's clipboard (OSC 52 takes about {} KB); use `promptdeck export`",
                    size(&text),
                    COPY_MAX_BYTES / 1000
                ),
            );
            return Vec::new();
        }
        let lines = text.lines().count();
        self.set_status(
            StatusTone::Info,
            format!(
                "copied {what}: {} line{}, {} (OSC 52; in tmux: set -g set-clipboard on)",
                lines,
                if lines == 1 { "" } else { "s" },
                size(&text)
            ),
        );
        vec![Effect::Copy { text }]
    }
}

fn describe(block: &CodeBlock) -> String {
    let lines = block.code.lines().count();
    format!(
        "{}, {lines} line{}",
        block.language.as_deref().unwrap_or("text"),
        if lines == 1 { "" } else { "s" }
    )
}

/// `1,234 characters`.
fn size(text: &str) -> String {
    format!(
        "{} characters",
        crate::text::thousands(text.chars().count() as u64)
    )
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::event::AppEvent;
    use crate::llm::retry::Progress;
    use crate::llm::{StopReason, StreamEvent};
    use crate::model::{Session, StartKind};

    const REPLY: &str =
        "Two ways:\n\n```rust\nfn main() {}\n```\n\nand\n\n```sh\nls -l\necho \u{1b}[31mhi\n```\n";

    fn model_with_reply() -> Model {
        let mut m = Model::new(Session {
            provider: "demo".into(),
            provider_label: None,
            model: "m".into(),
            max_tokens: 100,
            temperature: None,
            system: None,
            start: StartKind::Configured,
        });
        let now = Instant::now();
        m.update(AppEvent::Paste("hi".into()), now);
        let id = m
            .update(
                AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
                now,
            )
            .into_iter()
            .find_map(|e| match e {
                Effect::StartRequest { id, .. } => Some(id),
                _ => None,
            })
            .expect("sent");
        let started = Progress::AttemptStarted {
            number: 1,
            model: "m".into(),
        };
        m.update(AppEvent::progress(id, started, now), now);
        m.update(
            AppEvent::stream(id, StreamEvent::TextDelta(REPLY.into()), now),
            now,
        );
        let done = StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        };
        m.update(AppEvent::stream(id, done, now), now);
        m
    }

    fn alt(m: &mut Model, c: char) -> Vec<Effect> {
        m.update(
            AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)),
            Instant::now(),
        )
    }

    fn copied(effects: Vec<Effect>) -> Option<String> {
        effects.into_iter().find_map(|e| match e {
            Effect::Copy { text } => Some(text),
            _ => None,
        })
    }

    #[test]
    fn alt_y_copies_the_reply_and_says_what_and_how_much() {
        let mut m = model_with_reply();
        let text = copied(alt(&mut m, 'y')).expect("copied");
        assert!(text.starts_with("Two ways:") && text.contains("```rust"));
        let status = m.status.clone().expect("said").text;
        assert!(
            status.starts_with("copied the reply: 12 lines, 66 characters"),
            "{status}"
        );
    }

    #[test]
    fn alt_k_cycles_through_code_blocks_and_alt_y_copies_the_chosen_one() {
        let mut m = model_with_reply();
        alt(&mut m, 'k');
        assert_eq!(
            m.status.clone().map(|s| s.text),
            Some("code block 1 of 2: rust, 1 line — Alt-Y copies it, Alt-K the next".into())
        );
        assert_eq!(copied(alt(&mut m, 'y')), Some("fn main() {}\n".into()));
        alt(&mut m, 'k');
        // Nothing that could drive a terminal reaches the clipboard.
        assert_eq!(copied(alt(&mut m, 'y')), Some("ls -l\necho hi\n".into()));
        alt(&mut m, 'k');
        assert_eq!(
            m.status.clone().map(|s| s.text),
            Some("the whole reply — Alt-Y copies it".into())
        );
        assert!(copied(alt(&mut m, 'y')).is_some_and(|t| t.starts_with("Two ways:")));
    }

    #[test]
    fn nothing_to_copy_is_said() {
        let mut m = model_with_reply();
        m.lane.transcript = crate::model::Transcript::default();
        assert_eq!(copied(alt(&mut m, 'y')), None);
        assert_eq!(
            m.status.clone().map(|s| s.text),
            Some("nothing to copy yet".into())
        );
    }
}
