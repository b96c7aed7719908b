//! The model switcher (Alt-M): choose which model answers the next message without leaving
//! the chat.
//!
//! The list is the endpoint's own (`GET /v1/models`), loaded once per session off the event
//! loop and kept ([`Catalog`]); the models the user used this session and the configured
//! fallback chain come first, because those are the ones people switch between. Typing
//! filters (every word must appear, case-insensitive). A name the endpoint does not list — or
//! an endpoint that cannot list at all — is still one Enter away: the typed text itself is
//! offered as the last choice.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Effect, Mode, Model, Status, StatusTone};
use crate::llm::LlmError;
use crate::text;

/// Longest filter kept, in characters (a paste into the filter is cut here).
const FILTER_MAX_CHARS: usize = 200;

/// The endpoint's model list, as far as this session knows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Catalog {
    /// Not asked for yet.
    #[default]
    NotLoaded,
    /// Being fetched.
    Loading,
    /// The endpoint's models, in its order.
    Loaded(Vec<String>),
    /// The endpoint could not list its models; a typed name still works.
    Failed(String),
}

/// Where a choice in the list comes from (shown beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The model the next message goes to now.
    Current,
    /// Used earlier in this session.
    Recent,
    /// In the configured fallback chain.
    Fallback,
    /// Listed by the endpoint.
    Endpoint,
    /// Exactly what the user typed (the endpoint does not list it).
    Typed,
}

impl Origin {
    /// The short tag shown beside a choice.
    pub fn tag(self) -> &'static str {
        match self {
            Origin::Current => "current",
            Origin::Recent => "recent",
            Origin::Fallback => "fallback",
            Origin::Endpoint => "",
            Origin::Typed => "typed",
        }
    }
}

/// One line of the switcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub model: String,
    pub origin: Origin,
}

/// The open switcher: the filter typed so far and the highlighted line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModelSwitcher {
    /// What the user typed.
    pub filter: String,
    /// Index into [`Model::model_choices`].
    pub selected: usize,
}

/// Whether every whitespace-separated word of `filter` appears in `name` (case-insensitive).
fn matches(name: &str, filter: &str) -> bool {
    let name = name.to_lowercase();
    filter
        .split_whitespace()
        .all(|word| name.contains(&word.to_lowercase()))
}

impl Model {
    /// The switcher's lines for `filter`: current, recent and fallback models first, then the
    /// endpoint's, each once; the typed text last when nothing equals it.
    pub fn model_choices(&self, filter: &str) -> Vec<Choice> {
        let mut out: Vec<Choice> = Vec::new();
        let mut push = |model: &str, origin: Origin| {
            if !model.is_empty() && matches(model, filter) && !out.iter().any(|c| c.model == model)
            {
                out.push(Choice {
                    model: model.to_string(),
                    origin,
                });
            }
        };
        push(&self.lane.model, Origin::Current);
        for m in &self.recent_models {
            push(m, Origin::Recent);
        }
        for m in &self.fallback_models {
            push(m, Origin::Fallback);
        }
        if let Catalog::Loaded(models) = &self.catalog {
            for m in models {
                push(m, Origin::Endpoint);
            }
        }
        let typed = filter.trim();
        if !typed.is_empty() && !out.iter().any(|c| c.model == typed) {
            out.push(Choice {
                model: typed.to_string(),
                origin: Origin::Typed,
            });
        }
        out
    }

    /// Opens the switcher; asks for the endpoint's list the first time.
    pub(super) fn open_switcher(&mut self) -> Vec<Effect> {
        self.mode = Mode::Models(ModelSwitcher::default());
        match self.catalog {
            Catalog::NotLoaded => {
                self.catalog = Catalog::Loading;
                vec![Effect::ListModels]
            }
            _ => Vec::new(),
        }
    }

    /// The endpoint's answer to [`Effect::ListModels`].
    pub(super) fn on_models_listed(&mut self, result: Result<Vec<String>, LlmError>) {
        self.catalog = match result {
            Ok(models) => Catalog::Loaded(models.iter().map(|m| text::sanitize(m)).collect()),
            Err(e) => Catalog::Failed(text::sanitize(&e.to_string())),
        };
        if let Mode::Models(switcher) = &self.mode {
            let count = self.model_choices(&switcher.filter).len();
            let selected = switcher.selected.min(count.saturating_sub(1));
            if let Mode::Models(switcher) = &mut self.mode {
                switcher.selected = selected;
            }
        }
    }

