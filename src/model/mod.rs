//! The pure state machine at the heart of the app.
//!
//! [`Model::update`] takes one [`AppEvent`] and the current time and returns the [`Effect`]s
//! the app must carry out (start a request, abort one, quit). It performs no IO and never reads
//! the clock, so every behaviour a user sees — sending, streaming, cancelling, scrolling,
//! errors — is tested here without a terminal or a network.

pub mod admission;
pub mod branch;
mod chat_keys;
pub mod compare;
mod compare_runs;
pub mod copy;
pub mod draft;
mod held_keys;
pub mod help;
pub mod history;
pub mod inspector;
mod key_map;
pub mod lane;
pub mod picker;
pub mod prompt;
pub mod reply;
mod send;
pub mod switcher;
pub mod timers;
pub mod transcript;
mod variables;

use std::time::Instant;

use crossterm::event::KeyEvent;
use ratatui_textarea::{TextArea, WrapMode};

use crate::event::{AppEvent, RequestId, ResolvePurpose};
use crate::limit::LimitConfig;
use crate::llm::pricing::PriceTable;
use crate::llm::{Message, Role};
use crate::prompts::{Reference, SessionVersions};
use crate::request::RequestSpec;
use crate::text;
use admission::AdmissionState;
use history::ResumeTarget;
use lane::Lane;
pub use lane::SessionTotals;
use prompt::{Picker, PromptState, VariablesForm};
use std::sync::Arc;
pub use transcript::{Entry, Reply, ReplyState, RetryWait, Step, Transcript, TranscriptId};

/// What the app must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run request `spec` (limiter, storing, retries, the log) in a new task whose events are
    /// tagged `id`: `AppEvent::Request`s, then one `AppEvent::RequestEnded`.
    StartRequest {
        id: RequestId,
        spec: Box<RequestSpec>,
    },
    /// List stored conversations, the most recent first, or those whose title or messages
    /// match `filter` (SQLite full-text search; empty: all); answer with
    /// `AppEvent::ConversationsListed` carrying the same `generation` (an answer to an older
    /// filter is ignored).
    LoadConversations {
        filter: String,
        limit: usize,
        generation: u64,
    },
    /// Copy conversation `parent` up to (not including) its user message number
    /// `before_user_message` (0-based) into a new conversation marked as its branch; answer
    /// with `AppEvent::ConversationBranched`.
    BranchConversation {
        parent: crate::records::ConversationId,
        before_user_message: usize,
    },
    /// Hand `text` to the user's editor (`$VISUAL`, `$EDITOR`, else `vi`) on the real
    /// terminal: leave the alternate screen and raw mode, wait for the editor, come back and
    /// redraw; answer with `AppEvent::EditorClosed`.
    EditInEditor { text: String },
    /// Clear the terminal and draw the whole screen again (Ctrl-L).
    Repaint,
    /// Read a stored conversation; answer with `AppEvent::ConversationLoaded`.
    LoadConversation { target: ResumeTarget },
    /// List the prompts directory; answer with `AppEvent::PromptsScanned`.
    ScanPrompts,
    /// Resolve a prompt reference to text; answer with `AppEvent::PromptResolved`.
    ResolvePrompt {
        reference: Reference,
        purpose: ResolvePurpose,
    },
    /// List a prompt's versions (git history, working file, `session` texts); answer with
    /// `AppEvent::VersionsLoaded`.
    LoadVersions {
        name: String,
        session: SessionVersions,
    },
    /// Read the request log, newest first; answer with `AppEvent::RequestLogLoaded`.
    LoadRequestLog {
        prompt_name: Option<String>,
        limit: usize,
    },
    /// Read what log row `id` sent and got back (its prompt text, the messages before it,
    /// its reply); answer with `AppEvent::RequestContextLoaded`.
    LoadRequestContext { id: crate::records::LogId },
    /// List the models the provider's endpoint offers; answer with `AppEvent::ModelsListed`.
    ListModels,
    /// Abort the task of request `id`; dropping its stream closes the HTTP connection.
    CancelRequest { id: RequestId },
    /// Send `AppEvent::Tick` at `at`: something on screen changes by then (a countdown, a
    /// streaming reply's elapsed time). The app keeps only the earliest pending tick; the
    /// model asks again after each tick while it needs more ([`timers`]).
    ScheduleTick { at: Instant },
    /// Keep the composer's `text` as the draft on disk (written atomically; an empty text
    /// removes the file), so that a crash loses at most the last second of typing.
    SaveDraft { text: String },
    /// Put `text` on the clipboard of the user's terminal (OSC 52: works over SSH, and in
    /// tmux with `set-clipboard on`).
    Copy { text: String },
    /// Move a view (a transcript, the help, the inspector's record): the screen knows its
    /// layout and keeps where it is.
    Scroll { target: ScrollTarget, to: ScrollTo },
    /// Restore the terminal and exit.
    Quit,
}

