//! Pure tests of the daily-driver keys: the sent-message history, the shell's line keys over
//! several lines, a new conversation, the external editor, the key help, repaint, and keys
//! held while a pane loads (never dropped).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;

use crate::event::{AppEvent, RequestId};
use crate::keys::Pane;
use crate::llm::retry::Progress;
use crate::llm::{StopReason, StreamEvent};
use crate::model::history::ConversationList;
use crate::model::prompt::{Loadable, PickerFocus, PromptState};
use crate::model::{Effect, Entry, Mode, Model, Session, StartKind};
use crate::prompts::{
    CommitInfo, History, PromptVersions, Version, VersionKind, WorkingStatus, content_hash,
};
use crate::records::{ConversationId, ConversationRow, ListedConversation};
use crate::request::{PumpEvent, RequestSpec};

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

pub(crate) struct Chat {
    pub model: Model,
    t0: Instant,
}

impl Chat {
    pub fn new() -> Chat {
        let session = Session {
            provider: "anthropic".into(),
            provider_label: None,
            model: "claude-test".into(),
            max_tokens: 100,
            temperature: None,
            system: None,
            start: StartKind::Configured,
        };
        Chat {
            model: Model::new(session)
                .with_prompts(PromptState::new("prompts".into(), Default::default()))
                .with_compare_seed("s-".into()),
            t0: Instant::now(),
        }
    }
    pub fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }
    pub fn press(&mut self, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        let now = self.at(0);
        let effects = self
            .model
            .update(AppEvent::Key(KeyEvent::new(code, modifiers)), now);
        without_ticks(effects)
    }
    pub fn event(&mut self, event: AppEvent) -> Vec<Effect> {
        let now = self.at(0);
        without_ticks(self.model.update(event, now))
    }
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.press(KeyCode::Char(c), NONE);
        }
    }
    pub fn text(&self) -> String {
        self.model.composer_text()
    }
    /// Types and sends `text`; returns the requests started.
    pub fn send(&mut self, text: &str) -> Vec<(RequestId, RequestSpec)> {
        self.type_text(text);
        started(self.press(KeyCode::Enter, NONE))
    }
    /// Request `id` is stored in conversation `c`, answers `text` and finishes.
    pub fn answer(&mut self, id: RequestId, conversation: i64, text: &str) {
        self.event(AppEvent::Request {
            id,
            event: PumpEvent::Stored {
                conversation: ConversationId(conversation),
            },
        });
        let now = self.at(0);
        let started = Progress::AttemptStarted {
            number: 1,
            model: "claude-test".into(),
        };
        self.event(AppEvent::progress(id, started, now));
        self.event(AppEvent::stream(
            id,
            StreamEvent::TextDelta(text.into()),
            now,
        ));
        self.event(AppEvent::stream(
            id,
            StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            },
            now,
        ));
    }
    /// Sends `text` and lets it be answered in conversation `c`.
    pub fn exchange(&mut self, text: &str, conversation: i64, answer: &str) {
        let sent = self.send(text);
        for (id, _) in sent {
            self.answer(id, conversation, answer);
        }
    }
    pub fn transcript(&self) -> Vec<String> {
        self.model
            .lane
            .transcript
            .entries()
            .map(|e| match e {
                Entry::User { text } => format!("you: {text}"),
                Entry::Reply(r) => format!("reply: {}", r.text()),
                Entry::Welcome { .. } => "welcome".into(),
            })
            .collect()
    }
}

pub(crate) fn without_ticks(effects: Vec<Effect>) -> Vec<Effect> {
    effects
        .into_iter()
        .filter(|e| !matches!(e, Effect::ScheduleTick { .. } | Effect::SaveDraft { .. }))
        .collect()
}

pub(crate) fn started(effects: Vec<Effect>) -> Vec<(RequestId, RequestSpec)> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::StartRequest { id, spec } => Some((id, *spec)),
            _ => None,
        })
        .collect()
}

