//! Markdown and JSONL export of a stored conversation, and the `log` table and JSON.

use pretty_assertions::assert_eq;

use super::test_support::*;
use super::*;
use crate::llm::Role;

fn exported_conversation() -> ConversationWithMessages {
    let mut s = store();
    let c = conversation(&mut s);
    let user = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::User,
            content: "Say hi\u{1b}[31m".into(),
            state: MessageState::Complete,
            request_id: None,
        })
        .expect("user");
    let req = s.insert_request(&record(Some(c), Some(user))).expect("req");
    let reply = s
        .insert_message(&NewMessage {
            conversation_id: c,
            role: Role::Assistant,
            content: "Hi the".into(),
            state: MessageState::Streaming,
            request_id: Some(req),
        })
        .expect("reply");
    s.checkpoint_message(reply, "Hi the", MessageState::Interrupted)
        .expect("interrupt");
    let mut outcome = ok_outcome();
    outcome.status = RequestStatus::Interrupted;
    s.finish_request(req, &outcome).expect("finish");
    s.load_conversation(c).expect("load")
}

#[test]
fn markdown_export() {
    let md = export_markdown(&exported_conversation());
    assert_eq!(
        md,
        "# hello\n\n\
         - Conversation: 1 · started 2026-12-03 23:44:12 UTC\n\
         - Model: claude-sonnet-4-5 (anthropic)\n\
         - Prompt: summarize@3f2e1d0c9b8a\n\
         \n## User\n\n_2026-12-03 23:44:12 UTC_\n\nSay hi\n\
         \n## Assistant · claude-sonnet-4-5-20250929 · summarize@3f2e1d0c9b8a · 1000 in / 500 out · $0.0232 · 3.20s \
         · (interrupted)\n\n_2026-12-03 23:44:12 UTC_\n\nHi the\n"
    );
}

#[test]
fn jsonl_export_has_one_object_per_message_and_provenance() {
    let out = export_jsonl(&exported_conversation()).expect("jsonl");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["role"], "user");
    assert_eq!(lines[0]["content"], "Say hi\u{1b}[31m");
    assert!(lines[0].get("request").is_none());
    assert_eq!(lines[1]["state"], "interrupted");
    assert_eq!(lines[1]["request"]["usage"]["input_tokens"], 1000);
    assert_eq!(lines[1]["request"]["prompt"]["name"], "summarize");
    assert_eq!(
        lines[1]["request"]["prompt"]["commit"]["commit"],
        "3f2e1d0c9b8a"
    );
    assert_eq!(lines[1]["request"]["response_id"], "msg_01");
    assert!(!out.contains("sk-"), "no key material: {out}");
}

#[test]
fn log_table_and_json() {
    let mut s = store();
    let req = s.insert_request(&record(None, None)).expect("req");
    s.finish_request(req, &ok_outcome()).expect("finish");
    let mut unknown = record(None, None);
    unknown.params.model = "llama\u{1b}]0;pwned\u{7}3".into();
    unknown.prompt = None;
    s.insert_request(&unknown).expect("pending");
    let rows = s.recent_requests(&RequestFilter::default()).expect("rows");
    let table = format_log_table(&rows);
    assert!(!table.contains('\u{1b}'), "{table}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("ID  TIME (UTC)"), "{table}");
    assert!(
        lines[1].starts_with(&format!("{} ", rows[0].id.0)),
        "each row starts with its number: {table}"
    );
    assert!(
        lines[2].contains("summarize@3f2e1d0c9b8a"),
        "the canonical reference: {table}"
    );
    assert!(lines[2].contains("1000/500 (10000/2000)"), "{table}");
    assert!(
        lines[2].contains("0.84s") && lines[2].contains("3.20s"),
        "{table}"
    );
    assert!(
        lines[2].contains("$0.0232") && lines[2].ends_with("ok"),
        "{table}"
    );
    let pending: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(pending[pending.len() - 2..], ["-", "pending"], "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&log_json(&rows).expect("json")).expect("parses");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
    assert_eq!(json[1]["gen_ai_usage_cache_read_input_tokens"], 10000);
    assert_eq!(json[1]["status"], "ok");
    assert_eq!(format_log_table(&[]), "no requests logged yet\n");
}

#[test]
fn jsonl_export_escapes_c1_controls_and_bidi_overrides_and_keeps_the_text() {
    let mut c = exported_conversation();
    let hostile = "a\u{9b}31mb\u{202e}evil\u{2066}x\u{7f}";
    c.messages[1].message.content = hostile.into();
    let out = export_jsonl(&c).expect("export");
    assert!(
        !out.chars().any(|ch| matches!(ch, '\u{7f}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
        "{out:?}"
    );
    assert!(out.contains("\\u009b") && out.contains("\\u202e"), "{out}");
    let line: serde_json::Value =
        serde_json::from_str(out.lines().nth(1).expect("the reply")).expect("JSON");
    assert_eq!(
        line["content"],
        serde_json::json!(hostile),
        "the text is unchanged"
    );
}