/// Fixed facts about this chat session, decided at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Provider name (`anthropic`, `openai`, `demo`).
    pub provider: String,
    /// A label to show beside every reply (the demo's "demo — not a model").
    pub provider_label: Option<String>,
    /// Model requested.
    pub model: String,
    /// `max_tokens` for every request.
    pub max_tokens: u32,
    /// Sampling temperature, if set.
    pub temperature: Option<f32>,
    /// System prompt sent with every request.
    pub system: Option<String>,
    /// Why the session started as it did, e.g. no provider configured.
    pub start: StartKind,
}

/// How the session came to use its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartKind {
    /// A provider was configured or chosen explicitly.
    Configured,
    /// Nothing was configured: the demo provider runs, and the welcome screen says how to
    /// configure a real one. The string is the config file path to suggest.
    FirstRun { config_path: String },
}

/// A view that scroll keys move. Where a view is scrolled is the screen's to keep (`ui::View`):
/// only it knows how many rows the text takes at the width it is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScrollTarget {
    /// A lane's transcript.
    Transcript(TranscriptId),
    /// The key help overlay.
    Help,
    /// The inspector's record of one request.
    Detail,
}

/// Where a scroll key moves a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrollTo {
    /// By this many rows (negative is up).
    Rows(isize),
    /// By this many pages of what the view shows (negative is up).
    Pages(isize),
    /// To the first row.
    Top,
    /// To the last row; a transcript then follows new text again.
    Bottom,
    /// So that reply `id`'s header is in view (if it is not already).
    Reply(RequestId),
}

/// A short message on the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub tone: StatusTone,
    pub text: String,
}

/// How a status message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTone {
    Info,
    Warning,
    Error,
}

/// The whole state of the chat screen.
#[derive(Debug)]
pub struct Model {
    pub session: Session,
    /// The focused lane: the one the picker, the variables form and the model switcher act
    /// on (a plain chat has just this one).
    pub lane: Lane,
    /// The other lanes of a compare, in screen order around `compare.focus` ([`compare`]).
    pub others: Vec<Lane>,
    /// The compare screen's state (focus, zoom, diff, re-run on save).
    pub compare: compare::Compare,
    /// Tokens per byte of text, per model, as providers reported them this session: live
    /// estimates use it.
    pub calibration: reply::Calibration,
    /// The code block Alt-Y copies (chosen with Alt-K), if any.
    pub code_choice: Option<copy::CodeChoice>,
    pub composer: TextArea<'static>,
    pub status: Option<Status>,
    next_request: u64,
    /// Time of the last update, for live elapsed counters in the view.
    pub now: Option<Instant>,
    /// Whether the usage panel is shown.
    pub panel: PanelVisibility,
    /// The terminal's size (columns, rows), from resize events: whether the panel fits.
    pub screen: (u16, u16),
    /// The prompt library: active prompt, variables, session versions.
    pub prompts: PromptState,
    /// Which screen has the keyboard.
    pub mode: Mode,
    /// The local rate limit: pending admission, refusal countdown, quota.
    pub admission: AdmissionState,
    /// Prices per model, for the panel's costs.
    pub prices: Arc<PriceTable>,
    /// The endpoint's model list for the switcher (Alt-M), loaded once per session.
    pub catalog: switcher::Catalog,
    /// Models used earlier in this session, most recent first (the switcher lists them first).
    pub recent_models: Vec<String>,
    /// The configured fallback chain (listed in the switcher after the recent models).
    pub fallback_models: Vec<String>,
    /// The tick asked for and not received yet.
    timers: timers::Timers,
    /// When the unsent draft is next written to disk.
    draft: draft::DraftState,
    /// The key help over the screen (`?`, F1), if open.
    pub help: Option<help::HelpOverlay>,
    /// Keys that arrived while their pane waited for what they act on ([`held_keys`]).
    held_keys: std::collections::VecDeque<KeyEvent>,
    /// The messages sent this session, for ↑/↓ in an empty composer.
    recall: chat_keys::Recall,
    /// An earlier message being edited to re-send as a branch (Alt-E).
    pub editing: Option<branch::Editing>,
    /// A branch asked of the database, waiting for its conversation id.
    branching: Option<branch::PendingBranch>,
}