#[test]
fn up_in_an_empty_composer_recalls_what_was_sent_and_down_comes_back() {
    let mut c = Chat::new();
    c.exchange("first", 1, "one");
    c.exchange("second", 1, "two");
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "second");
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "first");
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "first", "the oldest stays");
    c.press(KeyCode::Down, NONE);
    assert_eq!(c.text(), "second");
    c.press(KeyCode::Down, NONE);
    assert_eq!(c.text(), "", "past the newest: empty again");
    c.press(KeyCode::Down, NONE);
    assert_eq!(c.text(), "");
    // A recalled message is sent like a typed one (and is not recorded twice).
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.send("").len(), 1);
    c.press(KeyCode::Up, NONE);
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "first");
}

#[test]
fn recall_moves_through_a_multi_line_message_first_and_stops_once_edited() {
    let mut c = Chat::new();
    c.exchange("older", 1, "ok");
    c.model
        .update(AppEvent::Paste("line one\nline two".into()), c.at(0));
    c.press(KeyCode::Enter, NONE);
    c.press(KeyCode::Esc, NONE);
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "line one\nline two");
    assert_eq!(
        c.model.composer.cursor(),
        (1, 8),
        "at the end of the recall"
    );
    c.press(KeyCode::Up, NONE);
    assert_eq!(
        c.text(),
        "line one\nline two",
        "↑ moved the cursor up a line"
    );
    assert_eq!(c.model.composer.cursor().0, 0);
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "older");
    // Typing makes it a draft: ↑ is the cursor's again, not the history's.
    c.type_text("!");
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "older!");
}

#[test]
fn recall_works_in_a_compare_too() {
    let mut c = Chat::new();
    c.press(KeyCode::Char('n'), ALT);
    assert!(c.model.is_comparing());
    let sent = c.send("to both lanes");
    assert_eq!(sent.len(), 2);
    c.press(KeyCode::Esc, NONE);
    c.press(KeyCode::Up, NONE);
    assert_eq!(c.text(), "to both lanes");
}

/// The composer with `text` and the cursor at (`row`, `col`).
fn composer_at(text: &str, row: u16, col: u16) -> Chat {
    let mut c = Chat::new();
    c.model.update(AppEvent::Paste(text.into()), c.at(0));
    c.model
        .composer
        .move_cursor(ratatui_textarea::CursorMove::Jump(row, col));
    c
}

#[test]
fn ctrl_u_deletes_to_the_line_start_and_at_column_0_joins_the_line_above() {
    let mut c = composer_at("first line\nsecond line", 1, 6);
    c.press(KeyCode::Char('u'), CTRL);
    assert_eq!(c.text(), "first line\n line");
    c.press(KeyCode::Char('u'), CTRL);
    assert_eq!(c.text(), "first line line");
    assert_eq!(c.model.composer.cursor(), (0, 10));
    c.press(KeyCode::Char('u'), CTRL);
    assert_eq!(c.text(), " line");
}

#[test]
fn ctrl_w_deletes_the_previous_word_across_a_newline() {
    let mut c = composer_at("alpha beta  \ngamma", 1, 0);
    c.press(KeyCode::Char('w'), CTRL);
    assert_eq!(
        c.text(),
        "alpha gamma",
        "the blanks and newline, then `beta`"
    );
    assert_eq!(c.model.composer.cursor(), (0, 6));
    let mut c = composer_at("path/to/file.txt and", 0, 20);
    c.press(KeyCode::Char('w'), CTRL);
    c.press(KeyCode::Char('w'), CTRL);
    assert_eq!(c.text(), "", "a word is everything between blanks");
    c.press(KeyCode::Char('w'), CTRL);
    assert_eq!(c.text(), "");
}

#[test]
fn ctrl_k_deletes_to_the_line_end_and_at_the_end_joins_the_next_line() {
    let mut c = composer_at("keep this\nnext", 0, 4);
    c.press(KeyCode::Char('k'), CTRL);
    assert_eq!(c.text(), "keep\nnext");
    c.press(KeyCode::Char('k'), CTRL);
    assert_eq!(c.text(), "keepnext");
}

