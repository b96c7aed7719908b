//! Full-text search of the conversation list and branching, on a real (in-memory) SQLite
//! with the bundled FTS5.

use pretty_assertions::assert_eq;

use super::super::test_support::*;
use super::super::*;
use super::fts_query;
use crate::llm::Role;

fn say(s: &mut Store, c: ConversationId, role: Role, text: &str, state: MessageState) -> MessageId {
    s.insert_message(&NewMessage {
        conversation_id: c,
        role,
        content: text.into(),
        state,
        request_id: None,
    })
    .expect("message")
}

fn titled(s: &mut Store, title: &str) -> ConversationId {
    s.create_conversation(&NewConversation {
        title: Some(title.into()),
        provider: "anthropic".into(),
        model: "claude-test".into(),
        prompt: None,
    })
    .expect("conversation")
}

fn ids(listed: &[ListedConversation]) -> Vec<i64> {
    listed.iter().map(|l| l.row.id.0).collect()
}

#[test]
fn typed_words_become_quoted_prefix_terms() {
    assert_eq!(fts_query("rate lim"), Some("\"rate\"* \"lim\"*".into()));
    // FTS5 syntax is data: no column filters, no operators, no broken quotes.
    assert_eq!(
        fts_query("title:x OR \"y"),
        Some("\"title:x\"* \"OR\"* \"\"\"y\"*".into())
    );
    assert_eq!(fts_query("  * - "), None);
    assert_eq!(fts_query(""), None);
}

#[test]
fn search_finds_titles_and_finished_messages_with_an_excerpt() {
    let mut s = store();
    let a = titled(&mut s, "sliding windows");
    say(
        &mut s,
        a,
        Role::User,
        "what is a token bucket?",
        MessageState::Complete,
    );
    let b = titled(&mut s, "cooking");
    say(
        &mut s,
        b,
        Role::User,
        "how long to boil an egg",
        MessageState::Complete,
    );
    let reply = say(
        &mut s,
        b,
        Role::Assistant,
        "a sliding",
        MessageState::Streaming,
    );

    let found = s.search_conversations("slid", 10).expect("search");
    // The streaming reply is not indexed yet: only the title matches.
    assert_eq!(ids(&found), vec![a.0]);
    assert_eq!(found[0].snippet, None);

    s.checkpoint_message(reply, "a sliding scale of minutes", MessageState::Complete)
        .expect("checkpoint");
    let found = s.search_conversations("sliding", 10).expect("search");
    assert_eq!(ids(&found), vec![b.0, a.0]);
    assert_eq!(
        found[0].snippet.as_deref(),
        Some("a \u{E000}sliding\u{E001} scale of minutes")
    );

    let found = s.search_conversations("BUCKET token", 10).expect("search");
    assert_eq!(ids(&found), vec![a.0]);
    assert_eq!(
        s.search_conversations("bucket egg", 10).expect("search"),
        vec![]
    );
    // An empty filter is the recent list.
    assert_eq!(
        ids(&s.search_conversations(" ", 10).expect("list")),
        vec![b.0, a.0]
    );
}

#[test]
fn a_migrated_database_indexes_what_it_already_held() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        for m in &schema::MIGRATIONS[..6] {
            conn.execute_batch(m).expect("old schema");
        }
        conn.execute_batch(
            "PRAGMA user_version = 6;
             INSERT INTO conversations (id, created_at_ms, updated_at_ms, title, provider, model)
                 VALUES (1, 1, 1, 'old chat', 'anthropic', 'm');
             INSERT INTO messages (conversation_id, seq, role, content, state, created_at_ms,
                 updated_at_ms) VALUES (1, 1, 'user', 'remember the alamo', 'complete', 1, 1);",
        )
        .expect("old rows");
    }
    let s = Store::open(&path).expect("migrates");
    let found = s.search_conversations("alamo", 10).expect("search");
    assert_eq!(ids(&found), vec![1]);
    assert_eq!(
        ids(&s.search_conversations("old", 10).expect("search")),
        vec![1]
    );
}

#[test]
fn a_branch_copies_the_history_before_the_edited_message_and_names_its_parent() {
    let mut s = store();
    let c = conversation(&mut s);
    say(&mut s, c, Role::User, "one", MessageState::Complete);
    say(
        &mut s,
        c,
        Role::Assistant,
        "reply one",
        MessageState::Complete,
    );
    say(&mut s, c, Role::User, "two", MessageState::Complete);
    say(
        &mut s,
        c,
        Role::Assistant,
        "reply two",
        MessageState::Complete,
    );

    let branch = s.branch_conversation(c, 1).expect("branch");
    let loaded = s.load_conversation(branch).expect("load");
    let texts: Vec<&str> = loaded
        .messages
        .iter()
        .map(|m| m.message.content.as_str())
        .collect();
    assert_eq!(texts, vec!["one", "reply one"]);
    assert_eq!(loaded.conversation.prompt, Some(prompt()));
    // The parent is untouched.
    assert_eq!(s.load_conversation(c).expect("parent").messages.len(), 4);
    // New messages go after the copied ones.
    say(
        &mut s,
        branch,
        Role::User,
        "two, edited",
        MessageState::Complete,
    );
    let seqs: Vec<i64> = s
        .load_conversation(branch)
        .expect("load")
        .messages
        .iter()
        .map(|m| m.message.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);

    let listed = s.search_conversations("", 10).expect("list");
    let row = listed.iter().find(|l| l.row.id == branch).expect("listed");
    assert_eq!(row.branch_of, Some((c, 2)));
    let parent = listed.iter().find(|l| l.row.id == c).expect("listed");
    assert_eq!(parent.branch_of, None);

    // Branching before the first message keeps nothing; past the last is refused.
    let empty = s.branch_conversation(c, 0).expect("branch");
    assert_eq!(s.load_conversation(empty).expect("load").messages, vec![]);
    assert!(matches!(
        s.branch_conversation(c, 2),
        Err(StoreError::NotFound { .. })
    ));
}
