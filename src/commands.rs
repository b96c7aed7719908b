//! The history commands: `promptdeck log`, `promptdeck conversations`, `promptdeck export`,
//! and `promptdeck prompts show` (which may need the texts the history keeps).
//!
//! They only read `<data_dir>/promptdeck.db` (synchronously; `log --prompt NAME@REV` and
//! `prompts show` ask git for a version, so those two are async), and write to the writer they
//! are given so that tests need no process. Opening the database also marks
//! replies whose process died mid-stream (a `kill -9`, an SSH drop) as `interrupted`, so what
//! these commands show is never a reply that claims to be still streaming from nobody.
//!
//! Everything printed comes from the database, which holds no API keys; the table and
//! Markdown forms strip terminal control sequences from stored text, the JSON forms escape
//! them.

use std::io::Write;

use thiserror::Error;

use crate::cli::{ConversationsArgs, ExportArgs, ExportFormat, LogArgs, exit};
use crate::config::Resolved;
use crate::prompts::{PromptError, Reference, Selector};
use crate::store::compare_report::{compare_markdown, compare_table};
use crate::store::report::format_utc_ms;
use crate::store::resolve::resolve_with_store;
use crate::store::{
    ConversationId, ConversationRow, RequestFilter, Store, StoreError, db_path, export_jsonl,
    export_markdown, format_log_table, log_json,
};
use crate::text;

/// Longest title shown by `promptdeck conversations`, in terminal columns.
pub const TITLE_MAX_COLUMNS: usize = 60;