#[test]
fn ctrl_a_and_ctrl_e_go_to_the_line_ends_then_to_the_neighbouring_lines() {
    let mut c = composer_at("one\ntwo\nthree", 1, 1);
    c.press(KeyCode::Char('a'), CTRL);
    assert_eq!(c.model.composer.cursor(), (1, 0));
    c.press(KeyCode::Char('a'), CTRL);
    assert_eq!(c.model.composer.cursor(), (0, 0), "the line above's start");
    c.press(KeyCode::Char('a'), CTRL);
    assert_eq!(c.model.composer.cursor(), (0, 0));
    c.press(KeyCode::Char('e'), CTRL);
    assert_eq!(c.model.composer.cursor(), (0, 3));
    c.press(KeyCode::Char('e'), CTRL);
    assert_eq!(c.model.composer.cursor(), (1, 3), "the line below's end");
    c.press(KeyCode::Char('e'), CTRL);
    c.press(KeyCode::Char('e'), CTRL);
    assert_eq!(c.model.composer.cursor(), (2, 5));
}

#[test]
fn ctrl_n_starts_a_new_conversation_with_the_same_model_and_prompt() {
    let mut c = Chat::new();
    c.exchange("hello", 7, "hi");
    assert_eq!(c.model.lane.conversation, Some(ConversationId(7)));
    assert_eq!(c.press(KeyCode::Char('n'), CTRL), vec![]);
    assert_eq!(c.transcript(), Vec::<String>::new());
    assert_eq!(c.model.lane.conversation, None);
    assert_eq!(c.model.lane.model, "claude-test");
    let status = c.model.status.clone().expect("said");
    assert_eq!(
        status.text,
        "new conversation — the previous one is in Ctrl-O"
    );
    let sent = c.send("fresh start");
    assert_eq!(sent[0].1.conversation, None, "a new conversation is stored");
    assert_eq!(sent[0].1.request.messages.len(), 1, "no earlier history");
}

#[test]
fn ctrl_n_is_refused_while_a_reply_streams() {
    let mut c = Chat::new();
    c.send("hello");
    c.press(KeyCode::Char('n'), CTRL);
    assert_eq!(c.transcript().len(), 2, "nothing was cleared");
    let status = c.model.status.clone().expect("said");
    assert_eq!(
        status.text,
        "a reply is streaming — wait, or Esc cancels it, before a new conversation"
    );
}

#[test]
fn ctrl_n_in_a_compare_starts_every_lane_afresh_with_a_new_compare_id() {
    let mut c = Chat::new();
    c.press(KeyCode::Char('n'), ALT);
    let first = c.send("one");
    let first_id = first[0].1.compare_id.clone();
    assert_eq!(first_id.as_deref(), Some("s-1"));
    for (id, _) in &first {
        c.answer(*id, id.0 as i64, "ok");
    }
    c.press(KeyCode::Char('n'), CTRL);
    assert!(c.model.lanes().iter().all(|l| l.transcript.is_empty()));
    assert!(c.model.lanes().iter().all(|l| l.conversation.is_none()));
    let second = c.send("two");
    let ids: Vec<Option<String>> = second.iter().map(|(_, s)| s.compare_id.clone()).collect();
    assert_eq!(ids, vec![Some("s-2".into()), Some("s-2".into())]);
    assert!(second.iter().all(|(_, s)| s.conversation.is_none()));
}

#[test]
fn alt_v_hands_the_draft_to_the_editor_and_takes_its_text_back() {
    let mut c = Chat::new();
    c.type_text("draft");
    assert_eq!(
        c.press(KeyCode::Char('v'), ALT),
        vec![Effect::EditInEditor {
            text: "draft".into()
        }]
    );
    c.event(AppEvent::EditorClosed(Ok("edited\nin vi\n".into())));
    assert_eq!(
        c.text(),
        "edited\nin vi",
        "the file's last newline is dropped"
    );
    c.event(AppEvent::EditorClosed(Err("vi exited with 1".into())));
    assert_eq!(
        c.text(),
        "edited\nin vi",
        "a failed editor keeps the message"
    );
    assert_eq!(
        c.model.status.clone().expect("said").text,
        "the editor failed: vi exited with 1 — the message is as it was"
    );
}

