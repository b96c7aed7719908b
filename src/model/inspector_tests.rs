//! Pure tests of the inspector's record: opening it asks for what the row sent, the answer
//! fills the system text as the chat would have, stale answers are ignored, and its keys
//! scroll within the record and find the row again after a reload.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyModifiers};
use pretty_assertions::assert_eq;

use super::{Detail, Inspector, Sent, SentMessage, SystemText};
use crate::event::AppEvent;
use crate::llm::Role;
use crate::model::ScrollTo;
use crate::model::chat_keys::tests::Chat;
use crate::model::prompt::Loadable;
use crate::model::{Effect, Mode};
use crate::records::{
    ConversationId, HistoryError, LogId, MessageId, MessageRow, MessageState, PromptCommit,
    PromptVersion, RateLimitHeaders, RequestContext, RequestParams, RequestRow, RequestStatus,
};

const NONE: KeyModifiers = KeyModifiers::NONE;

fn prompt(name: &str) -> PromptVersion {
    PromptVersion {
        name: name.into(),
        content_hash: "abc123".into(),
        commit: PromptCommit::Uncommitted,
    }
}

fn row(id: i64, prompt: Option<PromptVersion>, variables: &[(&str, &str)]) -> RequestRow {
    RequestRow {
        id: LogId(id),
        conversation_id: Some(ConversationId(1)),
        message_id: Some(MessageId(3)),
        attempt: 1,
        started_at_ms: 1_000 * id,
        status: RequestStatus::Ok,
        gen_ai_provider_name: "anthropic".into(),
        gen_ai_request_model: "claude-test".into(),
        gen_ai_request_max_tokens: Some(100),
        gen_ai_request_temperature: None,
        gen_ai_response_model: None,
        gen_ai_response_id: None,
        gen_ai_usage_input_tokens: None,
        gen_ai_usage_output_tokens: None,
        output_estimated: false,
        compare_id: None,
        gen_ai_usage_cache_read_input_tokens: None,
        gen_ai_usage_cache_creation_input_tokens: None,
        usage_cache_creation_1h_input_tokens: None,
        gen_ai_response_finish_reasons: Vec::new(),
        time_to_first_chunk_ms: None,
        duration_ms: None,
        provider_request_id: None,
        prompt,
        request_params: Some(RequestParams {
            model: "claude-test".into(),
            max_tokens: 100,
            temperature: None,
            variables: variables
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
        cost_usd: None,
        cost_kind: None,
        cost_source: None,
        error_type: None,
        error_message: None,
        retry_count: 0,
        ratelimit_headers: RateLimitHeaders::default(),
    }
}

fn message(seq: i64, role: Role, text: &str) -> MessageRow {
    MessageRow {
        id: MessageId(seq),
        conversation_id: ConversationId(1),
        seq,
        role,
        content: text.into(),
        state: MessageState::Complete,
        created_at_ms: 0,
        updated_at_ms: 0,
        request_id: None,
    }
}

fn context(prompt_text: Option<&str>) -> RequestContext {
    RequestContext {
        prompt_text: prompt_text.map(str::to_string),
        messages: vec![
            message(1, Role::User, "hi"),
            message(2, Role::Assistant, "hello"),
            message(3, Role::User, "again"),
        ],
        reply: Some(MessageRow {
            state: MessageState::Cancelled,
            ..message(4, Role::Assistant, "partial")
        }),
    }
}

/// The inspector open on rows 7 (selected, newest) and 5.
fn inspector() -> Chat {
    let mut c = Chat::new();
    c.press(KeyCode::F(2), NONE);
    c.event(AppEvent::RequestLogLoaded(Ok(vec![
        row(7, Some(prompt("greet")), &[("name", "Ada")]),
        row(5, None, &[]),
    ])));
    c
}

fn state(c: &Chat) -> &Inspector {
    match &c.model.mode {
        Mode::Inspector(i) => i,
        other => panic!("{other:?}"),
    }
}

/// What Enter on row `id` asks for: the record's view at its top, and what it sent.
fn opening(id: LogId) -> Vec<Effect> {
    let top = Effect::Scroll {
        target: crate::model::ScrollTarget::Detail,
        to: ScrollTo::Top,
    };
    vec![top, Effect::LoadRequestContext { id }]
}

fn detail(c: &Chat) -> &Detail {
    state(c).detail.as_ref().expect("a record is open")
}

#[test]
fn enter_opens_the_record_loading_and_the_answer_fills_the_system_text() {
    let mut c = inspector();
    assert_eq!(c.press(KeyCode::Enter, NONE), opening(LogId(7)));
    assert_eq!(detail(&c).sent, Loadable::Loading);
    c.event(AppEvent::RequestContextLoaded {
        id: LogId(7),
        result: Ok(context(Some("Greet {{name}} warmly."))),
    });
    assert_eq!(
        detail(&c).sent,
        Loadable::Ready(Sent {
            system: SystemText::Sent("Greet Ada warmly.".into()),
            messages: vec![
                SentMessage {
                    role: Role::User,
                    text: "hi".into(),
                    state: MessageState::Complete
                },
                SentMessage {
                    role: Role::Assistant,
                    text: "hello".into(),
                    state: MessageState::Complete
                },
                SentMessage {
                    role: Role::User,
                    text: "again".into(),
                    state: MessageState::Complete
                },
            ],
            reply: Some(SentMessage {
                role: Role::Assistant,
                text: "partial".into(),
                state: MessageState::Cancelled
            }),
        })
    );
}

#[test]
fn answers_for_another_row_or_a_closed_record_are_ignored() {
    let mut c = inspector();
    c.press(KeyCode::Enter, NONE);
    // Another row's answer (a record opened and closed before) changes nothing.
    c.event(AppEvent::RequestContextLoaded {
        id: LogId(5),
        result: Ok(context(None)),
    });
    assert_eq!(detail(&c).sent, Loadable::Loading);
    // Closed: the late answer does not reopen it.
    c.press(KeyCode::Esc, NONE);
    c.event(AppEvent::RequestContextLoaded {
        id: LogId(7),
        result: Ok(context(None)),
    });
    assert_eq!(state(&c).detail, None);
    // A failure is shown in the record.
    c.press(KeyCode::Enter, NONE);
    c.event(AppEvent::RequestContextLoaded {
        id: LogId(7),
        result: Err(HistoryError::Unavailable),
    });
    assert!(matches!(detail(&c).sent, Loadable::Failed(_)));
}

#[test]
fn the_system_text_is_filled_as_sent_or_says_why_not() {
    let with = |prompt: Option<PromptVersion>, vars: &[(&str, &str)], text: Option<&str>| {
        Sent::of(&row(1, prompt, vars), context(text)).system
    };
    assert_eq!(with(None, &[], None), SystemText::None);
    assert_eq!(
        with(Some(prompt("greet")), &[], None),
        SystemText::NotStored
    );
    // An inline system text is stored by its hash too, with nothing to fill.
    assert_eq!(
        with(Some(prompt("(system)")), &[], Some("Be brief.")),
        SystemText::Sent("Be brief.".into())
    );
    assert_eq!(
        with(
            Some(prompt("greet")),
            &[],
            Some("Hi {{name}} from {{place}}")
        ),
        SystemText::Unfilled {
            text: "Hi {{name}} from {{place}}".into(),
            missing: vec!["name".into(), "place".into()],
        }
    );
    // The same fill as the chat: only the names the text uses, extra values ignored.
    let mut vars = BTreeMap::new();
    vars.insert("name".to_string(), "Ada".to_string());
    assert_eq!(
        with(
            Some(prompt("greet")),
            &[("name", "Ada"), ("unused", "x")],
            Some("{{name}}")
        ),
        SystemText::Sent(crate::prompts::fill("{{name}}", &vars).unwrap().0)
    );
}

#[test]
fn record_keys_scroll_the_record() {
    let mut c = inspector();
    let opened = c.press(KeyCode::Enter, NONE);
    let scroll = |to| Effect::Scroll {
        target: crate::model::ScrollTarget::Detail,
        to,
    };
    assert_eq!(
        opened[0],
        scroll(ScrollTo::Top),
        "a record opens at its top"
    );
    for (code, to) in [
        (KeyCode::PageDown, ScrollTo::Pages(1)),
        (KeyCode::PageUp, ScrollTo::Pages(-1)),
        (KeyCode::Down, ScrollTo::Rows(1)),
        (KeyCode::Char('j'), ScrollTo::Rows(1)),
        (KeyCode::Up, ScrollTo::Rows(-1)),
        (KeyCode::Char('k'), ScrollTo::Rows(-1)),
        (KeyCode::Home, ScrollTo::Top),
        (KeyCode::End, ScrollTo::Bottom),
    ] {
        assert_eq!(c.press(code, NONE), vec![scroll(to)], "{code:?}");
    }
    // The table's keys do not act under the record.
    assert_eq!(c.press(KeyCode::Char('f'), NONE), vec![]);
    assert_eq!(state(&c).selected, 0);
    assert_eq!(state(&c).prompt_filter, None);
}

#[test]
fn esc_and_enter_go_back_to_the_list_and_q_closes_the_inspector() {
    let mut c = inspector();
    c.press(KeyCode::Down, NONE);
    assert_eq!(c.press(KeyCode::Enter, NONE), opening(LogId(5)));
    c.press(KeyCode::Enter, NONE);
    assert_eq!(state(&c).detail, None);
    assert_eq!(state(&c).selected, 1);
    c.press(KeyCode::Enter, NONE);
    c.press(KeyCode::Esc, NONE);
    assert_eq!(state(&c).detail, None);
    c.press(KeyCode::Enter, NONE);
    c.press(KeyCode::Char('q'), NONE);
    assert_eq!(c.model.mode, Mode::Chat);
}

#[test]
fn reload_in_a_record_reads_both_and_keeps_the_record_on_its_row() {
    let mut c = inspector();
    c.press(KeyCode::Enter, NONE);
    c.event(AppEvent::RequestContextLoaded {
        id: LogId(7),
        result: Ok(context(None)),
    });
    assert_eq!(
        c.press(KeyCode::Char('r'), NONE),
        vec![
            Effect::LoadRequestLog {
                prompt_name: None,
                limit: super::INSPECTOR_ROWS
            },
            Effect::LoadRequestContext { id: LogId(7) },
        ]
    );
    assert_eq!(detail(&c).sent, Loadable::Loading);
    // A newer request arrived meanwhile: the record follows its row to index 1.
    c.event(AppEvent::RequestLogLoaded(Ok(vec![
        row(9, None, &[]),
        row(7, Some(prompt("greet")), &[("name", "Ada")]),
    ])));
    assert_eq!(state(&c).selected, 1);
    assert_eq!(detail(&c).id, LogId(7));
    // Its row gone from the log (another filter, a new database): the record closes.
    c.event(AppEvent::RequestLogLoaded(Ok(vec![row(9, None, &[])])));
    assert_eq!(state(&c).detail, None);
    assert_eq!(state(&c).selected, 0);
}
