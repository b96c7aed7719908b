//! The request inspector (F2, Alt-I): recent request attempts from the SQLite log, newest
//! first, filterable by prompt; Enter opens one attempt's record: its log row, and what it
//! sent and got back (system text with its variables filled, the messages, the raw reply),
//! read off the UI thread for that row only.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::prompt::Loadable;
use super::{Effect, Mode, Model, ScrollTarget, ScrollTo};
use crate::llm::Role;
use crate::records::{
    HistoryError, LogId, MessageRow, MessageState, RequestContext, RequestParams, RequestRow,
};

/// How many log rows the inspector reads.
pub const INSPECTOR_ROWS: usize = 500;

/// Rows PgUp / PgDn move in the table, and in a record before its first frame.
pub const PAGE_ROWS: usize = 10;

/// The inspector's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspector {
    pub rows: Loadable<Vec<RequestRow>>,
    pub selected: usize,
    /// Only requests made with this prompt.
    pub prompt_filter: Option<String>,
    /// The selected row's record, when open.
    pub detail: Option<Detail>,
}

/// One attempt's record, open over the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    /// The log row shown (answers for another row are stale and ignored).
    pub id: LogId,
    /// What the request sent and got back, read from the database.
    pub sent: Loadable<Sent>,
}

/// What one request sent and got back, ready to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The system text as sent.
    pub system: SystemText,
    /// The conversation's messages up to and including the user message answered, oldest
    /// first.
    pub messages: Vec<SentMessage>,
    /// The reply linked to this attempt, as stored.
    pub reply: Option<SentMessage>,
}

/// One stored message as the record lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub role: Role,
    /// Its stored text, raw (the renderer sanitizes, and never renders Markdown).
    pub text: String,
    /// Where it stood when read (a partial reply is marked).
    pub state: MessageState,
}

impl From<MessageRow> for SentMessage {
    fn from(m: MessageRow) -> SentMessage {
        SentMessage {
            role: m.role,
            text: m.content,
            state: m.state,
        }
    }
}

/// The system text of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum SystemText {
    /// It had none.
    None,
    /// The prompt version's stored text with the request's variables filled (the same
    /// [`crate::prompts::fill`] the chat sends with), or the inline text.
    Sent(String),
    /// The version's text is not in the database (logged before texts were kept).
    NotStored,
    /// The logged values do not fill every `{{variable}}` of the stored text (a log written
    /// before variables were recorded): the text as stored, and the names without a value.
    Unfilled { text: String, missing: Vec<String> },
}

impl Sent {
    /// What `row` sent, from what the database holds for it.
    pub fn of(row: &RequestRow, context: RequestContext) -> Sent {
        let system = match (&row.prompt, context.prompt_text) {
            (None, _) => SystemText::None,
            (Some(_), None) => SystemText::NotStored,
            (Some(_), Some(text)) => {
                let empty = Default::default();
                let values = row
                    .request_params
                    .as_ref()
                    .map_or(&empty, |p: &RequestParams| &p.variables);
                match crate::prompts::fill(&text, values) {
                    Ok((filled, _)) => SystemText::Sent(filled),
                    Err(missing) => SystemText::Unfilled {
                        text,
                        missing: missing.0,
                    },
                }
            }
        };
        Sent {
            system,
            messages: context
                .messages
                .into_iter()
                .map(SentMessage::from)
                .collect(),
            reply: context.reply.map(SentMessage::from),
        }
    }
}

impl Inspector {
    /// The row the record is open on, if it is still among the rows.
    pub fn detail_row(&self) -> Option<&RequestRow> {
        let (Loadable::Ready(rows), Some(detail)) = (&self.rows, &self.detail) else {
            return None;
        };
        rows.iter().find(|r| r.id == detail.id)
    }

    fn selected_row(&self) -> Option<&RequestRow> {
        match &self.rows {
            Loadable::Ready(rows) => rows.get(self.selected),
            _ => None,
        }
    }

    fn reload(&self) -> Effect {
        Effect::LoadRequestLog {
            prompt_name: self.prompt_filter.clone(),
            limit: INSPECTOR_ROWS,
        }
    }
}

impl Detail {
    /// Opens the record of row `id`, waiting for what it sent.
    fn open(id: LogId) -> Detail {
        Detail {
            id,
            sent: Loadable::Loading,
        }
    }
}

/// Moves the open record's view (the screen keeps where it is: the rows depend on the width).
fn detail_scroll(to: ScrollTo) -> Vec<Effect> {
    vec![Effect::Scroll {
        target: ScrollTarget::Detail,
        to,
    }]
}

impl Model {
    /// Opens the inspector and asks for the log.
    pub(super) fn open_inspector(&mut self) -> Vec<Effect> {
        let inspector = Inspector {
            rows: Loadable::Loading,
            selected: 0,
            prompt_filter: None,
            detail: None,
        };
        let effects = vec![inspector.reload()];
        self.mode = Mode::Inspector(inspector);
        effects
    }

