//! The usage panel: what the selected request cost and how fast it was, and the session's
//! totals. Numbers the server did not report say "not reported"; estimates carry a `~`.

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::symbols;
use ratatui::text::{Line, Span};

use super::theme::{Theme, Tone};
use super::transcript::seconds;
use crate::limit::format_countdown;
use crate::llm::pricing::{CostView, PriceTable, format_usd};
use crate::model::Model;
use crate::model::transcript::{Measure, Reply, ReplyState};
use crate::text::{self, thousands};

/// Width of the panel, borders included.
pub const PANEL_WIDTH_COLUMNS: u16 = 36;

fn tokens(v: Option<u64>, live: bool) -> (Tone, String) {
    match v {
        Some(n) => (Tone::Normal, thousands(n)),
        None if live => (Tone::Muted, "…".into()),
        None => (Tone::Muted, "not reported".into()),
    }
}

fn row(label: &str, value: (Tone, String), theme: &Theme, width: usize) -> Line<'static> {
    let label = format!(" {label:<12}");
    let (tone, value) = value;
    let value = text::truncate(&value, width.saturating_sub(label.len()));
    Line::from(vec![
        Span::styled(label, theme.muted),
        Span::styled(value, theme.style(tone)),
    ])
}

fn reply_rows(
    reply: &Reply,
    prices: &PriceTable,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let model = reply.answered_model().unwrap_or(reply.model());
    lines.push(row(
        "model",
        (Tone::Normal, text::sanitize(model)),
        theme,
        width,
    ));
    let prompt = match &reply.prompt {
        Some(p) => (Tone::Code, text::sanitize(&p.as_reference())),
        None => (Tone::Muted, "none".to_string()),
    };
    lines.push(row("prompt", prompt, theme, width));
    let live = reply.is_live();
    let u = reply.shown_usage();
    lines.push(row("input", tokens(u.input_tokens, live), theme, width));
    let output = match reply.shown_output() {
        (n, Measure::Reported) => (Tone::Normal, thousands(n)),
        (_, Measure::Estimated) if !live && !reply.output_reported() => (
            Tone::Muted,
            format!("not reported (~{})", thousands(reply.output_tokens().0)),
        ),
        (n, Measure::Estimated) => (Tone::Normal, format!("~{}", thousands(n))),
    };
    lines.push(row("output", output, theme, width));
    lines.push(row(
        "cache write",
        tokens(u.cache_creation_input_tokens, live),
        theme,
        width,
    ));
    lines.push(row(
        "cache read",
        tokens(u.cache_read_input_tokens, live),
        theme,
        width,
    ));
    let ttft = match reply.ttft() {
        Some(d) => (Tone::Normal, seconds(d)),
        None if live => (Tone::Muted, "waiting…".into()),
        None => (Tone::Muted, "-".into()),
    };
    lines.push(row("first token", ttft, theme, width));
    let elapsed = seconds(reply.shown_elapsed());
    lines.push(row(
        if live { "elapsed" } else { "latency" },
        (Tone::Normal, elapsed),
        theme,
        width,
    ));
    let speed = match reply.shown_speed() {
        Some((tps, Measure::Reported)) => (Tone::Normal, format!("{tps:.1} tok/s")),
        // While it streams the rate is an estimate: whole tokens a second, so that the
        // number does not change at every refresh.
        Some((tps, Measure::Estimated)) => (Tone::Normal, format!("~{tps:.0} tok/s")),
        None => (Tone::Muted, "-".into()),
    };
    lines.push(row("speed", speed, theme, width));
    let cost = reply.shown_cost();
    let cost_tone = match cost {
        CostView::Known(_) => Tone::Normal,
        CostView::Estimate(_) => Tone::Warning,
        CostView::Unknown | CostView::NotReported => Tone::Muted,
    };
    let finished = matches!(reply.state, ReplyState::Finished(_));
    let cost_text = if live && cost == CostView::NotReported {
        "…".to_string()
    } else if !finished && cost.usd().is_some() {
        // Streaming, cancelled or failed: the server's final counts never came.
        format!("~{}", cost.to_string().trim_start_matches('~'))
    } else {
        cost.to_string()
    };
    lines.push(row("cost", (cost_tone, cost_text), theme, width));
    let source = match prices.source(reply.priced_model()) {
        Some(source) => (Tone::Muted, source.label().to_string()),
        None => (Tone::Muted, "nobody: add [prices]".to_string()),
    };
    lines.push(row("priced by", source, theme, width));
    let status = match &reply.state {
        ReplyState::Waiting => (Tone::Muted, "waiting".to_string()),
        ReplyState::Streaming => (Tone::Accent, "streaming".to_string()),
        ReplyState::Finished(r) => (Tone::Success, r.as_str().to_string()),
        ReplyState::Cancelled => (Tone::Muted, "cancelled".to_string()),
        ReplyState::Failed(e) => (Tone::Error, e.kind().to_string()),
    };
    lines.push(row("status", status, theme, width));
    lines
}