/// Which screen has the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// The chat: transcript and composer.
    Chat,
    /// The prompt picker (Ctrl-P).
    Picker(Picker),
    /// The variables form (Ctrl-G).
    Variables(VariablesForm),
    /// The request inspector (F2, Alt-I).
    Inspector(inspector::Inspector),
    /// Earlier conversations (Ctrl-O).
    Conversations(history::ConversationList),
    /// The model switcher (Alt-M).
    Models(switcher::ModelSwitcher),
}

/// Whether the usage panel beside the transcript is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelVisibility {
    /// Shown when the terminal is wide enough ([`PANEL_MIN_SCREEN_COLUMNS`]).
    Auto,
    /// Shown whenever it fits at all ([`PANEL_MIN_FORCED_COLUMNS`]).
    Shown,
    /// Hidden.
    Hidden,
}

/// The usage panel shows by default from this screen width on.
pub const PANEL_MIN_SCREEN_COLUMNS: u16 = 110;
/// Below this width the panel never shows, even when asked for.
pub const PANEL_MIN_FORCED_COLUMNS: u16 = 70;

impl PanelVisibility {
    /// Whether the panel is drawn on a screen `width` columns wide.
    pub fn shown_at(self, width: u16) -> bool {
        match self {
            PanelVisibility::Auto => width >= PANEL_MIN_SCREEN_COLUMNS,
            PanelVisibility::Shown => width >= PANEL_MIN_FORCED_COLUMNS,
            PanelVisibility::Hidden => false,
        }
    }
}

impl Model {
    /// A fresh chat.
    pub fn new(session: Session) -> Model {
        let mut composer = TextArea::default();
        composer.set_wrap_mode(WrapMode::WordOrGlyph);
        composer.set_placeholder_text("Type a message — Enter sends, Ctrl-J adds a newline");
        composer.set_cursor_line_style(ratatui::style::Style::default());
        let mut lane = Lane::new(&session);
        if let StartKind::FirstRun { config_path } = &session.start {
            lane.transcript.push(Entry::Welcome {
                config_path: config_path.clone(),
            });
        }
        Model {
            session,
            lane,
            others: Vec::new(),
            compare: compare::Compare::default(),
            code_choice: None,
            calibration: reply::Calibration::default(),
            composer,
            status: None,
            next_request: 1,
            now: None,
            panel: PanelVisibility::Auto,
            screen: (0, 0),
            prompts: PromptState::new("prompts".into(), Default::default()),
            mode: Mode::Chat,
            admission: AdmissionState::default(),
            prices: Arc::new(PriceTable::builtin()),
            catalog: switcher::Catalog::NotLoaded,
            recent_models: Vec::new(),
            fallback_models: Vec::new(),
            timers: timers::Timers::default(),
            draft: draft::DraftState::default(),
            help: None,
            held_keys: std::collections::VecDeque::new(),
            recall: chat_keys::Recall::default(),
            editing: None,
            branching: None,
        }
    }

