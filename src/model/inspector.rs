//! The request inspector (Ctrl-L): recent request attempts from the SQLite log, newest first,
//! filterable by prompt; Enter shows one attempt's full record.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::prompt::Loadable;
use super::{Effect, Mode, Model};
use crate::records::{HistoryError, RequestRow};

/// How many log rows the inspector reads.
pub const INSPECTOR_ROWS: usize = 500;

/// The inspector's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspector {
    pub rows: Loadable<Vec<RequestRow>>,
    pub selected: usize,
    /// Only requests made with this prompt.
    pub prompt_filter: Option<String>,
    /// Showing the selected row's full record.
    pub detail: bool,
    /// First line of the detail view shown.
    pub detail_scroll: usize,
}

impl Model {
    /// Opens the inspector and asks for the log.
    pub(super) fn open_inspector(&mut self) -> Vec<Effect> {
        self.mode = Mode::Inspector(Inspector {
            rows: Loadable::Loading,
            selected: 0,
            prompt_filter: None,
            detail: false,
            detail_scroll: 0,
        });
        vec![Effect::LoadRequestLog {
            prompt_name: None,
            limit: INSPECTOR_ROWS,
        }]
    }

    /// The log rows arrived.
    pub(super) fn on_request_log(
        &mut self,
        result: Result<Vec<RequestRow>, HistoryError>,
    ) -> Vec<Effect> {
        if let Mode::Inspector(inspector) = &mut self.mode {
            inspector.rows = match result {
                Ok(rows) => {
                    inspector.selected = inspector.selected.min(rows.len().saturating_sub(1));
                    Loadable::Ready(rows)
                }
                Err(e) => Loadable::Failed(crate::text::sanitize(&e.to_string())),
            };
        }
        Vec::new()
    }

    pub(super) fn inspector_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Mode::Inspector(inspector) = &mut self.mode else {
            return Vec::new();
        };
        let count = match &inspector.rows {
            Loadable::Ready(rows) => rows.len(),
            _ => 0,
        };
        let reload = |inspector: &Inspector| {
            vec![Effect::LoadRequestLog {
                prompt_name: inspector.prompt_filter.clone(),
                limit: INSPECTOR_ROWS,
            }]
        };
        match key.code {
            KeyCode::Esc if inspector.detail => inspector.detail = false,
            KeyCode::Esc | KeyCode::Char('q') => self.mode = Mode::Chat,
            KeyCode::Char('l') if ctrl => self.mode = Mode::Chat,
            KeyCode::Up | KeyCode::Char('k') if inspector.detail => {
                inspector.detail_scroll = inspector.detail_scroll.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') if inspector.detail => inspector.detail_scroll += 1,
            KeyCode::Up | KeyCode::Char('k') => {
                inspector.selected = inspector.selected.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') => {
                inspector.selected = (inspector.selected + 1).min(count.saturating_sub(1));
            }
            KeyCode::PageUp => inspector.selected = inspector.selected.saturating_sub(10),
            KeyCode::PageDown => {
                inspector.selected = (inspector.selected + 10).min(count.saturating_sub(1));
            }
            KeyCode::Home => inspector.selected = 0,
            KeyCode::End => inspector.selected = count.saturating_sub(1),
            KeyCode::Enter => {
                inspector.detail = !inspector.detail;
                inspector.detail_scroll = 0;
            }
            KeyCode::Char('f') => {
                // Filter by the selected row's prompt; again to clear.
                let selected_prompt = match &inspector.rows {
                    Loadable::Ready(rows) => rows
                        .get(inspector.selected)
                        .and_then(|r| r.prompt.as_ref())
                        .map(|p| p.name.clone()),
                    _ => None,
                };
                inspector.prompt_filter = match inspector.prompt_filter {
                    Some(_) => None,
                    None => selected_prompt,
                };
                inspector.selected = 0;
                inspector.rows = Loadable::Loading;
                return reload(inspector);
            }
            KeyCode::Char('r') => return reload(inspector),
            _ => {}
        }
        Vec::new()
    }
}
