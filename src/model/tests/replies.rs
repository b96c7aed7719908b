//! Retrying a reply (Ctrl-R), choosing the reply the panel shows, and what a cut reply counts.

use crate::request::Measure;
use pretty_assertions::assert_eq;

use super::*;

#[test]
fn ctrl_r_retries_a_failed_reply_without_its_partial_text_in_the_history() {
    let mut h = Harness::new();
    let id = h.send("tell me a story", 0);
    h.stream(id, text("Once upon a"), 10);
    h.model.update(
        AppEvent::RequestEnded {
            id,
            end: End::Failed(LlmError::Connection {
                message: "reset".into(),
            }),
        },
        h.at(20),
    );
    let effects = h.key(KeyCode::Char('r'), KeyModifiers::CONTROL, 30);
    let [Effect::StartRequest { id: retry, spec }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let retry = *retry;
    h.attempt(retry, 1, "claude-test", 30);
    assert_eq!(
        spec.user_text, None,
        "the stored user message is not stored again"
    );
    assert_ne!(retry, id);
    assert_eq!(
        spec.request.messages,
        vec![Message {
            role: Role::User,
            content: "tell me a story".into()
        }],
        "the partial text is not sent back"
    );
    let old = h.reply(id);
    assert_eq!(
        old.text(),
        "Once upon a",
        "the partial reply stays on screen"
    );
    assert!(old.superseded);
    h.stream(retry, text("Once upon a time."), 40);
    h.stream(
        retry,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        50,
    );
    assert_eq!(
        h.model.lane.transcript.history(),
        vec![
            Message {
                role: Role::User,
                content: "tell me a story".into()
            },
            Message {
                role: Role::Assistant,
                content: "Once upon a time.".into()
            },
        ]
    );
    // Nothing left to retry.
    assert_eq!(h.key(KeyCode::Char('r'), KeyModifiers::CONTROL, 60), vec![]);
}

#[test]
fn ctrl_r_passes_the_rate_limiter_too() {
    use crate::limit::{Admission, Decision, LimitConfig};
    use crate::request::PumpEvent;
    let mut h = Harness::new();
    h.model = Model::new(session()).with_limits(LimitConfig::default(), "sqlite 20/1h".into());
    h.type_text("q");
    let start = |effects: Vec<Effect>| match effects.as_slice() {
        [Effect::StartRequest { id, .. }, ..] => *id,
        other => panic!("{other:?}"),
    };
    let admit = |h: &mut Harness, id: RequestId, ms: u64| {
        let decision = Decision {
            admission: Admission::Admitted {
                remaining: 5,
                reset_at_ms: 0,
            },
            now_ms: ms,
            quota: None,
        };
        let event = PumpEvent::Admitted {
            attempt: 1,
            decision,
        };
        h.model.update(AppEvent::Request { id, event }, h.at(ms))
    };
    let id = start(h.key(KeyCode::Enter, KeyModifiers::NONE, 0));
    admit(&mut h, id, 1);
    h.key(KeyCode::Esc, KeyModifiers::NONE, 2);
    let retry = start(h.key(KeyCode::Char('r'), KeyModifiers::CONTROL, 3));
    assert!(!h.reply(id).superseded, "nothing changes before admission");
    assert!(h.model.lane.transcript.reply(retry).is_none());
    admit(&mut h, retry, 4);
    assert!(h.reply(id).superseded);
    assert_eq!(h.model.lane.active, Some(retry));
}

#[test]
fn alt_up_and_down_choose_the_reply_the_panel_shows() {
    let mut h = Harness::new();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = h.send(&format!("q{i}"), i * 10);
        h.stream(
            id,
            StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            },
            i * 10 + 1,
        );
        ids.push(id);
    }
    assert_eq!(
        h.model.panel_reply().map(|r| r.id),
        Some(ids[2]),
        "latest by default"
    );
    h.key(KeyCode::Up, KeyModifiers::ALT, 100);
    assert_eq!(h.model.panel_reply().map(|r| r.id), Some(ids[1]));
    h.key(KeyCode::Up, KeyModifiers::ALT, 100);
    h.key(KeyCode::Up, KeyModifiers::ALT, 100);
    assert_eq!(
        h.model.panel_reply().map(|r| r.id),
        Some(ids[0]),
        "stops at the first"
    );
    h.key(KeyCode::Down, KeyModifiers::ALT, 100);
    assert_eq!(h.model.lane.selected_reply, Some(ids[1]));
    h.key(KeyCode::Down, KeyModifiers::ALT, 100);
    assert_eq!(
        h.model.lane.selected_reply, None,
        "back to following the latest"
    );
    assert_eq!(h.model.panel_reply().map(|r| r.id), Some(ids[2]));
}

