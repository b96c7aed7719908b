//! Reopening a stored conversation: built with the real store (in memory), loaded back, and
//! handed to the model as the app would.

use std::time::Instant;

use pretty_assertions::assert_eq;

use crate::event::ResolvePurpose;
use crate::event::{AppEvent, RequestId};
use crate::llm::pricing::CostView;
use crate::llm::{LlmError, Role, StopReason, Usage};
use crate::model::history::ResumeTarget;
use crate::model::*;
use crate::prompts::{GitState, Provenance, Reference, content_hash};
use crate::records::{
    ConversationId, HistoryError, MessageState, NewConversation, NewMessage, PromptVersion,
    RateLimitHeaders, Reopened, RequestOutcome, RequestParams, RequestRecord, RequestStatus,
};
use crate::store::Store;

const PROMPT: &str = "Answer in French.";

/// A fresh chat on the model the stored conversations used, without a system prompt.
fn chat() -> Model {
    Model::new(Session {
        provider: "anthropic".into(),
        provider_label: None,
        model: "claude-x".into(),
        max_tokens: 100,
        temperature: None,
        system: None,
        start: StartKind::Configured,
    })
}

/// A stored conversation: a finished exchange, then a reply cut short by a crash.
fn stored() -> (Store, ConversationId) {
    let mut store = Store::open_in_memory().unwrap();
    let provenance = Provenance {
        name: "greeter".into(),
        content_hash: content_hash(PROMPT),
        git: GitState::Commit("abcdef0123456789abcdef0123456789abcdef01".into()),
    };
    let prompt = Some(PromptVersion::from(&provenance));
    let conversation = store
        .create_conversation(&NewConversation {
            title: Some("greetings".into()),
            provider: "anthropic".into(),
            model: "claude-x".into(),
            prompt: prompt.clone(),
        })
        .unwrap();
    let exchange = |store: &mut Store, user: &str, reply: &str, state: MessageState| {
        let user_id = store
            .insert_message(&NewMessage {
                conversation_id: conversation,
                role: Role::User,
                content: user.into(),
                state: MessageState::Complete,
                request_id: None,
            })
            .unwrap();
        let log = store
            .insert_request(&RequestRecord {
                conversation_id: Some(conversation),
                message_id: Some(user_id),
                attempt: 1,
                started_at_ms: 1_000,
                provider: "anthropic".into(),
                params: RequestParams {
                    model: "claude-x".into(),
                    max_tokens: 100,
                    temperature: None,
                    variables: [("lang".to_string(), "French".to_string())].into(),
                },
                prompt: prompt.clone(),
                compare_id: None,
            })
            .unwrap();
        store
            .insert_message(&NewMessage {
                conversation_id: conversation,
                role: Role::Assistant,
                content: reply.into(),
                state,
                request_id: Some(log),
            })
            .unwrap();
        (log, state)
    };
    let (log, _) = exchange(&mut store, "hello", "Bonjour !", MessageState::Complete);
    store
        .finish_request(
            log,
            &RequestOutcome {
                status: RequestStatus::Ok,
                response_model: Some("claude-x-2026".into()),
                response_id: Some("msg_1".into()),
                provider_request_id: Some("req_1".into()),
                usage: Usage {
                    input_tokens: Some(12),
                    output_tokens: Some(4),
                    ..Usage::default()
                },
                finish_reasons: vec!["end_turn".into()],
                time_to_first_chunk_ms: Some(300),
                duration_ms: Some(900),
                cost: CostView::Unknown,
                cost_source: None,
                output_estimated: false,
                error: None,
                ratelimit_headers: RateLimitHeaders::default(),
            },
        )
        .unwrap();
    exchange(
        &mut store,
        "and then?",
        "Et puis",
        MessageState::Interrupted,
    );
    (store, conversation)
}