    /// A key while the switcher is open.
    pub(super) fn switcher_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Mode::Models(switcher) = &self.mode else {
            return Vec::new();
        };
        let mut switcher = switcher.clone();
        let choices = self.model_choices(&switcher.filter);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.mode = Mode::Chat;
                return Vec::new();
            }
            // Alt-Enter (or Tab): a new lane asks this model, beside the focused one.
            KeyCode::Enter | KeyCode::Tab
                if key.modifiers.contains(KeyModifiers::ALT) || key.code == KeyCode::Tab =>
            {
                if let Some(choice) = choices.get(switcher.selected) {
                    let mut lane = self.lane_like_focused(None);
                    lane.model = choice.model.clone();
                    if !self.add_lane(lane) {
                        return Vec::new();
                    }
                }
                self.mode = Mode::Chat;
                return Vec::new();
            }
            KeyCode::Enter => {
                if let Some(choice) = choices.get(switcher.selected) {
                    let model = choice.model.clone();
                    self.choose_model(model);
                }
                self.mode = Mode::Chat;
                return Vec::new();
            }
            KeyCode::Up => switcher.selected = switcher.selected.saturating_sub(1),
            KeyCode::Down => {
                switcher.selected = (switcher.selected + 1).min(choices.len().saturating_sub(1));
            }
            KeyCode::PageUp => switcher.selected = switcher.selected.saturating_sub(10),
            KeyCode::PageDown => {
                switcher.selected = (switcher.selected + 10).min(choices.len().saturating_sub(1));
            }
            KeyCode::Char('u') if ctrl => {
                switcher.filter.clear();
                switcher.selected = 0;
            }
            KeyCode::Backspace => {
                switcher.filter.pop();
                switcher.selected = 0;
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.type_into_switcher(&mut switcher, &c.to_string());
            }
            _ => {}
        }
        self.mode = Mode::Models(switcher);
        Vec::new()
    }

    /// Pasted or typed text goes into the filter, on one line, bounded.
    pub(super) fn type_into_switcher(&self, switcher: &mut ModelSwitcher, typed: &str) {
        let clean = text::sanitize(typed).replace(['\n', '\t'], " ");
        let room = FILTER_MAX_CHARS.saturating_sub(switcher.filter.chars().count());
        switcher.filter.extend(clean.chars().take(room));
        switcher.selected = 0;
    }

    /// Makes `model` the one the next message goes to.
    fn choose_model(&mut self, model: String) {
        if model == self.lane.model {
            return;
        }
        let previous = std::mem::replace(&mut self.lane.model, model.clone());
        self.recent_models.retain(|m| m != &previous && m != &model);
        self.recent_models.insert(0, previous);
        self.recent_models.truncate(8);
        self.status = Some(Status {
            tone: StatusTone::Info,
            text: format!("model: {model} — the next message goes to it"),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::event::AppEvent;
    use crate::model::{Session, StartKind};

    fn model() -> Model {
        Model::new(Session {
            provider: "anthropic".into(),
            provider_label: None,
            model: "claude-sonnet-5-5".into(),
            max_tokens: 100,
            temperature: None,
            system: None,
            start: StartKind::Configured,
        })
        .with_fallback(vec!["claude-haiku-5-5".into()])
    }

    fn press(m: &mut Model, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        m.update(
            AppEvent::Key(KeyEvent::new(code, modifiers)),
            Instant::now(),
        )
    }

    fn typed(m: &mut Model, text: &str) {
        for c in text.chars() {
            press(m, KeyCode::Char(c), KeyModifiers::NONE);
        }
    }

    fn names(m: &Model, filter: &str) -> Vec<(String, Origin)> {
        m.model_choices(filter)
            .into_iter()
            .map(|c| (c.model, c.origin))
            .collect()
    }

    fn listed() -> Result<Vec<String>, LlmError> {
        Ok([
            "claude-opus-5",
            "claude-sonnet-5-5",
            "claude-haiku-5-5",
            "claude-sonnet-5",
        ]
        .map(String::from)
        .to_vec())
    }

    #[test]
    fn alt_m_opens_the_switcher_and_loads_the_list_once() {
        let mut m = model();
        assert_eq!(
            press(&mut m, KeyCode::Char('m'), KeyModifiers::ALT),
            vec![Effect::ListModels]
        );
        assert_eq!(m.catalog, Catalog::Loading);
        m.update(AppEvent::ModelsListed(listed()), Instant::now());
        press(&mut m, KeyCode::Esc, KeyModifiers::NONE);
        assert_eq!(m.mode, Mode::Chat);
        // Cached for the session: opening again asks nothing.
        assert_eq!(press(&mut m, KeyCode::Char('m'), KeyModifiers::ALT), vec![]);
    }

    #[test]
    fn current_recent_and_fallback_models_come_first_then_the_endpoint_s() {
        let mut m = model();
        m.recent_models = vec!["claude-opus-5".into()];
        m.update(AppEvent::ModelsListed(listed()), Instant::now());
        assert_eq!(
            names(&m, ""),
            vec![
                ("claude-sonnet-5-5".into(), Origin::Current),
                ("claude-opus-5".into(), Origin::Recent),
                ("claude-haiku-5-5".into(), Origin::Fallback),
                ("claude-sonnet-5".into(), Origin::Endpoint),
            ]
        );
        // Every word must appear, in any case; the typed text is offered last.
        assert_eq!(
            names(&m, "SONNET 5"),
            vec![
                ("claude-sonnet-5-5".into(), Origin::Current),
                ("claude-sonnet-5".into(), Origin::Endpoint),
                ("SONNET 5".into(), Origin::Typed),
            ]
        );
    }

    #[test]
    fn choosing_a_model_sends_the_next_message_to_it() {
        let mut m = model();
        press(&mut m, KeyCode::Char('m'), KeyModifiers::ALT);
        m.update(AppEvent::ModelsListed(listed()), Instant::now());
        typed(&mut m, "opus");
        press(&mut m, KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(m.mode, Mode::Chat);
        assert_eq!(m.lane.model, "claude-opus-5");
        assert_eq!(m.recent_models, vec!["claude-sonnet-5-5".to_string()]);
        assert!(
            m.status
                .as_ref()
                .is_some_and(|s| s.text.contains("claude-opus-5"))
        );
        typed(&mut m, "hi");
        let effects = press(&mut m, KeyCode::Enter, KeyModifiers::NONE);
        let [
            Effect::StartRequest { spec, .. },
            Effect::ScheduleTick { .. },
        ] = effects.as_slice()
        else {
            panic!("expected a request, got {effects:?}");
        };
        assert_eq!(spec.request.model, "claude-opus-5");
    }

    #[test]
    fn an_endpoint_that_cannot_list_still_takes_a_typed_name() {
        let mut m = model();
        press(&mut m, KeyCode::Char('m'), KeyModifiers::ALT);
        m.update(
            AppEvent::ModelsListed(Err(LlmError::NotFound {
                message: "no /v1/models here".into(),
            })),
            Instant::now(),
        );
        assert!(matches!(m.catalog, Catalog::Failed(_)));
        typed(&mut m, "my-local-model");
        // The typed name is the only choice that matches; Down cannot move past it.
        press(&mut m, KeyCode::Down, KeyModifiers::NONE);
        press(&mut m, KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(m.lane.model, "my-local-model");
    }

    #[test]
    fn pastes_into_the_filter_are_one_bounded_line_without_controls() {
        let mut m = model();
        press(&mut m, KeyCode::Char('m'), KeyModifiers::ALT);
        m.update(
            AppEvent::Paste(format!("gpt\u{1b}[31m\n5{}", "x".repeat(1_000))),
            Instant::now(),
        );
        let Mode::Models(switcher) = &m.mode else {
            panic!("still open");
        };
        assert!(
            switcher.filter.starts_with("gpt 5x"),
            "{:?}",
            switcher.filter
        );
        assert_eq!(switcher.filter.chars().count(), FILTER_MAX_CHARS);
        assert_eq!(m.composer_text(), "", "nothing reached the composer");
    }
}
