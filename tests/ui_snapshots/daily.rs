//! The daily-driver screens: the key help over the chat and over the picker, the conversation
//! list searching (branches named, matches highlighted), and an earlier message being edited.

use crossterm::event::{KeyCode, KeyModifiers};
use promptdeck::event::AppEvent;
use promptdeck::records::{ConversationId, ConversationRow, ListedConversation};

use super::{Screen, StartKind, finished_exchange};

fn press(s: &mut Screen, code: KeyCode, modifiers: KeyModifiers, ms: u64) {
    s.key(code, modifiers, ms);
}

#[test]
fn key_help_over_the_chat_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    press(&mut s, KeyCode::Char('?'), KeyModifiers::NONE, 1300);
    let shown = s.render(80, 24);
    assert!(shown.contains("Alt-E"), "{shown}");
    insta::assert_snapshot!(shown);
    // Scrolled to the end: the compare keys and how to close.
    press(&mut s, KeyCode::PageDown, KeyModifiers::NONE, 1400);
    for _ in 0..10 {
        press(&mut s, KeyCode::PageDown, KeyModifiers::NONE, 1400);
        s.render(80, 24);
    }
    insta::assert_snapshot!("key_help_over_the_chat_80x24_end", s.render(80, 24));
}

#[test]
fn key_help_over_the_chat_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    press(&mut s, KeyCode::F(1), KeyModifiers::NONE, 1300);
    insta::assert_snapshot!(s.render(120, 40));
}

#[test]
fn key_help_over_the_picker_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    s.model.update(
        AppEvent::PromptsScanned(Ok(vec!["support/triage".into()])),
        s.at(0),
    );
    press(&mut s, KeyCode::Char('p'), KeyModifiers::CONTROL, 0);
    press(&mut s, KeyCode::F(1), KeyModifiers::NONE, 0);
    insta::assert_snapshot!(s.render(80, 24));
}

fn listed(
    id: i64,
    title: &str,
    branch_of: Option<(i64, u32)>,
    snippet: Option<&str>,
) -> ListedConversation {
    ListedConversation {
        row: ConversationRow {
            id: ConversationId(id),
            created_at_ms: 1_796_341_452_000,
            updated_at_ms: 1_796_341_452_000 + id * 60_000,
            title: Some(title.into()),
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            prompt: None,
        },
        branch_of: branch_of.map(|(c, m)| (ConversationId(c), m)),
        snippet: snippet.map(str::to_string),
    }
}

#[test]
fn conversation_search_with_a_branch_and_highlighted_matches_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    press(&mut s, KeyCode::Char('o'), KeyModifiers::CONTROL, 0);
    for c in "sliding".chars() {
        press(&mut s, KeyCode::Char(c), KeyModifiers::NONE, 0);
    }
    let searching = s.render(80, 24);
    assert!(searching.contains("searching…"), "{searching}");
    s.model.update(
        AppEvent::ConversationsListed {
            generation: 8,
            result: Ok(vec![
                listed(
                    12,
                    "What is a sliding window rate limit?",
                    Some((9, 2)),
                    Some("never lets 2N through: a \u{E000}sliding\u{E001} window counts back from now"),
                ),
                listed(9, "What is a sliding window rate limit?", None, None),
                listed(
                    4,
                    "Limits for the API",
                    None,
                    Some("\u{E000}sliding\u{E001} log versus counters"),
                ),
            ]),
        },
        s.at(100),
    );
    let shown = s.render(80, 24);
    assert!(shown.contains("branch of #9 at message 2"), "{shown}");
    insta::assert_snapshot!(shown);
}

#[test]
fn editing_an_earlier_message_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    press(&mut s, KeyCode::Char('e'), KeyModifiers::ALT, 1300);
    let shown = s.render(80, 24);
    assert!(shown.contains("editing message 1"), "{shown}");
    insta::assert_snapshot!(shown);
}
