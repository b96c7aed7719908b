//! The database schema, as an append-only list of migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. On open, every migration past
//! it is applied, each in its own `BEGIN IMMEDIATE` transaction together with the version bump,
//! so a crash mid-migration leaves the previous version intact and two processes opening the
//! same file at once cannot both apply one. Never edit a migration that has shipped: append a
//! new one.

/// Migration `i` (0-based) brings the schema from version `i` to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: conversations, messages and the request log.
    "
    CREATE TABLE conversations (
        id             INTEGER PRIMARY KEY,
        created_at_ms  INTEGER NOT NULL,
        title          TEXT,
        provider       TEXT NOT NULL,
        model          TEXT NOT NULL,
        prompt_name    TEXT,
        prompt_hash    TEXT,
        prompt_commit  TEXT
    );

    CREATE TABLE requests (
        id                                        INTEGER PRIMARY KEY,
        conversation_id                           INTEGER REFERENCES conversations(id)
                                                      ON DELETE CASCADE,
        message_id                                INTEGER REFERENCES messages(id)
                                                      ON DELETE SET NULL,
        attempt                                   INTEGER NOT NULL DEFAULT 1,
        started_at_ms                             INTEGER NOT NULL,
        status                                    TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'ok', 'error', 'cancelled', 'interrupted')),
        gen_ai_operation_name                     TEXT NOT NULL DEFAULT 'chat',
        gen_ai_provider_name                      TEXT NOT NULL,
        gen_ai_request_model                      TEXT NOT NULL,
        gen_ai_request_max_tokens                 INTEGER,
        gen_ai_request_temperature                REAL,
        gen_ai_response_model                     TEXT,
        gen_ai_response_id                        TEXT,
        gen_ai_usage_input_tokens                 INTEGER,
        gen_ai_usage_output_tokens                INTEGER,
        gen_ai_usage_cache_read_input_tokens      INTEGER,
        gen_ai_usage_cache_creation_input_tokens  INTEGER,
        usage_cache_creation_1h_input_tokens      INTEGER,
        gen_ai_response_finish_reasons            TEXT,
        time_to_first_chunk_ms                    INTEGER,
        duration_ms                               INTEGER,
        provider_request_id                       TEXT,
        prompt_name                               TEXT,
        prompt_hash                               TEXT,
        prompt_commit                             TEXT,
        request_params_json                       TEXT NOT NULL,
        cost_usd                                  REAL,
        cost_kind                                 TEXT,
        error_type                                TEXT,
        error_message                             TEXT,
        retry_count                               INTEGER NOT NULL DEFAULT 0,
        ratelimit_headers_json                    TEXT,
        writer                                    TEXT
    );

    CREATE TABLE messages (
        id               INTEGER PRIMARY KEY,
        conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq              INTEGER NOT NULL,
        role             TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content          TEXT NOT NULL,
        state            TEXT NOT NULL
            CHECK (state IN ('complete', 'streaming', 'interrupted', 'cancelled', 'failed')),
        created_at_ms    INTEGER NOT NULL,
        updated_at_ms    INTEGER NOT NULL,
        request_id       INTEGER REFERENCES requests(id) ON DELETE SET NULL,
        writer           TEXT,
        UNIQUE (conversation_id, seq)
    );

    CREATE INDEX messages_state ON messages(state);
    CREATE INDEX requests_status ON requests(status);
    ",
    // v2: last activity per conversation (the resume list sorts by it), and indexes for the
    // log's two queries (newest first; newest first for one prompt).
    "
    ALTER TABLE conversations ADD COLUMN updated_at_ms INTEGER;
    UPDATE conversations SET updated_at_ms = COALESCE(
        (SELECT MAX(m.updated_at_ms) FROM messages m WHERE m.conversation_id = conversations.id),
        created_at_ms);
    CREATE INDEX conversations_updated ON conversations(updated_at_ms);
    CREATE INDEX requests_started ON requests(started_at_ms);
    CREATE INDEX requests_prompt_started ON requests(prompt_name, started_at_ms);
    ",
    // v3: the exact text of every prompt version used, by content hash, so that `--resume`
    // restores an uncommitted or session version even after its file changed.
    "
    CREATE TABLE prompt_texts (
        content_hash      TEXT PRIMARY KEY,
        name              TEXT NOT NULL,
        text              TEXT NOT NULL,
        first_seen_at_ms  INTEGER NOT NULL
    );
    ",
    // v4: who priced each request (`config` or the price dataset's version).
    "
    ALTER TABLE requests ADD COLUMN cost_source TEXT;
    ",
    // v5: whether the output count is promptdeck's estimate from the text (a reply cut before
    // the provider sent its count), shown as `~N`.
    "
    ALTER TABLE requests ADD COLUMN output_tokens_estimated INTEGER NOT NULL DEFAULT 0;
    ",
    // v6: the compare run a request was a lane of (`promptdeck compare`).
    "
    ALTER TABLE requests ADD COLUMN compare_id TEXT;
    CREATE INDEX requests_compare ON requests(compare_id);
    ",
    // v7: full-text search over messages and conversation titles (Ctrl-O's filter). Each FTS5
    // table keeps its own copy of the text under the row's id, so a row is replaced by id
    // whatever was indexed before. A reply is indexed once it stops streaming (its streaming
    // checkpoints would rewrite the index several times a second); triggers keep both in
    // step with every write, and the existing rows are indexed here.
    "
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        content, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE VIRTUAL TABLE conversations_fts USING fts5(
        title, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
        WHEN new.state <> 'streaming' BEGIN
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, state ON messages
        WHEN new.state <> 'streaming' BEGIN
        DELETE FROM messages_fts WHERE rowid = old.id;
        INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        DELETE FROM messages_fts WHERE rowid = old.id;
    END;
    CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations
        WHEN new.title IS NOT NULL BEGIN
        INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);
    END;
    CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
        DELETE FROM conversations_fts WHERE rowid = old.id;
        INSERT INTO conversations_fts (rowid, title)
            SELECT new.id, new.title WHERE new.title IS NOT NULL;
    END;
    CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
        DELETE FROM conversations_fts WHERE rowid = old.id;
    END;
    INSERT INTO messages_fts (rowid, content)
        SELECT id, content FROM messages WHERE state <> 'streaming';
    INSERT INTO conversations_fts (rowid, title)
        SELECT id, title FROM conversations WHERE title IS NOT NULL;
    ",
    // v8: a conversation branched from another (an earlier message edited and re-sent): the
    // conversation and the message it was branched at.
    "
    ALTER TABLE conversations ADD COLUMN parent_conversation_id INTEGER
        REFERENCES conversations(id) ON DELETE SET NULL;
    ALTER TABLE conversations ADD COLUMN branched_from_message_id INTEGER
        REFERENCES messages(id) ON DELETE SET NULL;
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();
