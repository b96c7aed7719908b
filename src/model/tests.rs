//! Pure transition tests of the chat state machine: no terminal, no network, no clock.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;

use super::*;
use crate::llm::retry::Progress;
use crate::llm::{ChatRequest, LlmError, StopReason, StreamEvent, Usage};
use crate::request::End;

fn session() -> Session {
    Session {
        provider: "anthropic".into(),
        provider_label: None,
        model: "claude-test".into(),
        max_tokens: 1000,
        temperature: None,
        system: Some("Be brief.".into()),
        start: StartKind::Configured,
    }
}

struct Harness {
    model: Model,
    t0: Instant,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            model: Model::new(session()),
            t0: Instant::now(),
        }
    }
    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }
    fn key(&mut self, code: KeyCode, modifiers: KeyModifiers, ms: u64) -> Vec<Effect> {
        let now = self.at(ms);
        self.model
            .update(AppEvent::Key(KeyEvent::new(code, modifiers)), now)
    }
    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c), KeyModifiers::NONE, 0);
        }
    }
    /// Types and sends `text`; the request's first attempt starts at once, as its pump
    /// would report.
    fn send(&mut self, text: &str, ms: u64) -> RequestId {
        self.type_text(text);
        let id = match self.key(KeyCode::Enter, KeyModifiers::NONE, ms).as_slice() {
            // A tick for the elapsed counters, unless one is pending already.
            [Effect::StartRequest { id, .. }]
            | [Effect::StartRequest { id, .. }, Effect::ScheduleTick { .. }] => *id,
            other => panic!("expected one StartRequest, got {other:?}"),
        };
        self.attempt(id, 1, "claude-test", ms);
        id
    }
    fn attempt(&mut self, id: RequestId, number: u32, model: &str, ms: u64) {
        let started = Progress::AttemptStarted {
            number,
            model: model.into(),
        };
        let now = self.at(ms);
        self.model.update(AppEvent::progress(id, started, now), now);
    }
    fn stream(&mut self, id: RequestId, event: StreamEvent, ms: u64) {
        let now = self.at(ms);
        let effects = self.model.update(AppEvent::stream(id, event, now), now);
        assert_eq!(effects, vec![]);
    }
    fn reply(&self, id: RequestId) -> Reply {
        self.model
            .lane
            .transcript
            .reply(id)
            .expect("reply exists")
            .clone()
    }
}

fn text(s: &str) -> StreamEvent {
    StreamEvent::TextDelta(s.into())
}

#[test]
fn enter_sends_the_composer_as_a_request_with_history_and_system_prompt() {
    let mut h = Harness::new();
    h.type_text("hello");
    let mut effects = h.key(KeyCode::Enter, KeyModifiers::NONE, 5);
    assert_eq!(
        effects.pop(),
        Some(Effect::ScheduleTick {
            at: h.at(5) + crate::model::reply::COUNTER_REFRESH
        }),
        "a reply's elapsed time moves: wake me when it next shows"
    );
    assert_eq!(
        effects,
        vec![Effect::StartRequest {
            id: RequestId(1),
            spec: Box::new(RequestSpec {
                request: ChatRequest {
                    model: "claude-test".into(),
                    system: Some("Be brief.".into()),
                    messages: vec![Message {
                        role: Role::User,
                        content: "hello".into()
                    }],
                    max_tokens: 1000,
                    temperature: None,
                },
                prompt: Some(crate::prompts::Provenance::inline("Be brief.")),
                conversation: None,
                user_text: Some("hello".into()),
                store_even_if_refused: false,
                compare_id: None,
                prompt_text: Some(Arc::from("Be brief.")),
                variables: Default::default(),
            }),
        }]
    );
    assert_eq!(h.model.composer_text(), "", "the composer is cleared");
    assert_eq!(h.model.lane.active, Some(RequestId(1)));
    assert_eq!(h.reply(RequestId(1)).state, ReplyState::Waiting);
}

#[test]
fn blank_messages_are_not_sent() {
    let mut h = Harness::new();
    h.type_text("   ");
    assert_eq!(h.key(KeyCode::Enter, KeyModifiers::NONE, 0), vec![]);
    assert_eq!(h.model.lane.transcript.len(), 0);
}

