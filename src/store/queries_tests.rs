//! Reads: the request log's filter and order, hostile strings kept as data, and the
//! conversation list by last activity.

use pretty_assertions::assert_eq;

use super::test_support::*;
use super::*;
use crate::llm::Role;

#[test]
fn recent_requests_filters_by_prompt_newest_first() {
    let mut s = store();
    for (i, name) in ["a", "b", "a", "c", "a"].iter().enumerate() {
        let mut r = record(None, None);
        r.started_at_ms = 1000 + i as i64;
        r.prompt = Some(PromptVersion {
            name: name.to_string(),
            content_hash: format!("h{i}"),
            commit: PromptCommit::Uncommitted,
        });
        s.insert_request(&r).expect("insert");
    }
    let a = s
        .recent_requests(&RequestFilter {
            limit: 10,
            prompt_name: Some("a".into()),
            compare_id: None,
        })
        .expect("query");
    let hashes: Vec<String> = a
        .iter()
        .map(|r| r.prompt.as_ref().expect("prompt").content_hash.clone())
        .collect();
    assert_eq!(hashes, vec!["h4", "h2", "h0"]);
    assert_eq!(
        a[0].prompt.as_ref().expect("prompt").commit,
        PromptCommit::Uncommitted
    );
    let two = s
        .recent_requests(&RequestFilter {
            limit: 2,
            prompt_name: None,
            compare_id: None,
        })
        .expect("query");
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].started_at_ms, 1004);
}

#[test]
fn recent_requests_of_version_keeps_that_content_hash_only() {
    let mut s = store();
    for (i, (name, hash)) in [("a", "h1"), ("a", "h2"), ("b", "h1"), ("a", "h1")]
        .iter()
        .enumerate()
    {
        let mut r = record(None, None);
        r.started_at_ms = 1000 + i as i64;
        r.prompt = Some(PromptVersion {
            name: name.to_string(),
            content_hash: hash.to_string(),
            commit: PromptCommit::Uncommitted,
        });
        s.insert_request(&r).expect("insert");
    }
    let filter = RequestFilter {
        limit: 10,
        prompt_name: Some("a".into()),
        compare_id: None,
    };
    let found: Vec<(String, i64)> = s
        .recent_requests_of_version(&filter, "h1")
        .expect("query")
        .iter()
        .map(|r| {
            (
                r.prompt.as_ref().expect("prompt").name.clone(),
                r.started_at_ms,
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![("a".to_string(), 1003), ("a".to_string(), 1000)]
    );
}

#[test]
fn hostile_strings_are_data_not_sql() {
    let mut s = store();
    let evil = "'); DROP TABLE requests;--";
    let c = s
        .create_conversation(&NewConversation {
            title: Some(evil.into()),
            provider: evil.into(),
            model: evil.into(),
            prompt: Some(PromptVersion {
                name: evil.into(),
                content_hash: evil.into(),
                commit: PromptCommit::Commit(evil.into()),
            }),
        })
        .expect("conversation");
    let m = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::User,
            content: evil.into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .expect("message");
    let mut r = record(Some(c), Some(m));
    r.provider = evil.into();
    r.params.model = evil.into();
    r.prompt = Some(PromptVersion {
        name: evil.into(),
        content_hash: "x".into(),
        commit: PromptCommit::Uncommitted,
    });
    let id = s.insert_request(&r).expect("request");
    let rows = s
        .recent_requests(&RequestFilter {
            limit: 5,
            prompt_name: Some(evil.into()),
            compare_id: None,
        })
        .expect("filter by a hostile name");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id, id);
    assert_eq!(rows[0].gen_ai_provider_name, evil);
    let loaded = s.load_conversation(c).expect("load");
    assert_eq!(loaded.messages[0].message.content, evil);
    assert_eq!(loaded.conversation.title.as_deref(), Some(evil));
    // Every table is still there.
    let tables: i64 = s
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('requests', 'messages', 'conversations')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(tables, 3);
}

#[test]
fn conversations_list_by_last_activity() {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NOW: AtomicI64 = AtomicI64::new(1_000);
    fn tick() -> i64 {
        NOW.fetch_add(10, Ordering::SeqCst)
    }
    let mut s = Store::open_in_memory().expect("store").with_clock(tick);
    let first = conversation(&mut s);
    let second = conversation(&mut s);
    s.insert_message(&NewMessage {
        conversation_id: first,
        role: Role::User,
        content: "again".into(),
        state: MessageState::Complete,
        request_id: None,
    })
    .expect("message");
    let ids: Vec<ConversationId> = s
        .list_conversations(10)
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![first, second]);
}

#[test]
fn request_context_reads_the_messages_up_to_the_request_and_its_reply_only() {
    let mut s = store();
    let c = conversation(&mut s);
    s.save_prompt_text(&prompt().content_hash, "summarize", "Be {{tone}}.")
        .expect("prompt text");
    let message = |s: &mut Store, role: Role, text: &str, request: Option<LogId>| {
        s.insert_message(&NewMessage {
            conversation_id: c,
            role,
            content: text.into(),
            state: MessageState::Complete,
            request_id: request,
        })
        .expect("message")
    };
    // Turn 1.
    let first = message(&mut s, Role::User, "first question", None);
    let first_request = s
        .insert_request(&record(Some(c), Some(first)))
        .expect("req");
    message(&mut s, Role::Assistant, "first answer", Some(first_request));
    // Turn 2: the request inspected.
    let second = message(&mut s, Role::User, "second question", None);
    let second_request = s
        .insert_request(&record(Some(c), Some(second)))
        .expect("req");
    let reply = message(
        &mut s,
        Role::Assistant,
        "second answer\u{1b}[31m",
        Some(second_request),
    );
    s.checkpoint_message(reply, "second answer, cut", MessageState::Cancelled)
        .expect("checkpoint");
    // Turn 3, after it: not read.
    message(&mut s, Role::User, "third question", None);

    let context = s.request_context(second_request).expect("context");
    let texts: Vec<(Role, &str)> = context
        .messages
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        texts,
        vec![
            (Role::User, "first question"),
            (Role::Assistant, "first answer"),
            (Role::User, "second question"),
        ]
    );
    assert_eq!(context.prompt_text.as_deref(), Some("Be {{tone}}."));
    let reply = context.reply.expect("reply");
    assert_eq!(
        (reply.content.as_str(), reply.state),
        ("second answer, cut", MessageState::Cancelled)
    );

    // A request without a conversation, or a prompt whose text was never kept.
    let mut lone = record(None, None);
    lone.prompt = Some(PromptVersion {
        content_hash: "sha256:unknown".into(),
        ..prompt()
    });
    let lone = s.insert_request(&lone).expect("req");
    assert_eq!(
        s.request_context(lone).expect("context"),
        RequestContext {
            prompt_text: None,
            messages: Vec::new(),
            reply: None,
        }
    );
    assert!(matches!(
        s.request_context(LogId(9_999)),
        Err(StoreError::NotFound { .. })
    ));
}