    /// The reply the usage panel shows: the selected one, else the latest.
    pub fn panel_reply(&self) -> Option<&Reply> {
        self.lane
            .selected_reply
            .and_then(|id| self.lane.transcript.reply(id))
            .or_else(|| self.lane.transcript.last_reply())
    }

    /// The same model with compare run ids made unique by `seed` (time and process).
    pub fn with_compare_seed(mut self, seed: String) -> Model {
        self.compare.seed = seed;
        self
    }

    /// The same model sending each message `n` times per lane (`--repeat`).
    pub fn with_repeat(mut self, n: u32) -> Model {
        self.compare.repeat = n.clamp(1, compare::MAX_REPEAT);
        self
    }

    /// The same model with a rate limiter in front of every send.
    pub fn with_limits(mut self, limits: LimitConfig, describe: String) -> Model {
        self.admission.limits = Some(limits);
        self.admission.describe = describe;
        self
    }

    /// The same model with these prices (built-in table plus the user's overrides).
    pub fn with_prices(mut self, prices: Arc<PriceTable>) -> Model {
        self.prices = prices;
        self
    }

    /// The same model with the configured fallback chain (the switcher lists it).
    pub fn with_fallback(mut self, models: Vec<String>) -> Model {
        self.fallback_models = models;
        self
    }

    /// The same model with this prompt library state.
    pub fn with_prompts(mut self, mut prompts: PromptState) -> Model {
        self.lane.vars = std::mem::take(&mut prompts.start_vars);
        self.prompts = prompts;
        self
    }

    /// What the app does once at start: list the library and, if one was named
    /// (`--prompt`), resolve the starting prompt.
    pub fn start(&self, initial: Option<Reference>, resume: Option<ResumeTarget>) -> Vec<Effect> {
        let mut effects = vec![Effect::ScanPrompts];
        if let Some(target) = resume {
            effects.push(Effect::LoadConversation { target });
        }
        if let Some(reference) = initial {
            effects.push(Effect::ResolvePrompt {
                reference,
                purpose: ResolvePurpose::Activate,
            });
        }
        effects
    }

    /// The composer's text as it would be sent.
    pub fn composer_text(&self) -> String {
        self.composer.lines().join("\n")
    }

    /// Applies one event. Pure: no IO, `now` is the only time source. Ends with an
    /// `Effect::ScheduleTick` when something on screen will change by itself sooner than the
    /// tick already asked for ([`timers`]).
    pub fn update(&mut self, event: AppEvent, now: Instant) -> Vec<Effect> {
        if matches!(event, AppEvent::Tick) {
            self.note_tick();
        }
        let by_key = matches!(event, AppEvent::Key(_));
        let mut effects = self.apply(event, now);
        if !by_key {
            // What a pane waited for may have come: the keys held for it go now, in order.
            effects.extend(self.replay_held_keys(now));
        }
        self.refresh_live_numbers(now);
        effects.extend(self.save_draft_if_due(now));
        effects.extend(self.schedule_wake(now));
        effects
    }