#[test]
fn a_streamed_reply_accumulates_text_usage_and_timings() {
    let mut h = Harness::new();
    let id = h.send("hi", 0);
    h.stream(
        id,
        StreamEvent::Started {
            model: Some("claude-test-2025".into()),
            response_id: Some("msg_1".into()),
            request_id: Some("req_1".into()),
        },
        100,
    );
    h.stream(
        id,
        StreamEvent::Usage(Usage {
            input_tokens: Some(12),
            output_tokens: Some(1),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(4),
            cache_creation_1h_input_tokens: None,
        }),
        100,
    );
    h.stream(id, text("Hel"), 250);
    assert_eq!(h.reply(id).state, ReplyState::Streaming);
    h.stream(id, text("lo 👋"), 300);
    // message_delta usage is cumulative: 5 then 9 means 9.
    for n in [5, 9] {
        h.stream(
            id,
            StreamEvent::Usage(Usage {
                output_tokens: Some(n),
                ..Usage::default()
            }),
            310,
        );
    }
    h.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        400,
    );
    let reply = h.reply(id);
    assert_eq!(reply.text(), "Hello 👋");
    assert_eq!(reply.answered_model(), Some("claude-test-2025"));
    assert_eq!(
        reply.usage(),
        Usage {
            input_tokens: Some(12),
            output_tokens: Some(9),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(4),
            cache_creation_1h_input_tokens: None,
        }
    );
    assert_eq!(reply.ttft(), Some(Duration::from_millis(250)));
    assert_eq!(reply.elapsed(h.at(9999)), Duration::from_millis(400));
    assert_eq!(reply.state, ReplyState::Finished(StopReason::EndTurn));
    assert_eq!(h.model.lane.active, None, "the chat is idle again");
}

#[test]
fn esc_cancels_keeping_partial_text_and_later_events_are_ignored() {
    let mut h = Harness::new();
    let id = h.send("long story", 0);
    h.stream(id, text("Once upon"), 100);
    let effects = h.key(KeyCode::Esc, KeyModifiers::NONE, 150);
    assert_eq!(effects, vec![Effect::CancelRequest { id }]);
    h.stream(id, text(" a time"), 160);
    let reply = h.reply(id);
    assert_eq!(reply.text(), "Once upon");
    assert_eq!(reply.state, ReplyState::Cancelled);
    assert_eq!(h.model.lane.active, None);
    // The partial reply is part of the history of the next request.
    h.type_text("go on");
    let effects = h.key(KeyCode::Enter, KeyModifiers::NONE, 200);
    let Effect::StartRequest { spec, .. } = &effects[0] else {
        panic!("{effects:?}")
    };
    let roles: Vec<(Role, &str)> = spec
        .request
        .messages
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        roles,
        vec![
            (Role::User, "long story"),
            (Role::Assistant, "Once upon"),
            (Role::User, "go on")
        ]
    );
}

#[test]
fn a_failure_mid_stream_keeps_the_partial_text_and_the_error() {
    let mut h = Harness::new();
    let id = h.send("hi", 0);
    h.stream(id, text("partial"), 100);
    let error = LlmError::Connection {
        message: "connection reset".into(),
    };
    h.model.update(
        AppEvent::RequestEnded {
            id,
            end: End::Failed(error.clone()),
        },
        h.at(200),
    );
    let reply = h.reply(id);
    assert_eq!(
        (reply.text(), reply.state.clone()),
        ("partial", ReplyState::Failed(error))
    );
    assert_eq!(h.model.lane.active, None);
}

#[test]
fn a_failed_reply_without_text_does_not_break_role_alternation() {
    let mut h = Harness::new();
    let id = h.send("first", 0);
    h.model.update(
        AppEvent::RequestEnded {
            id,
            end: End::Failed(LlmError::Overloaded {
                status: 529,
                message: "busy".into(),
            }),
        },
        h.at(10),
    );
    h.type_text("second");
    let effects = h.key(KeyCode::Enter, KeyModifiers::NONE, 20);
    let Effect::StartRequest { spec, .. } = &effects[0] else {
        panic!("{effects:?}")
    };
    assert_eq!(
        spec.request.messages,
        vec![Message {
            role: Role::User,
            content: "first\n\nsecond".into()
        }]
    );
}

#[test]
fn enter_while_streaming_is_refused_and_keeps_the_draft() {
    let mut h = Harness::new();
    h.send("one", 0);
    h.type_text("two");
    assert_eq!(h.key(KeyCode::Enter, KeyModifiers::NONE, 10), vec![]);
    assert_eq!(h.model.composer_text(), "two");
    assert_eq!(
        h.model.status.as_ref().map(|s| s.tone),
        Some(StatusTone::Warning)
    );
}

#[test]
fn ctrl_j_alt_enter_and_shift_enter_insert_newlines() {
    let mut h = Harness::new();
    h.type_text("a");
    h.key(KeyCode::Char('j'), KeyModifiers::CONTROL, 0);
    h.type_text("b");
    h.key(KeyCode::Enter, KeyModifiers::ALT, 0);
    h.type_text("c");
    h.key(KeyCode::Enter, KeyModifiers::SHIFT, 0);
    h.type_text("d");
    assert_eq!(h.model.composer_text(), "a\nb\nc\nd");
}

