//! The variables form (Ctrl-G): the lane's prompt's `{{names}}` and their values.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::prompt::VariablesForm;
use super::{Effect, Mode, Model, StatusTone};

impl Model {
    pub(super) fn open_variables(&mut self) {
        let names = match &self.lane.prompt {
            Some(active) => crate::prompts::variables(&active.text),
            None => Vec::new(),
        };
        if names.is_empty() {
            let what = match &self.lane.prompt {
                Some(a) => format!("{} has no {{{{variables}}}}", a.provenance.name),
                None => "no prompt is active (Ctrl-P picks one)".to_string(),
            };
            self.set_status(StatusTone::Info, what);
            return;
        }
        for name in &names {
            self.lane.vars.entry(name.clone()).or_default();
        }
        self.mode = Mode::Variables(VariablesForm { names, selected: 0 });
    }

    pub(super) fn variables_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Mode::Variables(form) = &mut self.mode else {
            return Vec::new();
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(name) = form.names.get(form.selected).cloned() else {
            self.mode = Mode::Chat;
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc | KeyCode::Enter => self.close_variables(),
            KeyCode::Char('g') if ctrl => self.close_variables(),
            KeyCode::Up | KeyCode::BackTab => {
                form.selected = form.selected.checked_sub(1).unwrap_or(form.names.len() - 1);
            }
            KeyCode::Down | KeyCode::Tab => form.selected = (form.selected + 1) % form.names.len(),
            KeyCode::Backspace => {
                if let Some(v) = self.lane.vars.get_mut(&name) {
                    v.pop();
                }
            }
            KeyCode::Char('u') if ctrl => {
                self.lane.vars.insert(name, String::new());
            }
            KeyCode::Char(c) if !ctrl => {
                self.lane.vars.entry(name).or_default().push(c);
            }
            _ => {}
        }
        Vec::new()
    }

    /// Pasting while the variables form is open fills the selected variable.
    pub(crate) fn paste_into_form(&mut self, pasted: &str) -> bool {
        let Mode::Variables(form) = &self.mode else {
            return false;
        };
        if let Some(name) = form.names.get(form.selected) {
            self.lane
                .vars
                .entry(name.clone())
                .or_default()
                .push_str(&crate::text::sanitize(pasted));
        }
        true
    }
}

impl Model {
    /// Closes the form; a "not sent: Ctrl-G fills …" message it has answered goes with it
    /// (or says what is still missing).
    fn close_variables(&mut self) {
        self.mode = Mode::Chat;
        let stale = self
            .status
            .as_ref()
            .is_some_and(|s| s.text.starts_with("not sent: Ctrl-G fills"));
        if stale {
            self.status = None;
            if let Err(problem) = self.system_prompt() {
                self.set_status(super::StatusTone::Error, problem);
            }
        }
    }
}