/// The server's `anthropic-ratelimit-*` headers as `requests  41/50 · reset 12:03:04`
/// rows: one per kind (requests, tokens, input-tokens, output-tokens).
fn server_limits(headers: &[(String, String)]) -> Vec<(String, String)> {
    let get = |name: String| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = Vec::new();
    for kind in ["requests", "tokens", "input-tokens", "output-tokens"] {
        let limit = get(format!("anthropic-ratelimit-{kind}-limit"));
        let remaining = get(format!("anthropic-ratelimit-{kind}-remaining"));
        let reset = get(format!("anthropic-ratelimit-{kind}-reset"));
        if limit.is_none() && remaining.is_none() {
            continue;
        }
        let mut value = format!(
            "{}/{}",
            remaining.as_deref().unwrap_or("?"),
            limit.as_deref().unwrap_or("?")
        );
        if let Some(reset) = reset {
            // RFC 3339: show the time of day only.
            let time = reset.get(11..19).unwrap_or(&reset).to_string();
            value.push_str(&format!(" ↻{time}"));
        }
        out.push((kind.replace("-tokens", " tok"), value));
    }
    out
}

/// Draws the panel into `area`.
pub fn render(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    // The left border, drawn by hand: a `Block` restyles every cell of the panel first, a
    // third of the panel's cost on every frame.
    let buffer = frame.buffer_mut();
    for y in area.top()..area.bottom() {
        if let Some(cell) = buffer.cell_mut((area.x, y)) {
            cell.set_symbol(symbols::line::VERTICAL)
                .set_style(theme.border);
        }
    }
    let inner = Rect {
        x: area.x.saturating_add(1),
        width: area.width.saturating_sub(1),
        ..area
    };
    let width = inner.width as usize;
    let now = model.now.unwrap_or_else(Instant::now);
    let mut lines = Vec::new();
    match model.panel_reply() {
        Some(reply) => {
            let which = if model.lane.selected_reply.is_some() {
                "selected, Alt-↑↓"
            } else {
                "latest"
            };
            let number = reply.number().map(|n| format!(" {n}")).unwrap_or_default();
            lines.push(Line::styled(
                format!(" Request{number} ({which})"),
                theme.heading,
            ));
            lines.extend(reply_rows(reply, &model.prices, theme, width));
        }
        None => {
            lines.push(Line::styled(" Request", theme.heading));
            lines.push(Line::styled(" none yet", theme.muted));
        }
    }
    lines.push(Line::default());
    let t = &model.lane.totals;
    lines.push(Line::styled(" Session", theme.heading));
    lines.push(row(
        "requests",
        (Tone::Normal, t.requests.to_string()),
        theme,
        width,
    ));
    lines.push(row(
        "input",
        (Tone::Normal, thousands(t.input_tokens)),
        theme,
        width,
    ));
    let output = if t.estimated_output > 0 {
        format!("~{}", thousands(t.output_tokens))
    } else {
        thousands(t.output_tokens)
    };
    lines.push(row("output", (Tone::Normal, output), theme, width));
    lines.push(row(
        "cache w/r",
        (
            Tone::Normal,
            format!(
                "{} / {}",
                thousands(t.cache_creation_input_tokens),
                thousands(t.cache_read_input_tokens)
            ),
        ),
        theme,
        width,
    ));
    // The same precision as a request's cost (`<$0.0001`, not `$0.0000`).
    let cost = if t.cost_unknown > 0 {
        (
            Tone::Warning,
            format!("≥{} ({} unpriced)", format_usd(t.cost_usd), t.cost_unknown),
        )
    } else {
        (Tone::Normal, format_usd(t.cost_usd))
    };
    lines.push(row("cost", cost, theme, width));
    if t.unreported > 0 {
        lines.push(row(
            "unreported",
            (Tone::Warning, format!("{} request(s)", t.unreported)),
            theme,
            width,
        ));
    }
    if let Some(reply) = model.panel_reply() {
        let server: Vec<(String, String)> = server_limits(reply.rate_limits());
        if !server.is_empty() {
            lines.push(Line::default());
            lines.push(Line::styled(" Server limits", theme.heading));
            for (what, value) in server {
                lines.push(row(&what, (Tone::Normal, value), theme, width));
            }
        }
    }
    if model.admission.limits.is_some() {
        lines.push(Line::default());
        lines.push(Line::styled(" Rate limit", theme.heading));
        lines.push(row(
            "limiter",
            (Tone::Normal, text::sanitize(&model.admission.describe)),
            theme,
            width,
        ));
        if let Some((quota, now_ms)) = model.admission.quota_at(now) {
            lines.push(row(
                "quota",
                (Tone::Normal, quota.to_string()),
                theme,
                width,
            ));
            // Only a full window has a slot to wait for.
            let left = quota
                .next_free_at_ms
                .map_or(0, |next| next.saturating_sub(now_ms));
            if quota.remaining == 0 && left > 0 {
                lines.push(row(
                    "next slot",
                    (Tone::Normal, format!("in {}", format_countdown(left))),
                    theme,
                    width,
                ));
            }
        }
    }
    super::draw_lines(&lines, frame, inner);
}