#[test]
fn a_huge_paste_lands_in_the_composer_normalized() {
    let mut h = Harness::new();
    let line = "0123456789 ".repeat(10);
    let pasted = format!("{line}\r\n").repeat(20_000) + "\u{1b}[31mend\u{7}";
    h.model.update(AppEvent::Paste(pasted), h.at(0));
    let lines = h.model.composer.lines();
    assert_eq!(lines.len(), 20_001);
    assert_eq!(lines[0], line);
    assert_eq!(lines[20_000], "end", "control sequences are stripped");
}

#[test]
fn scroll_keys_move_the_focused_transcript() {
    let mut h = Harness::new();
    let view = ScrollTarget::Transcript(h.model.lane.transcript.id());
    let scroll = |to| Effect::Scroll { target: view, to };
    for (code, to) in [
        (KeyCode::PageUp, ScrollTo::Pages(-1)),
        (KeyCode::PageDown, ScrollTo::Pages(1)),
        (KeyCode::Home, ScrollTo::Top),
        (KeyCode::End, ScrollTo::Bottom),
    ] {
        assert_eq!(h.key(code, KeyModifiers::NONE, 0), vec![scroll(to)]);
    }
}

#[test]
fn ctrl_c_and_signals_quit_cancelling_the_active_request() {
    let mut h = Harness::new();
    assert_eq!(
        h.key(KeyCode::Char('c'), KeyModifiers::CONTROL, 0),
        vec![Effect::Quit]
    );
    let mut h = Harness::new();
    let id = h.send("hi", 0);
    assert_eq!(
        h.model.update(AppEvent::Terminate, h.at(5)),
        vec![Effect::Quit],
        "the app interrupts (not cancels) what is in flight as it shuts down"
    );
    assert_eq!(h.reply(id).state, ReplyState::Failed(LlmError::Interrupted));
    // Ctrl-C is the user's choice: the reply is cancelled.
    let mut h = Harness::new();
    let id = h.send("hi", 0);
    assert_eq!(
        h.key(KeyCode::Char('c'), KeyModifiers::CONTROL, 5),
        vec![Effect::CancelRequest { id }, Effect::Quit]
    );
}

#[test]
fn the_first_run_shows_the_welcome_screen() {
    let model = Model::new(Session {
        start: StartKind::FirstRun {
            config_path: "/home/u/.config/promptdeck/config.toml".into(),
        },
        ..session()
    });
    assert!(matches!(
        model.lane.transcript.get(0),
        Some(Entry::Welcome { .. })
    ));
    assert_eq!(model.lane.transcript.history(), vec![]);
}

#[test]
fn ctrl_t_toggles_the_usage_panel_from_what_is_on_screen() {
    let mut h = Harness::new();
    assert_eq!(h.model.panel, PanelVisibility::Auto);
    // A wide screen shows it: Ctrl-T hides it, and shows it again.
    let resize = |width| AppEvent::Resize { width, height: 40 };
    h.model.update(resize(120), h.at(0));
    h.key(KeyCode::Char('t'), KeyModifiers::CONTROL, 0);
    assert_eq!(h.model.panel, PanelVisibility::Hidden);
    h.key(KeyCode::Char('t'), KeyModifiers::CONTROL, 0);
    assert_eq!(h.model.panel, PanelVisibility::Shown);
    // A narrow one has no room for it by default: Ctrl-T asks for it.
    h.model.panel = PanelVisibility::Auto;
    h.model.update(resize(90), h.at(0));
    h.key(KeyCode::Char('t'), KeyModifiers::CONTROL, 0);
    assert_eq!(h.model.panel, PanelVisibility::Shown);
}

#[test]
fn session_totals_add_each_ended_request_once() {
    let mut h = Harness::new();
    for (i, output) in [(0u64, 7u64), (1, 5)] {
        let id = h.send("q", i * 100);
        h.stream(
            id,
            StreamEvent::Usage(Usage {
                input_tokens: Some(10),
                output_tokens: Some(output),
                cache_creation_input_tokens: Some(2),
                cache_read_input_tokens: Some(3),
                cache_creation_1h_input_tokens: None,
            }),
            i * 100 + 1,
        );
        h.stream(
            id,
            StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            },
            i * 100 + 2,
        );
    }
    let id = h.send("q", 300);
    h.key(KeyCode::Esc, KeyModifiers::NONE, 301);
    h.stream(id, text("late"), 302);
    assert_eq!(
        h.model.lane.totals,
        SessionTotals {
            requests: 3,
            input_tokens: 20,
            output_tokens: 12,
            cache_creation_input_tokens: 4,
            cache_read_input_tokens: 6,
            unreported: 1,
            estimated_output: 1,
            // "m" has no price: every request's cost is unknown, never $0.
            cost_usd: 0.0,
            cost_unknown: 3,
        }
    );
}