    fn apply(&mut self, event: AppEvent, now: Instant) -> Vec<Effect> {
        self.now = Some(now);
        match event {
            AppEvent::Key(key) => self.on_key(key, now),
            AppEvent::Paste(pasted) => {
                if let Mode::Models(switcher) = &self.mode {
                    let mut switcher = switcher.clone();
                    self.type_into_switcher(&mut switcher, &pasted);
                    self.mode = Mode::Models(switcher);
                } else if !self.paste_into_form(&pasted) && self.mode == Mode::Chat {
                    // Sanitized, line ends made `\n`: a paste is text, never terminal input.
                    self.composer.insert_str(text::sanitize(&pasted));
                    self.composer_changed(now);
                }
                Vec::new()
            }
            AppEvent::Resize { width, height } => {
                self.screen = (width, height);
                Vec::new()
            }
            AppEvent::ThemeFileChanged => Vec::new(),
            AppEvent::Tick => {
                self.expire_refusal(now);
                Vec::new()
            }
            AppEvent::RequestLogLoaded(result) => self.on_request_log(result),
            AppEvent::RequestContextLoaded { id, result } => self.on_request_context(id, result),
            AppEvent::ConversationsListed { generation, result } => {
                self.on_conversations(generation, result)
            }
            AppEvent::ConversationBranched(result) => self.on_branched(result, now),
            AppEvent::EditorClosed(result) => {
                self.on_editor_closed(result, now);
                Vec::new()
            }
            AppEvent::ConversationLoaded(result) => self.on_conversation_loaded(result, now),
            AppEvent::ModelsListed(result) => {
                self.on_models_listed(result);
                Vec::new()
            }
            AppEvent::Warning(text) => {
                self.status = Some(Status {
                    tone: StatusTone::Warning,
                    text: crate::text::sanitize(&text),
                });
                Vec::new()
            }
            AppEvent::Request { id, event } => self.on_request_event(id, event, now),
            AppEvent::RequestEnded { id, end } => {
                self.on_request_ended(id, end, now);
                Vec::new()
            }
            AppEvent::PromptsScanned(result) => self.on_scanned(result),
            AppEvent::PromptsChanged(change) => self.on_prompts_changed(change),
            AppEvent::PromptResolved {
                reference,
                purpose,
                result,
            } => self.on_resolved(reference, purpose, result, now),
            AppEvent::VersionsLoaded { name, result } => self.on_versions(name, result),
            AppEvent::Terminate => {
                // Not the user's choice: a streaming reply is interrupted, not cancelled (the
                // app records it so as it shuts down).
                let streaming: Vec<RequestId> = self
                    .lanes()
                    .iter()
                    .flat_map(|l| l.streaming_ids())
                    .collect();
                for id in streaming {
                    if let Some(lane) = self.lane_of(id) {
                        lane.transcript
                            .fail(id, crate::llm::LlmError::Interrupted, now);
                    }
                    self.end_request(id);
                }
                vec![Effect::Quit]
            }
        }
    }

    /// Streaming replies' live numbers, refreshed when due ([`reply::COUNTER_REFRESH`]).
    fn refresh_live_numbers(&mut self, now: Instant) {
        // Fields, not `lanes_mut()`: the calibration is read while the lanes change.
        let calibration = &self.calibration;
        for lane in std::iter::once(&mut self.lane).chain(self.others.iter_mut()) {
            let rate = calibration.rate(&lane.model);
            for id in lane.streaming_ids() {
                lane.transcript.refresh_shown(id, now, rate);
            }
        }
    }

    /// When the next streaming reply's live numbers are due.
    pub(super) fn next_numbers_due(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        for lane in self.lanes_in_order() {
            for id in lane.streaming_ids() {
                if let Some(reply) = lane.transcript.reply(id) {
                    let at = reply.shown.at.unwrap_or(reply.sent_at) + reply::COUNTER_REFRESH;
                    due = Some(due.map_or(at, |d| d.min(at)));
                }
            }
        }
        due
    }
}

/// An empty composer with the same settings as `old`.
fn fresh_composer(old: &TextArea<'static>) -> TextArea<'static> {
    let mut composer = TextArea::default();
    composer.set_wrap_mode(old.wrap_mode());
    composer.set_placeholder_text(old.placeholder_text());
    composer.set_cursor_line_style(old.cursor_line_style());
    composer
}

/// Merges consecutive messages of the same role (a failed reply leaves two user messages in a
/// row, which some APIs reject) and drops empty ones.
pub fn normalize_history(messages: Vec<Message>) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::with_capacity(messages.len());
    for m in messages {
        if m.content.trim().is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == m.role => {
                last.content.push_str("\n\n");
                last.content.push_str(&m.content);
            }
            _ => out.push(m),
        }
    }
    // A conversation sent to a model must start with the user.
    while out.first().is_some_and(|m| m.role == Role::Assistant) {
        out.remove(0);
    }
    out
}

#[cfg(test)]
mod prompt_tests;
#[cfg(test)]
mod tests;
