//! Headless `promptdeck compare`: one message through several lanes at once.
//!
//! A lane is a [`RequestSpec`] (a prompt version with its variables, a model); every lane,
//! and every repeat of it, runs at the same time through the one request path
//! ([`crate::ask::execute`] over the [`Pump`]): each passes the rate limiter, is stored as
//! its own conversation and logged like any request. A lane that fails (an error, the
//! limiter, an overloaded server) never stops the others. The replies are printed labelled
//! with their prompt version and model, then a summary table and which lane was fastest to
//! the first token, cheapest, shortest and longest; `--json` prints one array of lane
//! objects with the fields of `ask --json`. The exit status is the first failing lane's
//! (`ask`'s codes), 0 when every lane finished.

use std::io::Write;

use futures_util::future::join_all;
use serde::Serialize;
use tokio::sync::watch;

use crate::ask::{AskOutcome, OutputMode, execute};
use crate::cli::exit;
use crate::request::verdict::{Contender, verdict};
use crate::request::{Pump, RequestSpec};
use crate::text;

/// One lane's run, as `--json` reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LaneOutcome {
    /// The compare run (`promptdeck log --compare ID` lists its requests).
    pub compare_id: String,
    /// 1-based, in the order the lanes were given (`--prompt` × `--model`).
    pub lane: usize,
    /// 1-based repeat of the lane (`--repeat N`).
    pub repeat: u32,
    /// The exit status this lane alone would give.
    pub status: u8,
    #[serde(flatten)]
    pub reply: AskOutcome,
}

/// Runs every lane `repeat` times at once and prints them (text or `json`); returns the exit
/// status.
pub async fn run(
    pump: &Pump,
    lanes: Vec<RequestSpec>,
    repeat: u32,
    json: bool,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> u8 {
    let id = compare_id();
    // Ctrl-C cancels every lane (each is recorded as cancelled).
    let (stop, stopped) = watch::channel(false);
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
        }
    });
    let runs = lanes.iter().enumerate().flat_map(|(i, spec)| {
        let spec = RequestSpec {
            compare_id: Some(id.clone()),
            ..spec.clone()
        };
        (1..=repeat).map(move |r| (i + 1, r, spec.clone()))
    });
    let results = join_all(runs.map(|(lane, repeat, spec)| {
        let mut stopped = stopped.clone();
        let id = id.clone();
        async move {
            let cancel = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            // Each lane writes to its own buffers: nothing interleaves.
            let (mut quiet, mut notes) = (Vec::new(), Vec::new());
            let asked = execute(pump, spec, OutputMode::Json, &mut quiet, &mut notes, cancel).await;
            let lane = LaneOutcome {
                compare_id: id.clone(),
                lane,
                repeat,
                status: asked.status,
                reply: asked.outcome,
            };
            (lane, notes)
        }
    }))
    .await;
    ctrl_c.abort();
    for (lane, notes) in &results {
        for line in String::from_utf8_lossy(notes).lines() {
            let line = line.strip_prefix("promptdeck: ").unwrap_or(line);
            let _ = writeln!(err, "promptdeck: lane {}: {line}", lane.lane);
        }
    }
    let lanes: Vec<LaneOutcome> = results.into_iter().map(|(lane, _)| lane).collect();
    let _ = writeln!(
        err,
        "promptdeck: compare {id}: `promptdeck log --compare {id}` lists its requests"
    );
    if json {
        match serde_json::to_string(&lanes) {
            Ok(json) => {
                let _ = writeln!(out, "{}", text::json_terminal_safe(json));
            }
            Err(e) => {
                let _ = writeln!(err, "promptdeck: cannot encode the result: {e}");
                return exit::INTERNAL;
            }
        }
    } else {
        let _ = write!(out, "{}", report(&lanes));
    }
    let _ = out.flush();
    lanes
        .iter()
        .map(|l| l.status)
        .find(|s| *s != exit::OK)
        .unwrap_or(exit::OK)
}

/// A new compare run's id: the time in ms and the process, in hex (short enough to type).
pub fn compare_id() -> String {
    let ms = crate::limit::system_now_ms();
    format!("{ms:x}{:04x}", std::process::id() & 0xffff)
}

