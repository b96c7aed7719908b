//! The request inspector (F2, Alt-I): a table of recent request attempts from the log, and one
//! attempt's record: what it sent (system text, messages, parameters), the raw reply, and its
//! log row. Everything shown comes from the database, so it is sanitized; the reply is shown
//! as stored, never rendered as Markdown.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};

use super::theme::Theme;
use super::view::Scroller;
use crate::llm::Role;
use crate::llm::pricing::CostView;
use crate::model::inspector::{Detail, Inspector, SentMessage, SystemText};
use crate::model::prompt::Loadable;
use crate::store::report::{format_ms, format_tokens, format_utc_ms};
use crate::store::{MessageState, RequestRow, RequestStatus};
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
pub fn render(
    inspector: &Inspector,
    scroll: &mut Scroller,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let [help_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let filter = match &inspector.prompt_filter {
        Some(name) => format!(" · prompt {} (f clears)", text::sanitize(name)),
        None => " · f filter by prompt".to_string(),
    };
    let help = match inspector.detail_row() {
        Some(row) => format!(
            " Request {} · ↑↓ PgUp/PgDn Home/End scroll · r reload · Esc back · q close",
            row.id.0
        ),
        None => format!(" Requests · ↑↓ choose · Enter details · r reload{filter} · Esc close"),
    };
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
    if let (Some(detail), Some(row)) = (&inspector.detail, inspector.detail_row()) {
        render_detail(row, detail, scroll, theme, frame, body);
        return;
    }
    let table_rows = rows.iter().map(|r| {
        let status_style = match r.status {
            RequestStatus::Ok => theme.success,
            RequestStatus::Error | RequestStatus::Interrupted => theme.error,
            RequestStatus::Cancelled | RequestStatus::Pending => theme.muted,
        };
        Row::new(vec![
            // The number reply headers, the panel and `promptdeck log` show.
            Cell::from(format!("#{}", r.id.0)),
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
            "id",
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
            Constraint::Length(5),
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

/// Width of the field names in the record.
const FIELD_COLUMNS: usize = 22;

/// One logical line of the record: a lead (a margin, or a field's name) and what follows
/// it, wrapped under itself so that a long value keeps its column.
struct RecordLine {
    lead: StyledSpan<Style>,
    rest: Vec<StyledSpan<Style>>,
}

/// The record as logical lines (before wrapping), built from the row and what it sent.
struct Record {
    lines: Vec<RecordLine>,
}

use crate::text::StyledSpan;

impl Record {
    fn span(style: Style, text: impl Into<String>) -> StyledSpan<Style> {
        StyledSpan {
            style,
            text: text.into(),
        }
    }

    fn blank(&mut self) {
        self.push(Style::default(), Vec::new());
    }

    /// A line after the one-column margin.
    fn push(&mut self, style: Style, rest: Vec<StyledSpan<Style>>) {
        self.lines.push(RecordLine {
            lead: Self::span(style, " "),
            rest,
        });
    }

    fn heading(&mut self, theme: &Theme, title: &str, note: Option<(Style, String)>) {
        if !self.lines.is_empty() {
            self.blank();
        }
        let mut line = vec![Self::span(theme.heading, title)];
        if let Some((style, note)) = note {
            line.push(Self::span(style, format!("  {note}")));
        }
        self.push(theme.heading, line);
    }

    fn field(&mut self, theme: &Theme, name: &str, value: &str) {
        self.lines.push(RecordLine {
            lead: Self::span(theme.muted, format!(" {name:<FIELD_COLUMNS$}")),
            rest: vec![Self::span(theme.normal, text::sanitize(value))],
        });
    }

    /// Stored text, sanitized, line by line, kept verbatim (no Markdown).
    fn body(&mut self, style: Style, raw: &str) {
        let clean = text::sanitize(raw);
        if clean.is_empty() {
            return;
        }
        for line in clean.split('\n') {
            self.push(style, vec![Self::span(style, line)]);
        }
    }

    fn note(&mut self, theme: &Theme, text: &str) {
        self.push(theme.muted, vec![Self::span(theme.muted, text)]);
    }

    fn message(&mut self, theme: &Theme, m: &SentMessage) {
        let (role, style) = match m.role {
            Role::User => ("user", theme.user),
            Role::Assistant => ("assistant", theme.accent),
        };
        let mut header = vec![Self::span(style, format!("▌{role}"))];
        if m.state != MessageState::Complete {
            header.push(Self::span(
                theme.warning,
                format!(" ({})", m.state.as_str()),
            ));
        }
        self.push(style, header);
        self.body(theme.normal, &m.text);
        if m.text.trim().is_empty() {
            self.note(theme, "(empty)");
        }
    }
}

fn opt_text(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// The record's logical lines: parameters, system text, messages, reply, then the log row.
fn record(row: &RequestRow, detail: &Detail, theme: &Theme) -> Record {
    let mut r = Record { lines: Vec::new() };
    let params = row.request_params.as_ref();
    r.heading(theme, "Parameters", None);
    r.field(theme, "model requested", &row.gen_ai_request_model);
    r.field(
        theme,
        "model answered",
        &opt_text(&row.gen_ai_response_model),
    );
    let max_tokens = params
        .map(|p| p.max_tokens)
        .or(row.gen_ai_request_max_tokens);
    r.field(
        theme,
        "max_tokens",
        &max_tokens.map_or("-".into(), |n| text::thousands(u64::from(n))),
    );
    let temperature = params
        .and_then(|p| p.temperature.map(f64::from))
        .or(row.gen_ai_request_temperature);
    r.field(
        theme,
        "temperature",
        &temperature.map_or("provider default".into(), |t| format!("{t}")),
    );
    r.field(theme, "prompt", &prompt_ref(row));
    if let Some(p) = &row.prompt {
        r.field(theme, "content hash", &p.content_hash);
    }
    if let Some(vars) = params.map(|p| &p.variables).filter(|v| !v.is_empty()) {
        for (i, (name, value)) in vars.iter().enumerate() {
            let label = if i == 0 { "variables" } else { "" };
            r.field(theme, label, &format!("{name} = {value}"));
        }
    }
    r.field(
        theme,
        "attempt",
        &format!("{} (retries before: {})", row.attempt, row.retry_count),
    );
    if let Some(id) = &row.compare_id {
        r.field(theme, "compare", id);
    }

    match &detail.sent {
        Loadable::Loading => {
            r.heading(theme, "System", None);
            r.note(theme, "reading what was sent…");
        }
        Loadable::Failed(e) => {
            r.heading(theme, "System", None);
            r.push(theme.error, vec![Record::span(theme.error, e.clone())]);
        }
        Loadable::Ready(sent) => {
            match &sent.system {
                SystemText::None => {
                    r.heading(theme, "System", None);
                    r.note(theme, "no system prompt");
                }
                SystemText::Sent(text) => {
                    let filled = params.is_some_and(|p| !p.variables.is_empty());
                    let note = filled.then(|| (theme.muted, "variables filled".to_string()));
                    r.heading(theme, "System", note);
                    r.body(theme.normal, text);
                }
                SystemText::NotStored => {
                    r.heading(theme, "System", None);
                    r.note(
                        theme,
                        "the text of this prompt version is not in the database",
                    );
                }
                SystemText::Unfilled { text, missing } => {
                    let note = format!("as stored: no logged value for {}", missing.join(", "));
                    r.heading(theme, "System", Some((theme.warning, note)));
                    r.body(theme.normal, text);
                }
            }
            r.heading(
                theme,
                "Messages",
                Some((theme.muted, format!("{} sent", sent.messages.len()))),
            );
            if sent.messages.is_empty() {
                r.note(theme, "not stored (the request belongs to no conversation)");
            }
            for m in &sent.messages {
                r.message(theme, m);
            }
            r.heading(theme, "Reply", Some((theme.muted, "raw, as stored".into())));
            match &sent.reply {
                Some(reply) => r.message(theme, reply),
                None => r.note(theme, "no reply stored for this attempt"),
            }
        }
    }

    let opt = |v: Option<u64>| v.map_or("not reported".to_string(), text::thousands);
    r.heading(theme, "Log row", None);
    let mut fields: Vec<(&str, String)> = vec![
        ("log id", row.id.0.to_string()),
        ("started (UTC)", format_utc_ms(row.started_at_ms)),
        ("status", status_text(row)),
        ("gen_ai.provider.name", row.gen_ai_provider_name.clone()),
        ("gen_ai.response.id", opt_text(&row.gen_ai_response_id)),
        ("provider request-id", opt_text(&row.provider_request_id)),
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
    for (name, value) in fields {
        r.field(theme, name, &value);
    }
    r
}

/// Draws one attempt's record, from its scroll position.
fn render_detail(
    row: &RequestRow,
    detail: &Detail,
    scroll: &mut Scroller,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
) {
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border)
        .title(Line::styled(
            " what was sent, and the reply as stored ",
            theme.muted,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width).max(1);
    let rows: Vec<Line<'static>> = record(row, detail, theme)
        .lines
        .into_iter()
        .flat_map(|line| wrap_under_lead(line, width))
        .collect();
    let top = scroll.settle(rows.len(), usize::from(inner.height), |_| None);
    let visible: Vec<Line<'static>> = rows
        .into_iter()
        .skip(top)
        .take(usize::from(inner.height))
        .collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

/// `line` wrapped to `width` columns, its continuation rows indented under the end of its
/// lead (when that leaves a useful width; else wrapped as plain text).
fn wrap_under_lead(line: RecordLine, width: usize) -> Vec<Line<'static>> {
    let to_line = |spans: Vec<StyledSpan<Style>>| {
        Line::from(
            spans
                .into_iter()
                .map(|s| Span::styled(s.text, s.style))
                .collect::<Vec<_>>(),
        )
    };
    let lead_columns = text::width(&line.lead.text);
    if width < lead_columns + 16 {
        let mut all = vec![line.lead];
        all.extend(line.rest);
        return text::wrap(&all, width).into_iter().map(to_line).collect();
    }
    let pad = " ".repeat(lead_columns);
    text::wrap(&line.rest, width - lead_columns)
        .into_iter()
        .enumerate()
        .map(|(i, mut spans)| {
            let lead = if i == 0 {
                line.lead.clone()
            } else {
                Record::span(line.lead.style, pad.clone())
            };
            spans.insert(0, lead);
            to_line(spans)
        })
        .collect()
}