#[test]
fn question_mark_in_an_empty_composer_and_f1_anywhere_open_the_keys_of_the_pane() {
    let mut c = Chat::new();
    c.type_text("why?");
    assert_eq!(c.text(), "why?", "in a message ? is typed");
    assert!(c.model.help.is_none());
    c.press(KeyCode::Char('u'), CTRL);
    c.press(KeyCode::Char('?'), NONE);
    assert_eq!(c.model.help.as_ref().map(|h| h.pane), Some(Pane::Chat));
    // Keys go to the help while it is open.
    c.type_text("x");
    let scrolled = c.press(KeyCode::Down, NONE);
    assert_eq!(c.text(), "");
    assert_eq!(
        scrolled,
        vec![Effect::Scroll {
            target: crate::model::ScrollTarget::Help,
            to: crate::model::ScrollTo::Rows(1)
        }]
    );
    c.press(KeyCode::Esc, NONE);
    assert!(c.model.help.is_none());
    c.press(KeyCode::Char('o'), CTRL);
    c.press(KeyCode::F(1), NONE);
    assert_eq!(
        c.model.help.as_ref().map(|h| h.pane),
        Some(Pane::Conversations)
    );
    c.press(KeyCode::F(1), NONE);
    assert!(c.model.help.is_none());
    assert!(matches!(c.model.mode, Mode::Conversations(_)), "still open");
}

#[test]
fn ctrl_l_repaints_and_f2_or_alt_i_toggle_the_inspector() {
    let mut c = Chat::new();
    assert_eq!(c.press(KeyCode::Char('l'), CTRL), vec![Effect::Repaint]);
    assert_eq!(c.model.mode, Mode::Chat);
    let opened = c.press(KeyCode::F(2), NONE);
    assert!(matches!(opened.as_slice(), [Effect::LoadRequestLog { .. }]));
    assert!(matches!(c.model.mode, Mode::Inspector(_)));
    c.event(AppEvent::RequestLogLoaded(Ok(vec![])));
    assert_eq!(c.press(KeyCode::Char('l'), CTRL), vec![Effect::Repaint]);
    c.press(KeyCode::Char('i'), ALT);
    assert_eq!(c.model.mode, Mode::Chat);
}

fn versions() -> PromptVersions {
    let version = |text: &str, kind: VersionKind| Version {
        id: content_hash(text),
        kind,
        text: Some(text.into()),
        problem: None,
    };
    let commit = |hash: &str, subject: &str| {
        VersionKind::Commit(CommitInfo {
            hash: hash.into(),
            short: hash[..12].into(),
            date_iso: "2026-11-20T10:00:00+00:00".into(),
            author: "Ada".into(),
            subject: subject.into(),
            path: "prompts/greeter.txt".into(),
        })
    };
    PromptVersions {
        name: "greeter".into(),
        versions: vec![
            version(
                "german",
                VersionKind::Working {
                    status: WorkingStatus::Clean,
                },
            ),
            version("german", commit(&"b".repeat(40), "german")),
            version("french", commit(&"a".repeat(40), "french")),
        ],
        working_error: None,
        history: History::Git {
            root: "/repo".into(),
        },
    }
}

#[test]
fn a_burst_of_picker_keys_waits_for_the_versions_and_loses_none() {
    let mut c = Chat::new();
    c.event(AppEvent::PromptsScanned(Ok(vec!["greeter".into()])));
    c.press(KeyCode::Char('p'), CTRL);
    // Down Right Down Enter in one read, before the versions Down asked for are listed.
    let loads = c.press(KeyCode::Down, NONE);
    assert!(matches!(loads.as_slice(), [Effect::LoadVersions { .. }]));
    for code in [KeyCode::Right, KeyCode::Down, KeyCode::Enter] {
        assert_eq!(c.press(code, NONE), vec![], "{code:?} waits");
    }
    assert!(matches!(&c.model.mode, Mode::Picker(p) if p.focus == PickerFocus::Prompts));
    c.event(AppEvent::VersionsLoaded {
        name: "greeter".into(),
        result: Ok(versions()),
    });
    assert_eq!(c.model.mode, Mode::Chat, "Enter was applied");
    let active = c.model.lane.prompt.clone().expect("chosen");
    assert_eq!(
        active.provenance.git,
        crate::prompts::GitState::Commit("b".repeat(40)),
        "Right then Down: the second version, not the working file"
    );
}