mod admission;

mod replies;

#[test]
fn ctrl_u_deletes_to_the_start_of_the_line_and_ctrl_z_undoes() {
    let mut h = Harness::new();
    h.type_text("first");
    h.key(KeyCode::Char('j'), KeyModifiers::CONTROL, 0);
    h.type_text("second line");
    h.key(KeyCode::Char('u'), KeyModifiers::CONTROL, 0);
    assert_eq!(h.model.composer_text(), "first\n");
    h.key(KeyCode::Char('z'), KeyModifiers::CONTROL, 0);
    assert_eq!(h.model.composer_text(), "first\nsecond line");
}

#[test]
fn thinking_that_came_first_is_shown_above_the_text() {
    let mut h = Harness::new();
    let id = h.send("q", 0);
    h.stream(
        id,
        StreamEvent::Note {
            kind: crate::llm::NoteKind::Thinking,
            summary: "thinking (15 chars)".into(),
        },
        1,
    );
    h.stream(id, text("The answer."), 2);
    h.stream(
        id,
        StreamEvent::Note {
            kind: crate::llm::NoteKind::ToolUse,
            summary: "tool_use lookup (20 bytes of input)".into(),
        },
        3,
    );
    // The layout (`ui::layout`) shows the notes before the text above it, the others below.
    let reply = h.reply(id);
    assert_eq!(reply.notes.len(), 2);
    assert_eq!(reply.notes_before_text, 1);
    assert_eq!(reply.text(), "The answer.");
}

#[test]
fn a_provider_notice_goes_to_the_status_line_not_into_the_reply() {
    let mut h = Harness::new();
    let id = h.send("hi", 0);
    let before = h.reply(id);
    h.stream(
        id,
        StreamEvent::Notice(
            "temperature 0.7 not sent: o3 accepts only its default\u{1b}[2J".into(),
        ),
        5,
    );
    assert_eq!(
        h.model.status,
        Some(Status {
            tone: StatusTone::Warning,
            text: "temperature 0.7 not sent: o3 accepts only its default".into(),
        })
    );
    assert_eq!(h.reply(id), before, "the transcript ignores it");
    assert_eq!(h.model.lane.active, Some(id), "the reply goes on");
}

#[test]
fn the_draft_is_written_a_second_after_the_last_keystroke_and_removed_once_sent() {
    let mut h = Harness::new();
    h.model = Model::new(session()).with_draft_autosave();
    h.type_text("draft");
    let saves = |effects: &[Effect]| -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SaveDraft { text } => Some(text.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(h.model.next_wake(h.at(0)), Some(h.at(1000)));
    assert_eq!(
        saves(&h.model.update(AppEvent::Tick, h.at(999))),
        Vec::<String>::new()
    );
    assert_eq!(
        saves(&h.model.update(AppEvent::Tick, h.at(1000))),
        vec!["draft"]
    );
    assert_eq!(
        h.model.next_wake(h.at(1001)),
        None,
        "written: nothing more to do"
    );
    // Sending empties the composer: the draft file goes a second later.
    h.key(KeyCode::Enter, KeyModifiers::NONE, 2000);
    let mut written = Vec::new();
    for ms in [2500, 3000, 3100] {
        written.extend(saves(&h.model.update(AppEvent::Tick, h.at(ms))));
    }
    assert_eq!(written, vec![String::new()]);
}

#[test]
fn a_transcript_says_which_entries_changed_since_a_revision() {
    let mut t = Transcript::default();
    assert_eq!(t.changed_since(0), transcript::Changed::Nothing);
    t.push(Entry::User { text: "a".into() });
    t.push(Entry::User { text: "b".into() });
    let seen = t.revision();
    assert_eq!(t.changed_since(seen), transcript::Changed::Nothing);
    t.push(Entry::User { text: "c".into() });
    assert_eq!(t.changed_since(seen), transcript::Changed::From(2));
    assert_eq!(t.changed_since(0), transcript::Changed::From(0));
    t.truncate(1);
    assert_eq!(t.changed_since(seen), transcript::Changed::From(1));
    assert_eq!(t.entry_revision(0), Some(1), "an entry keeps its revision");
    // A reader far behind, past what is remembered, starts over.
    for n in 0..5000 {
        t.push(Entry::User {
            text: n.to_string(),
        });
    }
    assert_eq!(t.changed_since(seen), transcript::Changed::From(0));
    let recent = t.revision() - 1;
    assert_eq!(
        t.changed_since(recent),
        transcript::Changed::From(t.len() - 1)
    );
    // Another transcript is another identity.
    assert_ne!(Transcript::default().id(), t.id());
}
