//! A compare run read back from the log, its lanes side by side: `promptdeck log --compare ID`
//! (a table per message) and `promptdeck export ID` of a lane (a Markdown table per message).
//!
//! Each lane is a conversation of its own. Messages are matched across lanes by their text
//! (and how many times it was said before), so a lane that joined later — a re-run on save,
//! which only stores the message it re-ran — lines up with the message it answered.

use crate::llm::Role;
use crate::text;

use super::report::{format_ms, format_tokens};
use super::{ConversationMessage, ConversationWithMessages, RequestRow, RequestStatus};

/// One message sent to the lanes, and each lane's last reply to it (`None`: the lane did not
/// get it).
#[derive(Debug)]
struct Turn<'a> {
    user: &'a str,
    replies: Vec<Option<&'a ConversationMessage>>,
}

/// The messages of the run in the order they were first sent, with every lane's reply.
fn turns(lanes: &[ConversationWithMessages]) -> Vec<Turn<'_>> {
    let mut turns: Vec<(&str, usize, Turn<'_>)> = Vec::new();
    for (lane, conversation) in lanes.iter().enumerate() {
        let mut said: Vec<&str> = Vec::new();
        let mut current: Option<usize> = None;
        for item in &conversation.messages {
            match item.message.role {
                Role::User => {
                    let text = item.message.content.as_str();
                    let occurrence = said.iter().filter(|s| **s == text).count();
                    said.push(text);
                    let at = turns
                        .iter()
                        .position(|(t, n, _)| *t == text && *n == occurrence)
                        .unwrap_or_else(|| {
                            turns.push((
                                text,
                                occurrence,
                                Turn {
                                    user: text,
                                    replies: vec![None; lanes.len()],
                                },
                            ));
                            turns.len() - 1
                        });
                    current = Some(at);
                }
                Role::Assistant => {
                    // A retried reply is replaced by the retry: the last one counts.
                    if let Some(at) = current {
                        turns[at].2.replies[lane] = Some(item);
                    }
                }
            }
        }
    }
    turns.into_iter().map(|(_, _, turn)| turn).collect()
}

/// The lane's prompt version and model, from its first request.
fn lane_head(lane: &ConversationWithMessages) -> (String, String) {
    let row = lane.messages.iter().find_map(|m| m.request.as_ref());
    let prompt = row
        .and_then(|r| r.prompt.as_ref())
        .or(lane.conversation.prompt.as_ref())
        .map_or("no prompt".to_string(), |p| p.reference());
    let model = row.map_or(lane.conversation.model.clone(), |r| r.model().to_string());
    (text::sanitize(&prompt), text::sanitize(&model))
}

fn status(row: &RequestRow) -> String {
    match (&row.status, &row.error_type) {
        (RequestStatus::Error, Some(kind)) => format!("error: {kind}"),
        (status, _) => status.as_str().to_string(),
    }
}

/// The numbers of a reply, as rows: first token, latency, tokens, cost, status.
fn numbers(reply: Option<&ConversationMessage>) -> [String; 5] {
    match reply.and_then(|m| m.request.as_ref()) {
        Some(r) => [
            format_ms(r.time_to_first_chunk_ms),
            format_ms(r.duration_ms),
            format_tokens(r),
            match r.cost_kind {
                None => "-".to_string(),
                Some(_) => r.cost().to_string(),
            },
            status(r),
        ],
        None => std::array::from_fn(|_| "-".to_string()),
    }
}

const ROW_NAMES: [&str; 5] = ["first token", "latency", "tokens", "cost", "status"];

/// Longest reply excerpt in the `log --compare` table, in characters.
const EXCERPT_CHARS: usize = 40;