#[test]
fn esc_drops_the_held_keys_and_closes_at_once() {
    let mut c = Chat::new();
    c.event(AppEvent::PromptsScanned(Ok(vec!["greeter".into()])));
    c.press(KeyCode::Char('p'), CTRL);
    c.press(KeyCode::Down, NONE);
    c.press(KeyCode::Right, NONE);
    c.press(KeyCode::Esc, NONE);
    assert_eq!(c.model.mode, Mode::Chat);
    c.event(AppEvent::VersionsLoaded {
        name: "greeter".into(),
        result: Ok(versions()),
    });
    assert_eq!(c.model.mode, Mode::Chat, "the dropped keys stay dropped");
    assert!(c.model.lane.prompt.is_none());
}

fn listed(id: i64, title: &str) -> ListedConversation {
    ListedConversation {
        row: ConversationRow {
            id: ConversationId(id),
            created_at_ms: 0,
            updated_at_ms: 0,
            title: Some(title.into()),
            provider: "anthropic".into(),
            model: "claude-test".into(),
            prompt: None,
        },
        branch_of: None,
        snippet: None,
    }
}

fn list(c: &Chat) -> ConversationList {
    match &c.model.mode {
        Mode::Conversations(list) => list.clone(),
        other => panic!("not the list: {other:?}"),
    }
}

#[test]
fn typing_in_the_conversation_list_searches_and_older_answers_are_ignored() {
    let mut c = Chat::new();
    assert_eq!(
        c.press(KeyCode::Char('o'), CTRL),
        vec![Effect::LoadConversations {
            filter: String::new(),
            limit: 200,
            generation: 1
        }]
    );
    // Down Enter before the list is read: they wait for it.
    c.press(KeyCode::Down, NONE);
    c.press(KeyCode::Enter, NONE);
    let reopen = c.event(AppEvent::ConversationsListed {
        generation: 1,
        result: Ok(vec![listed(3, "c"), listed(2, "b"), listed(1, "a")]),
    });
    assert_eq!(
        reopen,
        vec![Effect::LoadConversation {
            target: crate::model::history::ResumeTarget::Id(ConversationId(2))
        }]
    );
    c.press(KeyCode::Char('o'), CTRL);
    c.event(AppEvent::ConversationsListed {
        generation: 1,
        result: Ok(vec![listed(3, "c"), listed(2, "b")]),
    });
    let searches: Vec<Effect> = "ra"
        .chars()
        .flat_map(|ch| c.press(KeyCode::Char(ch), NONE))
        .collect();
    assert_eq!(
        searches,
        vec![
            Effect::LoadConversations {
                filter: "r".into(),
                limit: 200,
                generation: 2
            },
            Effect::LoadConversations {
                filter: "ra".into(),
                limit: 200,
                generation: 3
            },
        ]
    );
    assert!(list(&c).is_waiting());
    // The answer to "r" comes late: ignored.
    c.event(AppEvent::ConversationsListed {
        generation: 2,
        result: Ok(vec![listed(9, "r only")]),
    });
    assert_eq!(
        list(&c).rows,
        Loadable::Ready(vec![listed(3, "c"), listed(2, "b")])
    );
    c.event(AppEvent::ConversationsListed {
        generation: 3,
        result: Ok(vec![listed(1, "rate limits")]),
    });
    assert_eq!(
        list(&c).rows,
        Loadable::Ready(vec![listed(1, "rate limits")])
    );
    assert!(!list(&c).is_waiting());
    // Backspace searches again; q and j are letters of the search now.
    c.press(KeyCode::Backspace, NONE);
    c.press(KeyCode::Char('q'), NONE);
    assert_eq!(list(&c).filter, "rq");
    c.press(KeyCode::Esc, NONE);
    assert_eq!(c.model.mode, Mode::Chat);
}