#[test]
fn a_resumed_conversation_becomes_the_transcript_and_later_messages_continue_it() {
    let (store, id) = stored();
    let loaded = store.load_conversation(id).unwrap();
    let mut m = chat();
    assert_eq!(
        m.start(None, Some(ResumeTarget::Latest)),
        vec![
            Effect::ScanPrompts,
            Effect::LoadConversation {
                target: ResumeTarget::Latest
            }
        ]
    );
    let now = Instant::now();
    let effects = m.update(
        AppEvent::ConversationLoaded(Ok(Reopened::single(loaded))),
        now,
    );
    assert_eq!(
        effects,
        vec![Effect::ResolvePrompt {
            reference: Reference::parse("greeter@abcdef012345").unwrap(),
            purpose: ResolvePurpose::Activate
        }],
        "its prompt version comes back"
    );
    assert_eq!(m.lane.conversation, Some(id));
    let history = m.lane.transcript.history();
    assert_eq!(
        history
            .iter()
            .map(|h| (h.role, h.content.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (Role::User, "hello"),
            (Role::Assistant, "Bonjour !"),
            (Role::User, "and then?"),
            (Role::Assistant, "Et puis"),
        ]
    );
    let first = m.lane.transcript.get(1).cloned();
    let Some(Entry::Reply(first)) = first else {
        panic!("a reply")
    };
    assert_eq!(first.state, ReplyState::Finished(StopReason::EndTurn));
    assert_eq!(first.answered_model(), Some("claude-x-2026"));
    assert_eq!(first.usage().output_tokens, Some(4));
    assert_eq!(first.ttft(), Some(std::time::Duration::from_millis(300)));
    assert_eq!(
        first.prompt.as_ref().map(|p| p.as_reference()),
        Some("greeter@abcdef012345".to_string())
    );
    let Some(Entry::Reply(second)) = m.lane.transcript.get(3).cloned() else {
        panic!("a reply")
    };
    assert_eq!(second.state, ReplyState::Failed(LlmError::Interrupted));
    // Until its prompt is back, nothing is sent (never the prompt shown before, nor none).
    m.update(AppEvent::Paste("go on".into()), now);
    let enter = || {
        AppEvent::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        ))
    };
    assert_eq!(m.update(enter(), now), vec![]);
    let status = m.status.clone().map(|s| s.text).unwrap_or_default();
    assert!(status.contains("greeter@abcdef012345"), "{status}");
    let text = "Be kind.";
    let resolved = crate::prompts::LoadedPrompt {
        text: text.into(),
        provenance: Provenance {
            name: "greeter".into(),
            content_hash: crate::prompts::content_hash(text),
            git: GitState::Uncommitted,
        },
    };
    m.update(
        AppEvent::PromptResolved {
            reference: Reference::parse("greeter@abcdef012345").unwrap(),
            purpose: ResolvePurpose::Activate,
            result: Ok(resolved),
        },
        now,
    );
    // The next message is appended to the same stored conversation, with the history.
    let effects = m.update(enter(), now);
    let [Effect::StartRequest { spec, .. }, ..] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.request.system.as_deref(), Some(text));
    assert_eq!(spec.conversation, Some(id));
    assert_eq!(spec.request.messages.len(), 5);
}

#[test]
fn a_new_chat_learns_its_conversation_id_after_the_first_message() {
    let mut m = Model::new(Session {
        provider: "demo".into(),
        provider_label: None,
        model: "demo".into(),
        max_tokens: 100,
        temperature: None,
        system: None,
        start: StartKind::Configured,
    });
    m.update(AppEvent::Paste("first".into()), Instant::now());
    let effects = m.update(
        AppEvent::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
        Instant::now(),
    );
    let [Effect::StartRequest { id, spec }, ..] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.conversation, None);
    let stored = |id, conversation| AppEvent::Request {
        id,
        event: crate::request::PumpEvent::Stored { conversation },
    };
    m.update(stored(*id, ConversationId(7)), Instant::now());
    assert_eq!(m.lane.conversation, Some(ConversationId(7)));
    // A late word from a request of another view (before Ctrl-O) changes nothing.
    m.update(stored(RequestId(99), ConversationId(8)), Instant::now());
    assert_eq!(m.lane.conversation, Some(ConversationId(7)));
}

