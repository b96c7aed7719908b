//! Crash liveness: which process wrote a row, whether that process is gone, and marking the
//! rows it left `streaming`/`pending` as `interrupted` (see the crash recovery notes in
//! [`super`]).

use rusqlite::{TransactionBehavior, params};

use super::{STALE_AFTER_MS, Store, StoreError};

impl Store {
    /// Marks `streaming` messages and `pending` requests whose writer process is gone as
    /// `interrupted`, keeping their text. Returns how many messages were marked.
    pub fn recover_abandoned(&mut self) -> Result<usize, StoreError> {
        let now = (self.clock)();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut marked = 0;
        {
            let mut find = tx.prepare(
                "SELECT id, writer, updated_at_ms FROM messages WHERE state = 'streaming'",
            )?;
            let rows: Vec<(i64, Option<String>, i64)> = find
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut mark = tx.prepare(
                "UPDATE messages SET state = 'interrupted', updated_at_ms = ?2 \
                 WHERE id = ?1 AND state = 'streaming'",
            )?;
            for (id, writer, updated_at_ms) in rows {
                if is_abandoned(writer.as_deref(), &self.writer, updated_at_ms, now) {
                    marked += mark.execute(params![id, now])?;
                }
            }
            let mut find = tx.prepare(
                "SELECT id, writer, started_at_ms FROM requests WHERE status = 'pending'",
            )?;
            let rows: Vec<(i64, Option<String>, i64)> = find
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            let mut mark = tx.prepare(
                "UPDATE requests SET status = 'interrupted', \
                 error_type = COALESCE(error_type, 'interrupted'), \
                 error_message = COALESCE(error_message, ?2) \
                 WHERE id = ?1 AND status = 'pending'",
            )?;
            for (id, writer, started_at_ms) in rows {
                if is_abandoned(writer.as_deref(), &self.writer, started_at_ms, now) {
                    mark.execute(params![
                        id,
                        "promptdeck stopped before the reply finished (crash, kill or hang-up)"
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(marked)
    }
}

/// This process, as recorded in `writer` columns: `pid:start` (start = the process start
/// time from `/proc`, or `?` where unavailable).
pub(super) fn writer_identity() -> String {
    let pid = std::process::id();
    match process_start(pid) {
        Some(ProcState { start, .. }) => format!("{pid}:{start}"),
        None => format!("{pid}:?"),
    }
}

struct ProcState {
    zombie: bool,
    start: u64,
}

/// State and start time of a process from `/proc/<pid>/stat` (Linux only).
fn process_start(pid: u32) -> Option<ProcState> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ..."; comm may contain spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let state = fields.first()?;
    // starttime is field 22 of the file; field 3 (state) is index 0 here.
    let start = fields.get(19)?.parse().ok()?;
    Some(ProcState {
        zombie: matches!(*state, "Z" | "X" | "x"),
        start,
    })
}

/// Whether a row last written by `writer` at `updated_at_ms` is abandoned.
pub(super) fn is_abandoned(
    writer: Option<&str>,
    me: &str,
    updated_at_ms: i64,
    now_ms: i64,
) -> bool {
    let Some(writer) = writer else {
        return true;
    };
    if writer == me {
        // Written by this very process: it is live (another Store in this process).
        return false;
    }
    let mut parts = writer.splitn(2, ':');
    let pid: Option<u32> = parts.next().and_then(|p| p.parse().ok());
    let start = parts.next().and_then(|s| s.parse::<u64>().ok());
    match (cfg!(target_os = "linux"), pid) {
        (true, Some(pid)) => match process_start(pid) {
            None => true,
            Some(p) if p.zombie => true,
            Some(p) => start.is_some_and(|s| s != p.start),
        },
        _ => now_ms.saturating_sub(updated_at_ms) > STALE_AFTER_MS,
    }
}