    /// The log rows arrived. An open record stays on its row (found again by id), or closes
    /// when the row is gone.
    pub(super) fn on_request_log(
        &mut self,
        result: Result<Vec<RequestRow>, HistoryError>,
    ) -> Vec<Effect> {
        if let Mode::Inspector(inspector) = &mut self.mode {
            inspector.rows = match result {
                Ok(rows) => {
                    let open = inspector
                        .detail
                        .as_ref()
                        .and_then(|d| rows.iter().position(|r| r.id == d.id));
                    match open {
                        Some(index) => inspector.selected = index,
                        None => inspector.detail = None,
                    }
                    inspector.selected = inspector.selected.min(rows.len().saturating_sub(1));
                    Loadable::Ready(rows)
                }
                Err(e) => {
                    inspector.detail = None;
                    Loadable::Failed(crate::text::sanitize(&e.to_string()))
                }
            };
        }
        Vec::new()
    }

    /// What log row `id` sent arrived; ignored unless its record is the one open.
    pub(super) fn on_request_context(
        &mut self,
        id: LogId,
        result: Result<RequestContext, HistoryError>,
    ) -> Vec<Effect> {
        let Mode::Inspector(inspector) = &mut self.mode else {
            return Vec::new();
        };
        let Some(row) = inspector.detail_row().filter(|r| r.id == id) else {
            return Vec::new();
        };
        let sent = match result {
            Ok(context) => Loadable::Ready(Sent::of(row, context)),
            Err(e) => Loadable::Failed(crate::text::sanitize(&e.to_string())),
        };
        if let Some(detail) = &mut inspector.detail {
            detail.sent = sent;
        }
        Vec::new()
    }

    pub(super) fn inspector_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Mode::Inspector(inspector) = &mut self.mode else {
            return Vec::new();
        };
        if let Some(detail) = &mut inspector.detail {
            match key.code {
                KeyCode::Esc | KeyCode::Enter => inspector.detail = None,
                KeyCode::Char('q') => self.mode = Mode::Chat,
                KeyCode::Up | KeyCode::Char('k') => return detail_scroll(ScrollTo::Rows(-1)),
                KeyCode::Down | KeyCode::Char('j') => return detail_scroll(ScrollTo::Rows(1)),
                KeyCode::PageUp => return detail_scroll(ScrollTo::Pages(-1)),
                KeyCode::PageDown => return detail_scroll(ScrollTo::Pages(1)),
                KeyCode::Home => return detail_scroll(ScrollTo::Top),
                KeyCode::End => return detail_scroll(ScrollTo::Bottom),
                KeyCode::Char('r') => {
                    // Read the row (a reply may have ended since) and what it sent again.
                    detail.sent = Loadable::Loading;
                    let id = detail.id;
                    return vec![inspector.reload(), Effect::LoadRequestContext { id }];
                }
                _ => {}
            }
            return Vec::new();
        }
        let count = match &inspector.rows {
            Loadable::Ready(rows) => rows.len(),
            _ => 0,
        };
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Chat,
            KeyCode::Char('l') if ctrl => self.mode = Mode::Chat,
            KeyCode::Up | KeyCode::Char('k') => {
                inspector.selected = inspector.selected.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') => {
                inspector.selected = (inspector.selected + 1).min(count.saturating_sub(1));
            }
            KeyCode::PageUp => inspector.selected = inspector.selected.saturating_sub(PAGE_ROWS),
            KeyCode::PageDown => {
                inspector.selected = (inspector.selected + PAGE_ROWS).min(count.saturating_sub(1));
            }
            KeyCode::Home => inspector.selected = 0,
            KeyCode::End => inspector.selected = count.saturating_sub(1),
            KeyCode::Enter => {
                if let Some(id) = inspector.selected_row().map(|r| r.id) {
                    inspector.detail = Some(Detail::open(id));
                    let mut effects = detail_scroll(ScrollTo::Top);
                    effects.push(Effect::LoadRequestContext { id });
                    return effects;
                }
            }
            KeyCode::Char('f') => {
                // Filter by the selected row's prompt; again to clear.
                let selected_prompt = inspector
                    .selected_row()
                    .and_then(|r| r.prompt.as_ref())
                    .map(|p| p.name.clone());
                inspector.prompt_filter = match inspector.prompt_filter {
                    Some(_) => None,
                    None => selected_prompt,
                };
                inspector.selected = 0;
                inspector.rows = Loadable::Loading;
                return vec![inspector.reload()];
            }
            KeyCode::Char('r') => return vec![inspector.reload()],
            _ => {}
        }
        Vec::new()
    }
}

#[cfg(test)]
#[path = "inspector_tests.rs"]
mod tests;