#[test]
fn a_missing_conversation_is_a_clear_error_and_changes_nothing() {
    let mut m = Model::new(Session {
        provider: "demo".into(),
        provider_label: None,
        model: "demo".into(),
        max_tokens: 100,
        temperature: None,
        system: None,
        start: StartKind::Configured,
    });
    let effects = m.update(
        AppEvent::ConversationLoaded(Err(HistoryError::NoConversation)),
        Instant::now(),
    );
    assert_eq!(effects, vec![]);
    assert!(m.status.unwrap().text.contains("no earlier conversation"));
    assert_eq!(m.lane.transcript.len(), 0);
}

#[test]
fn a_stored_prompt_text_is_restored_exactly_without_git() {
    let (mut store, id) = stored();
    // The version was an edit nobody committed: only the database still has its text.
    store
        .save_prompt_text(content_hash(PROMPT).full(), "greeter", PROMPT)
        .unwrap();
    let loaded = store.load_conversation(id).unwrap();
    let mut m = chat();
    let effects = m.update(
        AppEvent::ConversationLoaded(Ok(Reopened::single(loaded))),
        Instant::now(),
    );
    assert_eq!(effects, vec![], "no git needed");
    let active = m.lane.prompt.clone().expect("the prompt is back");
    assert_eq!(&*active.text, PROMPT);
    assert_eq!(active.provenance.content_hash, content_hash(PROMPT));
    assert_eq!(active.tracking, crate::model::prompt::Tracking::Pinned);
    assert_eq!(
        m.lane.vars.get("lang").map(String::as_str),
        Some("French"),
        "the variable values come back too"
    );
}

#[test]
fn reopening_a_conversation_without_a_prompt_drops_the_previous_one() {
    // Resumed with `greeter`, then Ctrl-O to a conversation `ask` made without a prompt:
    // the next message must not carry greeter's system prompt.
    let (mut store, with_prompt) = stored();
    store
        .save_prompt_text(content_hash(PROMPT).full(), "greeter", PROMPT)
        .unwrap();
    let without_prompt = store
        .create_conversation(&NewConversation {
            title: Some("plain".into()),
            provider: "anthropic".into(),
            model: "claude-x".into(),
            prompt: None,
        })
        .unwrap();
    store
        .insert_message(&NewMessage {
            conversation_id: without_prompt,
            role: Role::User,
            content: "plain question".into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .unwrap();
    let mut m = chat();
    let loaded = store.load_conversation(with_prompt).unwrap();
    m.update(
        AppEvent::ConversationLoaded(Ok(Reopened::single(loaded))),
        Instant::now(),
    );
    assert!(m.lane.prompt.is_some(), "greeter is active");
    let loaded = store.load_conversation(without_prompt).unwrap();
    m.update(
        AppEvent::ConversationLoaded(Ok(Reopened::single(loaded))),
        Instant::now(),
    );
    assert_eq!(m.lane.prompt, None);
    assert_eq!(m.lane.conversation, Some(without_prompt));
    for c in "next".chars() {
        m.update(
            AppEvent::Key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char(c),
                crossterm::event::KeyModifiers::NONE,
            )),
            Instant::now(),
        );
    }
    let now = Instant::now();
    let effects = m.update(
        AppEvent::Key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Enter,
            crossterm::event::KeyModifiers::NONE,
        )),
        now,
    );
    // Without a limiter the request starts at once.
    let Some(Effect::StartRequest { spec, .. }) = effects.into_iter().next() else {
        panic!("expected a request");
    };
    assert_eq!(
        spec.request.system, None,
        "no system prompt from the other conversation"
    );
    assert_eq!(spec.prompt, None);
    assert_eq!(spec.conversation, Some(without_prompt));
}