/// The panel in one row, for a terminal too narrow for it: the request the panel would show
/// (number, tokens, time to first token, latency, speed, cost), the session's requests and
/// cost, and the local limit's quota. Parts that do not fit are left out from the right.
pub fn render_strip(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let mut parts: Vec<(Tone, String)> = Vec::new();
    if let Some(reply) = model.panel_reply() {
        if let Some(number) = reply.number() {
            parts.push((Tone::Muted, format!(" {number}")));
        }
        let u = reply.shown_usage();
        let input = u.input_tokens.map_or("-".to_string(), thousands);
        let output = match reply.shown_output() {
            (n, Measure::Reported) => thousands(n),
            (n, Measure::Estimated) => format!("~{}", thousands(n)),
        };
        parts.push((Tone::Normal, format!(" in {input} · out {output}")));
        if let Some(ttft) = reply.ttft() {
            parts.push((Tone::Normal, format!(" · first {}", seconds(ttft))));
        }
        parts.push((
            Tone::Normal,
            format!(" · {}", seconds(reply.shown_elapsed())),
        ));
        if let Some((tps, measure)) = reply.shown_speed() {
            let mark = if measure == Measure::Estimated {
                "~"
            } else {
                ""
            };
            parts.push((Tone::Normal, format!(" · {mark}{tps:.0} tok/s")));
        }
        let cost = reply.shown_cost();
        let tone = match cost {
            CostView::Unknown | CostView::NotReported => Tone::Muted,
            _ => Tone::Normal,
        };
        parts.push((tone, format!(" · {cost}")));
    }
    let t = &model.lane.totals;
    if t.requests > 0 {
        let bound = if t.cost_unknown > 0 { "≥" } else { "" };
        parts.push((
            Tone::Muted,
            format!(
                " │ session {} req · {bound}{}",
                t.requests,
                format_usd(t.cost_usd)
            ),
        ));
    }
    let now = model.now.unwrap_or_else(Instant::now);
    if model.admission.limits.is_some()
        && let Some((quota, _)) = model.admission.quota_at(now)
    {
        parts.push((Tone::Muted, format!(" │ {quota}")));
    }
    if parts.is_empty() {
        parts.push((
            Tone::Muted,
            " no request yet · Ctrl-T shows the panel".into(),
        ));
    }
    let width = area.width as usize;
    let mut used = 0;
    let mut spans = Vec::new();
    for (tone, part) in parts {
        let w = text::width(&part);
        if used + w > width {
            break;
        }
        used += w;
        spans.push(Span::styled(part, theme.style(tone)));
    }
    super::draw_lines(&[Line::from(spans)], frame, area);
}