#[test]
fn a_cancelled_reply_counts_its_output_as_a_marked_estimate_not_the_placeholder() {
    let mut h = Harness::new();
    let id = h.send("q", 0);
    // Anthropic's message_start reports output_tokens: 1 as a placeholder.
    h.stream(
        id,
        StreamEvent::Usage(Usage {
            input_tokens: Some(10),
            output_tokens: Some(1),
            ..Usage::default()
        }),
        1,
    );
    h.stream(id, text(&"word ".repeat(40)), 50);
    h.key(KeyCode::Esc, KeyModifiers::NONE, 60);
    let reply = h.reply(id);
    assert_eq!(reply.output_tokens(), (50, transcript::Measure::Estimated));
    assert_eq!(h.model.lane.totals.output_tokens, 50);
    assert_eq!(h.model.lane.totals.estimated_output, 1);
}

#[test]
fn the_reply_chosen_with_alt_up_is_scrolled_into_view() {
    let mut h = Harness::new();
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = h.send(&format!("question {i}"), i * 10);
        h.stream(id, text("a reply"), i * 10 + 1);
        h.stream(
            id,
            StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            },
            i * 10 + 2,
        );
        ids.push(id);
    }
    let view = ScrollTarget::Transcript(h.model.lane.transcript.id());
    let scroll = |to| vec![Effect::Scroll { target: view, to }];
    assert_eq!(
        h.key(KeyCode::Up, KeyModifiers::ALT, 100),
        scroll(ScrollTo::Reply(ids[1]))
    );
    assert_eq!(
        h.key(KeyCode::Up, KeyModifiers::ALT, 100),
        scroll(ScrollTo::Reply(ids[0]))
    );
    assert_eq!(h.model.lane.selected_reply, Some(ids[0]));
    h.key(KeyCode::Down, KeyModifiers::ALT, 100);
    // Back past the newest: the view follows again.
    assert_eq!(
        h.key(KeyCode::Down, KeyModifiers::ALT, 100),
        scroll(ScrollTo::Bottom)
    );
    assert_eq!(h.model.lane.selected_reply, None);
}

#[test]
fn the_live_estimate_converges_on_what_the_provider_counted_before() {
    let mut h = Harness::new();
    // A first reply: 400 bytes that the provider counted as 200 tokens (not 100).
    let first = h.send("first", 0);
    h.stream(first, text(&"ab".repeat(200)), 10);
    h.stream(
        first,
        StreamEvent::Usage(Usage {
            output_tokens: Some(200),
            ..Usage::default()
        }),
        20,
    );
    h.stream(
        first,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        20,
    );
    // The next reply, still streaming: 100 bytes shown as ~50 tokens, not ~25.
    let second = h.send("second", 100);
    h.stream(second, text(&"cd".repeat(50)), 110);
    assert_eq!(h.reply(second).shown_output(), (50, Measure::Estimated));
}

#[test]
fn a_short_reply_shows_no_speed() {
    let mut h = Harness::new();
    let id = h.send("hi", 0);
    h.stream(id, text("Hi!"), 10);
    h.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        11,
    );
    assert_eq!(
        h.reply(id).shown_speed(),
        None,
        "3 tokens in 1 ms say nothing"
    );
}