/// `promptdeck log --compare ID`: per message, the lanes side by side (prompt, model, first
/// token, latency, tokens, cost, status and the start of the reply).
pub fn compare_table(compare_id: &str, lanes: &[ConversationWithMessages]) -> String {
    let mut out = format!(
        "compare {} · {} lanes · conversations {}\n",
        text::sanitize(compare_id),
        lanes.len(),
        lanes
            .iter()
            .map(|l| l.conversation.id.0.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let heads: Vec<(String, String)> = lanes.iter().map(lane_head).collect();
    for (n, turn) in turns(lanes).iter().enumerate() {
        out.push_str(&format!(
            "\n── {}. {} ──\n",
            n + 1,
            text::truncate(&one_line(turn.user), 70)
        ));
        let mut table: Vec<Vec<String>> = Vec::new();
        let mut header = vec![String::new()];
        header.extend((1..=lanes.len()).map(|i| format!("LANE {i}")));
        table.push(header);
        let row = |name: &str, cells: Vec<String>| {
            let mut row = vec![name.to_string()];
            row.extend(cells.into_iter().map(|c| one_line(&c)));
            row
        };
        table.push(row("prompt", heads.iter().map(|h| h.0.clone()).collect()));
        table.push(row("model", heads.iter().map(|h| h.1.clone()).collect()));
        let numbers: Vec<[String; 5]> = turn.replies.iter().map(|r| numbers(*r)).collect();
        for (i, name) in ROW_NAMES.iter().enumerate() {
            table.push(row(name, numbers.iter().map(|n| n[i].clone()).collect()));
        }
        table.push(row(
            "reply",
            turn.replies
                .iter()
                .map(|r| {
                    r.map_or("-".to_string(), |m| {
                        let line = one_line(&m.message.content);
                        if line.chars().count() > EXCERPT_CHARS {
                            format!(
                                "{}…",
                                line.chars().take(EXCERPT_CHARS - 1).collect::<String>()
                            )
                        } else {
                            line
                        }
                    })
                })
                .collect(),
        ));
        out.push_str(&text::columns(&table));
    }
    out
}

/// The Markdown export of a compare run: per message, a table with a column per lane
/// (prompt, model, numbers, and the whole reply).
pub fn compare_markdown(compare_id: &str, lanes: &[ConversationWithMessages]) -> String {
    let mut out = format!("# Compare {}\n\n", text::sanitize(compare_id));
    out.push_str(&format!(
        "- Lanes: {} · conversations {}\n",
        lanes.len(),
        lanes
            .iter()
            .map(|l| l.conversation.id.0.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let heads: Vec<(String, String)> = lanes.iter().map(lane_head).collect();
    for (n, turn) in turns(lanes).iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", n + 1, cell(turn.user)));
        out.push_str("| |");
        for i in 1..=lanes.len() {
            out.push_str(&format!(" Lane {i} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(lanes.len()));
        out.push('\n');
        let mut row = |name: &str, cells: Vec<String>| {
            out.push_str(&format!("| {name} |"));
            for c in cells {
                out.push_str(&format!(" {} |", cell(&c)));
            }
            out.push('\n');
        };
        row(
            "Prompt",
            heads.iter().map(|h| format!("`{}`", h.0)).collect(),
        );
        row("Model", heads.iter().map(|h| h.1.clone()).collect());
        let numbers: Vec<[String; 5]> = turn.replies.iter().map(|r| numbers(*r)).collect();
        for (i, name) in ROW_NAMES.iter().enumerate() {
            let mut title = name.to_string();
            title[..1].make_ascii_uppercase();
            row(&title, numbers.iter().map(|n| n[i].clone()).collect());
        }
        row(
            "Reply",
            turn.replies
                .iter()
                .map(|r| r.map_or("—".to_string(), |m| m.message.content.clone()))
                .collect(),
        );
    }
    out
}

fn one_line(s: &str) -> String {
    text::sanitize(s).replace('\n', " ")
}

/// Text fit for one Markdown table cell: no control sequences, line breaks as `<br>`, pipes
/// escaped.
fn cell(s: &str) -> String {
    text::sanitize(s)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{MessageState, NewConversation, NewMessage, RequestParams, RequestRecord};
    use crate::store::Store;
    use pretty_assertions::assert_eq;

    /// A compare run of two lanes over two messages; lane 3 joined for the second only (a
    /// re-run on save).
    fn run() -> Vec<ConversationWithMessages> {
        let mut store = Store::open_in_memory().unwrap();
        let mut lane = |model: &str, exchanges: &[(&str, &str)]| {
            let conversation = store
                .create_conversation(&NewConversation {
                    title: Some("t".into()),
                    provider: "anthropic".into(),
                    model: model.into(),
                    prompt: None,
                })
                .unwrap();
            for (user, reply) in exchanges {
                let user_id = store
                    .insert_message(&NewMessage {
                        conversation_id: conversation,
                        role: Role::User,
                        content: user.to_string(),
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
                            model: model.into(),
                            max_tokens: 100,
                            temperature: None,
                            variables: Default::default(),
                        },
                        prompt: None,
                        compare_id: Some("c1".into()),
                    })
                    .unwrap();
                store
                    .insert_message(&NewMessage {
                        conversation_id: conversation,
                        role: Role::Assistant,
                        content: reply.to_string(),
                        state: MessageState::Complete,
                        request_id: Some(log),
                    })
                    .unwrap();
            }
            conversation
        };
        let a = lane(
            "model-a",
            &[("hi", "Hello | there\nfriend"), ("bye", "Goodbye")],
        );
        let b = lane("model-b", &[("hi", "Hey"), ("bye", "Later")]);
        let c = lane("model-c", &[("bye", "Ciao")]);
        let (_, ids) = store.compare_lanes(a).unwrap().expect("a compare");
        assert_eq!(ids, vec![a, b, c]);
        ids.into_iter()
            .map(|id| store.load_conversation(id).unwrap())
            .collect()
    }

    #[test]
    fn messages_line_up_across_lanes_even_for_a_lane_that_joined_later() {
        let lanes = run();
        let turns = turns(&lanes);
        let shown: Vec<(&str, Vec<Option<&str>>)> = turns
            .iter()
            .map(|t| {
                (
                    t.user,
                    t.replies
                        .iter()
                        .map(|r| r.map(|m| m.message.content.as_str()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("hi", vec![Some("Hello | there\nfriend"), Some("Hey"), None]),
                ("bye", vec![Some("Goodbye"), Some("Later"), Some("Ciao")]),
            ]
        );
    }

    #[test]
    fn the_table_and_the_markdown_put_the_lanes_side_by_side() {
        let lanes = run();
        let table = compare_table("c1", &lanes);
        assert!(table.starts_with("compare c1 · 3 lanes"), "{table}");
        let model_row = table
            .lines()
            .find(|l| l.starts_with("model"))
            .expect("a model row");
        assert!(
            model_row.contains("model-a") && model_row.contains("model-b"),
            "{model_row}"
        );
        let reply_row = table
            .lines()
            .find(|l| l.starts_with("reply"))
            .expect("a reply row");
        assert!(reply_row.contains("Hello | there friend"), "{reply_row}");
        let md = compare_markdown("c1", &lanes);
        assert!(
            md.contains("| Reply | Hello \\| there<br>friend | Hey | — |"),
            "{md}"
        );
        assert!(
            md.contains("| Model | model-a | model-b | model-c |"),
            "{md}"
        );
        assert!(md.contains("## 2. bye"), "{md}");
    }
}
