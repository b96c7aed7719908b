//! Pure tests of editing an earlier message and re-sending it as a branch.

use crossterm::event::{KeyCode, KeyModifiers};
use pretty_assertions::assert_eq;

use crate::event::AppEvent;
use crate::llm::{Message, Role};
use crate::model::Effect;
use crate::model::chat_keys::tests::{Chat, started};
use crate::records::{ConversationId, HistoryError};

const NONE: KeyModifiers = KeyModifiers::NONE;
const ALT: KeyModifiers = KeyModifiers::ALT;

fn two_exchanges() -> Chat {
    let mut c = Chat::new();
    c.exchange("first question", 7, "first answer");
    c.exchange("second question", 7, "second answer");
    c
}

#[test]
fn alt_e_edits_the_last_message_then_earlier_ones_and_esc_gives_the_draft_back() {
    let mut c = two_exchanges();
    c.type_text("a draft");
    c.press(KeyCode::Char('e'), ALT);
    assert_eq!(c.text(), "second question");
    assert_eq!(c.model.editing.as_ref().map(|e| e.number()), Some(2));
    c.press(KeyCode::Char('e'), ALT);
    assert_eq!(c.text(), "first question");
    assert_eq!(c.model.editing.as_ref().map(|e| e.number()), Some(1));
    c.press(KeyCode::Char('e'), ALT);
    assert_eq!(
        c.model.editing.as_ref().map(|e| e.number()),
        Some(1),
        "the first stays"
    );
    c.press(KeyCode::Esc, NONE);
    assert_eq!(c.model.editing, None);
    assert_eq!(c.text(), "a draft");
    assert_eq!(c.transcript().len(), 4, "nothing changed");
}

#[test]
fn enter_while_editing_branches_the_stored_conversation_then_sends_into_the_branch() {
    let mut c = two_exchanges();
    c.press(KeyCode::Char('e'), ALT);
    c.press(KeyCode::Char('e'), ALT);
    c.type_text(", edited");
    assert_eq!(
        c.press(KeyCode::Enter, NONE),
        vec![Effect::BranchConversation {
            parent: ConversationId(7),
            before_user_message: 0
        }]
    );
    assert_eq!(c.model.editing, None);
    assert_eq!(
        c.transcript().len(),
        4,
        "the transcript waits for the branch"
    );
    let sent = started(c.event(AppEvent::ConversationBranched(Ok(ConversationId(9)))));
    assert_eq!(sent.len(), 1);
    let spec = &sent[0].1;
    assert_eq!(
        spec.conversation,
        Some(ConversationId(9)),
        "into the branch"
    );
    assert_eq!(
        spec.request.messages,
        vec![Message {
            role: Role::User,
            content: "first question, edited".into()
        }]
    );
    assert_eq!(
        c.transcript(),
        vec!["you: first question, edited".to_string(), "reply: ".into()]
    );
    assert_eq!(c.text(), "", "sent");
    assert_eq!(
        c.model.status.clone().expect("said").text,
        "conversation 9 is a branch of 7 at message 1 — the original is unchanged (Ctrl-O)"
    );
}

#[test]
fn branching_at_the_second_message_keeps_the_first_exchange_as_history() {
    let mut c = two_exchanges();
    c.press(KeyCode::Char('e'), ALT);
    c.press(KeyCode::Char('u'), KeyModifiers::CONTROL);
    c.type_text("another second");
    c.press(KeyCode::Enter, NONE);
    let sent = started(c.event(AppEvent::ConversationBranched(Ok(ConversationId(8)))));
    let contents: Vec<&str> = sent[0]
        .1
        .request
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(
        contents,
        vec!["first question", "first answer", "another second"]
    );
}

#[test]
fn a_failed_branch_keeps_the_edited_message_for_another_try() {
    let mut c = two_exchanges();
    c.press(KeyCode::Char('e'), ALT);
    c.type_text("!");
    c.press(KeyCode::Enter, NONE);
    let none = c.event(AppEvent::ConversationBranched(Err(
        HistoryError::Unavailable,
    )));
    assert_eq!(none, vec![]);
    assert_eq!(c.text(), "second question!");
    assert_eq!(c.model.editing.as_ref().map(|e| e.number()), Some(2));
    assert_eq!(c.transcript().len(), 4);
    assert_eq!(
        c.press(KeyCode::Enter, NONE),
        vec![Effect::BranchConversation {
            parent: ConversationId(7),
            before_user_message: 1
        }]
    );
}

#[test]
fn without_a_stored_conversation_the_branch_is_cut_on_screen_and_sent_afresh() {
    let mut c = Chat::new();
    let sent = c.send("only on screen");
    c.event(AppEvent::Request {
        id: sent[0].0,
        event: crate::request::PumpEvent::Warning("no database".into()),
    });
    c.press(KeyCode::Esc, NONE);
    c.press(KeyCode::Char('e'), ALT);
    c.type_text(" again");
    let sent = started(c.press(KeyCode::Enter, NONE));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.conversation, None);
    assert_eq!(
        c.transcript(),
        vec!["you: only on screen again".to_string(), "reply: ".into()]
    );
}

#[test]
fn a_compare_is_not_branched() {
    let mut c = Chat::new();
    c.press(KeyCode::Char('n'), ALT);
    c.send("both");
    c.press(KeyCode::Esc, NONE);
    c.press(KeyCode::Char('e'), ALT);
    assert_eq!(c.model.editing, None);
    assert_eq!(
        c.model.status.clone().expect("said").text,
        "a compare is not branched — Ctrl-N starts every lane afresh"
    );
}