/// Every reply under its label, then the summary table and the winners.
pub fn report(lanes: &[LaneOutcome]) -> String {
    let repeated = lanes.iter().any(|l| l.repeat > 1);
    let mut s = String::new();
    for l in lanes {
        s.push_str(&format!("── {} ──\n", label(l, repeated)));
        s.push_str(&l.reply.text);
        if !l.reply.text.ends_with('\n') {
            s.push('\n');
        }
        if let Some(e) = &l.reply.error {
            s.push_str(&format!("({}: {})\n", e.kind, text::sanitize(&e.message)));
        }
        s.push('\n');
    }
    s.push_str(&table(lanes));
    s.push_str(&winners(lanes));
    if repeated {
        s.push_str(&variation(lanes));
    }
    s
}

fn label(l: &LaneOutcome, repeated: bool) -> String {
    let prompt = l
        .reply
        .prompt
        .as_ref()
        .map_or("no prompt".to_string(), |p| p.describe());
    let model = l.reply.response_model.as_deref().unwrap_or(&l.reply.model);
    let repeat = if repeated {
        format!(" · run {}", l.repeat)
    } else {
        String::new()
    };
    text::sanitize(&format!("lane {} · {prompt} · {model}{repeat}", l.lane))
}

fn table(lanes: &[LaneOutcome]) -> String {
    let header = [
        "LANE",
        "RUN",
        "PROMPT",
        "MODEL",
        "FIRST TOKEN",
        "TOTAL",
        "OUT",
        "COST",
        "STATUS",
    ];
    let rows: Vec<Vec<String>> = lanes
        .iter()
        .map(|l| {
            let r = &l.reply;
            let out = match (r.usage.output_tokens, r.output_estimated) {
                (Some(n), true) => format!("~{n}"),
                (Some(n), false) => n.to_string(),
                (None, _) => "-".into(),
            };
            let status = match (&r.stop_reason, &r.error) {
                (Some(reason), _) => reason.clone(),
                (None, Some(e)) => e.kind.clone(),
                (None, None) => "-".into(),
            };
            vec![
                l.lane.to_string(),
                l.repeat.to_string(),
                r.prompt
                    .as_ref()
                    .map_or("-".to_string(), |p| p.as_reference()),
                r.response_model.clone().unwrap_or_else(|| r.model.clone()),
                r.time_to_first_token_ms
                    .map_or("-".into(), |ms| format!("{:.2}s", ms as f64 / 1000.0)),
                format!("{:.2}s", r.total_ms as f64 / 1000.0),
                out,
                r.cost.to_string(),
                status,
            ]
            .into_iter()
            .map(|cell| text::sanitize(&cell))
            .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|row| text::width(&row[c]))
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - text::width(cell))))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut s = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        s.push_str(&line(row));
    }
    s
}

/// Which lane was fastest to the first token, cheapest, shortest and longest (among the
/// runs that produced text): [`verdict`], the compare screen's rule.
fn winners(lanes: &[LaneOutcome]) -> String {
    let repeated = lanes.iter().any(|o| o.repeat > 1);
    let contenders: Vec<Contender> = lanes
        .iter()
        .map(|l| Contender {
            name: if repeated {
                format!("lane {} run {}", l.lane, l.repeat)
            } else {
                format!("lane {}", l.lane)
            },
            answered: !l.reply.text.is_empty(),
            ttft_ms: l.reply.time_to_first_token_ms,
            cost_usd: l.reply.cost.usd(),
            cost_label: l.reply.cost.to_string(),
            output_tokens: l.reply.usage.output_tokens,
        })
        .collect();
    let parts = verdict(&contenders);
    if parts.is_empty() {
        return String::new();
    }
    format!("{}\n", parts.join(" · "))
}

/// For each lane run several times: how many replies are identical to its first, and the
/// spread of their lengths.
fn variation(lanes: &[LaneOutcome]) -> String {
    let mut s = String::new();
    let mut numbers: Vec<usize> = lanes.iter().map(|l| l.lane).collect();
    numbers.dedup();
    for n in numbers {
        let runs: Vec<&LaneOutcome> = lanes.iter().filter(|l| l.lane == n).collect();
        let Some(first) = runs.first() else {
            continue;
        };
        let identical = runs
            .iter()
            .filter(|l| l.reply.text == first.reply.text)
            .count();
        let lengths: Vec<u64> = runs
            .iter()
            .filter_map(|l| l.reply.usage.output_tokens)
            .collect();
        let spread = match (lengths.iter().min(), lengths.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => format!("{lo} tok each"),
            (Some(lo), Some(hi)) => format!("{lo}–{hi} tok"),
            _ => "lengths not reported".to_string(),
        };
        s.push_str(&format!(
            "lane {n}: {} runs, {identical} identical to the first, {spread}\n",
            runs.len()
        ));
    }
    s
}

#[cfg(test)]
mod tests;
