//! Opening the database: pragmas, migrations from older files, and refusing newer ones.

use pretty_assertions::assert_eq;
use rusqlite::Connection;

use super::*;

#[test]
fn open_sets_wal_foreign_keys_and_latest_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("nested/promptdeck.db")).expect("open");
    let conn = store.connection();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("fk");
    assert_eq!(fk, 1);
    assert_eq!(
        store.schema_version().expect("version"),
        schema::SCHEMA_VERSION as i64
    );
}

#[test]
fn a_v1_database_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).expect("open raw");
        conn.execute_batch(schema::MIGRATIONS[0]).expect("v1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO conversations (id, created_at_ms, provider, model) \
             VALUES (7, 1000, 'anthropic', 'claude-haiku-4-5')",
            [],
        )
        .expect("conversation");
        conn.execute(
            "INSERT INTO messages (conversation_id, seq, role, content, state, created_at_ms, \
             updated_at_ms) VALUES (7, 1, 'user', 'hi', 'complete', 1000, 5000)",
            [],
        )
        .expect("message");
    }
    let store = Store::open(&path).expect("migrates");
    assert_eq!(
        store.schema_version().expect("version"),
        schema::SCHEMA_VERSION as i64,
        "migrated to the latest"
    );
    let list = store.list_conversations(10).expect("list");
    assert_eq!(list.len(), 1);
    // v2 backfilled the last activity from the messages.
    assert_eq!(list[0].updated_at_ms, 5000);
    let loaded = store.load_conversation(ConversationId(7)).expect("load");
    assert_eq!(loaded.messages[0].message.content, "hi");
    // Opening again is a no-op.
    drop(store);
    assert_eq!(
        Store::open(&path)
            .expect("reopen")
            .schema_version()
            .expect("v"),
        schema::SCHEMA_VERSION as i64
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.db");
    Connection::open(&path)
        .expect("raw")
        .pragma_update(None, "user_version", 99)
        .expect("version");
    match Store::open(&path) {
        Err(StoreError::NewerSchema { found: 99, .. }) => {}
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}
