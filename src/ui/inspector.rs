//! The request inspector (Ctrl-L): a table of recent request attempts from the log, and one
//! attempt's full record. Everything shown comes from the database, so it is sanitized.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};

use super::theme::Theme;
use crate::llm::pricing::CostView;
use crate::model::inspector::Inspector;
use crate::model::prompt::Loadable;
use crate::store::report::{format_ms, format_tokens, format_utc_ms};
use crate::store::{RequestRow, RequestStatus};
use crate::text;

/// A row's prompt version as a reference (`NAME@COMMIT` or `NAME@#HASH`), or `-`.
fn prompt_ref(row: &RequestRow) -> String {
    match &row.prompt {
        Some(p) => text::sanitize(&p.reference()),
        None => "-".into(),
    }
}

fn status_text(row: &RequestRow) -> String {
    match (&row.status, &row.error_type) {
        (RequestStatus::Error, Some(kind)) => format!("error: {}", text::sanitize(kind)),
        (status, _) => status.as_str().to_string(),
    }
}

/// Draws the inspector into `area`.
pub fn render(inspector: &Inspector, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let [help_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let filter = match &inspector.prompt_filter {
        Some(name) => format!(" · prompt {} (f clears)", text::sanitize(name)),
        None => " · f filter by prompt".to_string(),
    };
    let help = format!(" Requests · ↑↓ choose · Enter details · r reload{filter} · Esc close");
    super::help_line(&help, theme, frame, help_area);
    let rows = match &inspector.rows {
        Loadable::Ready(rows) => rows,
        Loadable::Loading => {
            frame.render_widget(
                Paragraph::new(Line::styled(" reading the log…", theme.muted)),
                body,
            );
            return;
        }
        Loadable::Failed(e) => {
            frame.render_widget(
                Paragraph::new(Line::styled(format!(" {e}"), theme.error))
                    .wrap(Wrap { trim: true }),
                body,
            );
            return;
        }
    };
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(" no requests logged yet", theme.muted)),
            body,
        );
        return;
    }
    if inspector.detail
        && let Some(row) = rows.get(inspector.selected)
    {
        render_detail(row, inspector.detail_scroll, theme, frame, body);
        return;
    }
    let table_rows = rows.iter().map(|r| {
        let status_style = match r.status {
            RequestStatus::Ok => theme.success,
            RequestStatus::Error | RequestStatus::Interrupted => theme.error,
            RequestStatus::Cancelled | RequestStatus::Pending => theme.muted,
        };
        Row::new(vec![
            // `MM-DD HH:MM:SS`: the year is in the full record.
            Cell::from(
                format_utc_ms(r.started_at_ms)
                    .get(5..)
                    .unwrap_or("")
                    .to_string(),
            ),
            Cell::from(prompt_ref(r)),
            // The model asked for; the answering model is in the full record.
            Cell::from(text::sanitize(&r.gen_ai_request_model)),
            Cell::from(format_tokens(r)),
            Cell::from(format_ms(r.time_to_first_chunk_ms)),
            Cell::from(format_ms(r.duration_ms)),
            Cell::from(match r.cost() {
                CostView::NotReported => "-".to_string(),
                CostView::Unknown => "unknown".to_string(),
                cost => cost.to_string(),
            }),
            Cell::from(status_text(r)).style(status_style),
        ])
    });
    super::selectable_table(
        &[
            "UTC",
            "prompt",
            "model",
            "tokens in/out",
            "TTFT",
            "total",
            "cost",
            "status",
        ],
        table_rows,
        &[
            Constraint::Length(14),
            Constraint::Fill(1),
            Constraint::Length(17),
            Constraint::Length(16),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(19),
        ],
        inspector.selected,
        theme,
        frame,
        body,
    );
}

fn render_detail(
    row: &RequestRow,
    scroll: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let opt = |v: Option<u64>| v.map_or("not reported".to_string(), text::thousands);
    let mut fields: Vec<(&str, String)> = vec![
        ("log id", row.id.0.to_string()),
        ("started (UTC)", format_utc_ms(row.started_at_ms)),
        ("status", status_text(row)),
        (
            "attempt",
            format!("{} (retries before: {})", row.attempt, row.retry_count),
        ),
        ("gen_ai.provider.name", row.gen_ai_provider_name.clone()),
        ("gen_ai.request.model", row.gen_ai_request_model.clone()),
        (
            "gen_ai.response.model",
            row.gen_ai_response_model
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "gen_ai.response.id",
            row.gen_ai_response_id.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "provider request-id",
            row.provider_request_id
                .clone()
                .unwrap_or_else(|| "-".into()),
        ),
        ("prompt", prompt_ref(row)),
        ("input tokens", opt(row.gen_ai_usage_input_tokens)),
        ("output tokens", opt(row.gen_ai_usage_output_tokens)),
        (
            "cache write tokens",
            opt(row.gen_ai_usage_cache_creation_input_tokens),
        ),
        (
            "  of which 1h TTL",
            opt(row.usage_cache_creation_1h_input_tokens),
        ),
        (
            "cache read tokens",
            opt(row.gen_ai_usage_cache_read_input_tokens),
        ),
        ("time to first chunk", format_ms(row.time_to_first_chunk_ms)),
        ("duration", format_ms(row.duration_ms)),
        ("cost", row.cost().to_string()),
        (
            "finish reasons",
            if row.gen_ai_response_finish_reasons.is_empty() {
                "-".into()
            } else {
                row.gen_ai_response_finish_reasons.join(", ")
            },
        ),
    ];
    if let Some(params) = &row.request_params {
        fields.push((
            "request params",
            serde_json::to_string(params).unwrap_or_default(),
        ));
    }
    if let Some(kind) = &row.error_type {
        fields.push(("error type", kind.clone()));
    }
    if let Some(message) = &row.error_message {
        fields.push(("error message", message.clone()));
    }
    let headers = serde_json::to_string(&row.ratelimit_headers).unwrap_or_default();
    if headers != "{}" && headers != "[]" && !headers.is_empty() {
        fields.push(("rate-limit headers", headers));
    }
    let lines: Vec<Line<'static>> = fields
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                ratatui::text::Span::styled(format!(" {k:<22}"), theme.muted),
                ratatui::text::Span::raw(text::sanitize(&v)),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(theme.border)
                    .title(Line::styled(" request (Enter/Esc back) ", theme.muted)),
            )
            .wrap(Wrap { trim: false })
            .scroll((scroll.min(u16::MAX as usize) as u16, 0)),
        area,
    );
}