/// Why a history command failed.
#[derive(Debug, Error)]
pub enum CommandError {
    /// The database could not be opened or read.
    #[error("history database: {0}")]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// A prompt reference names no version (`log --prompt`, `prompts show`).
    #[error("{0}")]
    Prompt(#[from] PromptError),
}

impl CommandError {
    /// The exit status for this failure: an unknown id is a usage error; a closed pipe
    /// (`promptdeck log | head`) is not a failure at all.
    pub fn exit_status(&self) -> u8 {
        match self {
            CommandError::Store(StoreError::NotFound { .. }) => exit::USAGE,
            CommandError::Store(_) => exit::INTERNAL,
            CommandError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
            CommandError::Output(_) => exit::INTERNAL,
            CommandError::Prompt(_) => exit::USAGE,
        }
    }
}

/// The database, for reading. In a data dir that cannot be written (a read-only mount, a
/// colleague's shared dir), it is opened read-only rather than refused.
fn open(resolved: &Resolved) -> Result<Store, CommandError> {
    let path = db_path(&resolved.data_dir);
    match Store::open(&path) {
        Ok(store) => Ok(store),
        Err(error) if path.is_file() && !writable(&resolved.data_dir) => {
            Store::open_read_only(&path).map_err(|read_only| match read_only {
                StoreError::ReadOnlyUpgrade { .. } => read_only.into(),
                _ => error.into(),
            })
        }
        Err(error) => Err(error.into()),
    }
}

/// Whether a file can be created in `dir` (tried, not guessed from the mode bits: root, ACLs
/// and read-only mounts all count).
fn writable(dir: &std::path::Path) -> bool {
    let probe = dir.join(format!(".promptdeck-write-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(_) => false,
    }
}

/// `promptdeck log`: the newest request attempts, newest first, as a table or (`--json`) one
/// JSON array. `prompt` keeps only requests made with that prompt: `NAME`, any version of it;
/// `NAME@REV` or `NAME@#HASH`, that version (its content hash), resolved as `ask --prompt`
/// resolves it.
pub async fn log(
    resolved: &Resolved,
    args: &LogArgs,
    prompt: Option<&Reference>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let store = open(resolved)?;
    let filter = RequestFilter {
        limit: args.limit,
        prompt_name: prompt.map(|p| p.name.clone()),
        compare_id: args.compare.clone(),
    };
    let rows = match prompt {
        Some(reference) if reference.selector != Selector::Working => {
            let loaded = resolve_with_store(&resolved.prompts_dir, reference, Some(&store)).await?;
            store.recent_requests_of_version(&filter, loaded.provenance.content_hash.full())?
        }
        _ => store.recent_requests(&filter)?,
    };
    if args.json {
        writeln!(out, "{}", log_json(&rows)?)?;
    } else if let Some(compare_id) = &args.compare {
        let lanes = store
            .compare_conversations(compare_id)?
            .into_iter()
            .map(|id| store.load_conversation(id))
            .collect::<Result<Vec<_>, _>>()?;
        if lanes.is_empty() {
            writeln!(
                out,
                "no requests logged for compare {}",
                text::sanitize(compare_id)
            )?;
        } else {
            out.write_all(compare_table(compare_id, &lanes).as_bytes())?;
        }
    } else if let (true, Some(reference)) = (rows.is_empty(), prompt) {
        writeln!(
            out,
            "no requests logged for prompt {}",
            text::sanitize(&reference.to_string())
        )?;
    } else {
        out.write_all(format_log_table(&rows).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// `promptdeck conversations`: id, last activity, model, prompt and title of the most recently
/// active conversations, newest first; `--json`: the rows as one JSON array.
pub fn conversations(
    resolved: &Resolved,
    args: &ConversationsArgs,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let store = open(resolved)?;
    let rows = store.list_conversations(args.limit)?;
    if args.json {
        let json = serde_json::to_string_pretty(&rows).map_err(StoreError::from)?;
        writeln!(out, "{}", text::json_terminal_safe(json))?;
    } else {
        out.write_all(format_conversations(&rows).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// `promptdeck prompts show REF`: the exact text of one version — the working file, any git
/// revision, or `NAME@#HASH`, also a text only the history database still has. Written as is
/// to a pipe or a file; on a terminal, control sequences are stripped as everywhere else.
pub async fn prompt_show(
    resolved: &Resolved,
    reference: &Reference,
    out: &mut dyn Write,
    on_terminal: bool,
) -> Result<(), CommandError> {
    // Only an existing history is read: showing a prompt creates no database.
    let store = if db_path(&resolved.data_dir).is_file() {
        Some(open(resolved)?)
    } else {
        None
    };
    let loaded = resolve_with_store(&resolved.prompts_dir, reference, store.as_ref()).await?;
    if on_terminal {
        out.write_all(text::sanitize_for_output(&loaded.text).as_bytes())?;
    } else {
        out.write_all(loaded.text.as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

/// `promptdeck export ID --format md|jsonl`: the conversation, to `out`.
pub fn export(
    resolved: &Resolved,
    args: &ExportArgs,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let store = open(resolved)?;
    let id = ConversationId(args.id);
    let conversation = store.load_conversation(id)?;
    // A lane of a compare run: the Markdown shows every lane side by side.
    let compare = match args.format {
        ExportFormat::Md => store
            .compare_lanes(id)?
            .filter(|(_, lanes)| lanes.len() > 1),
        ExportFormat::Jsonl => None,
    };
    let text = match (args.format, compare) {
        (ExportFormat::Md, Some((compare_id, ids))) => {
            let lanes = ids
                .into_iter()
                .map(|id| store.load_conversation(id))
                .collect::<Result<Vec<_>, _>>()?;
            compare_markdown(&compare_id, &lanes)
        }
        (ExportFormat::Md, None) => export_markdown(&conversation),
        (ExportFormat::Jsonl, _) => export_jsonl(&conversation)?,
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The `conversations` table: `ID  LAST ACTIVE (UTC)  MODEL  PROMPT  TITLE`.
pub fn format_conversations(rows: &[ConversationRow]) -> String {
    if rows.is_empty() {
        return "no conversations stored yet\n".to_string();
    }
    let header = ["ID", "LAST ACTIVE (UTC)", "MODEL", "PROMPT", "TITLE"];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        table.push(vec![
            row.id.0.to_string(),
            format_utc_ms(row.updated_at_ms),
            one_line(&row.model),
            row.prompt
                .as_ref()
                .map_or("-".to_string(), |p| one_line(&p.reference())),
            row.title.as_deref().map_or("-".to_string(), |t| {
                text::truncate(&one_line(t), TITLE_MAX_COLUMNS)
            }),
        ]);
    }
    text::columns(&table)
}

fn one_line(s: &str) -> String {
    text::sanitize(s).replace(['\n', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::store::{PromptCommit, PromptVersion};

    fn row(id: i64, title: Option<&str>) -> ConversationRow {
        ConversationRow {
            id: ConversationId(id),
            created_at_ms: 0,
            updated_at_ms: 1_796_341_452_123,
            title: title.map(str::to_string),
            provider: "anthropic".into(),
            model: "claude-sonnet-4-5".into(),
            prompt: None,
        }
    }

    #[test]
    fn conversations_table_is_aligned_one_line_and_sanitized() {
        let mut with_prompt = row(12, Some("greet\u{1b}[2J the\nuser"));
        with_prompt.prompt = Some(PromptVersion {
            name: "greet".into(),
            content_hash: "0123456789abcdef".into(),
            commit: PromptCommit::Uncommitted,
        });
        let table = format_conversations(&[with_prompt, row(3, None)]);
        let expected = [
            "ID  LAST ACTIVE (UTC)    MODEL              PROMPT               TITLE",
            "12  2026-12-03 23:44:12  claude-sonnet-4-5  greet@#0123456789ab  greet the user",
            "3   2026-12-03 23:44:12  claude-sonnet-4-5  -                    -",
        ];
        assert_eq!(table.lines().collect::<Vec<_>>(), expected);
        assert_eq!(format_conversations(&[]), "no conversations stored yet\n");
    }
}
