//! The one vocabulary of things that happen to the app.
//!
//! Every producer (terminal input, request tasks, timers, signals, later the prompt watcher)
//! sends an [`AppEvent`] into one channel; the event loop hands each to `Model::update`
//! together with the time it was taken off the channel.

use crossterm::event::KeyEvent;

use crate::llm::LlmError;
use crate::llm::StreamEvent;
use crate::llm::retry::Progress;
use crate::prompts::{LoadedPrompt, PromptError, PromptVersions, Reference, WatchEvent};
use crate::records::{
    ConversationId, HistoryError, ListedConversation, LogId, Reopened, RequestContext, RequestRow,
};
use crate::request::{End, PumpEvent, Stamp, Stamped};

/// Identifies one request (one attempt) from start to end. Events for an id that is no longer
/// active (cancelled, superseded) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a prompt is being resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvePurpose {
    /// Chosen at start-up (`--prompt`): make it active.
    Activate,
    /// The active prompt's file changed: reload it, keeping the last good text on error.
    Reload,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum AppEvent {
    /// The theme file changed on disk: the app reloads it (the model never sees this).
    ThemeFileChanged,
    /// A key was pressed in the terminal (releases and repeats are filtered out before).
    Key(KeyEvent),
    /// Text pasted with bracketed paste, as one event however large.
    Paste(String),
    /// The terminal was resized to `width` x `height` cells.
    Resize { width: u16, height: u16 },
    /// What the pump of request `id` reports, in order: limiter decisions, the conversation
    /// it is stored in, stamped progress, warnings.
    Request { id: RequestId, event: PumpEvent },
    /// Request `id` is over and its log written; nothing more follows for it.
    RequestEnded { id: RequestId, end: End },
    /// The prompts directory was listed (answer to `Effect::ScanPrompts`).
    PromptsScanned(Result<Vec<String>, PromptError>),
    /// The watcher saw prompt files change.
    PromptsChanged(WatchEvent),
    /// A prompt reference was resolved to text (answer to `Effect::ResolvePrompt`).
    PromptResolved {
        reference: Reference,
        purpose: ResolvePurpose,
        result: Result<LoadedPrompt, PromptError>,
    },
    /// A prompt's versions were listed (answer to `Effect::LoadVersions`).
    VersionsLoaded {
        name: String,
        result: Result<PromptVersions, PromptError>,
    },
    /// Rows of the request log (answer to `Effect::LoadRequestLog`).
    RequestLogLoaded(Result<Vec<RequestRow>, HistoryError>),
    /// What log row `id` sent and got back (answer to `Effect::LoadRequestContext`).
    RequestContextLoaded {
        id: LogId,
        result: Result<RequestContext, HistoryError>,
    },
    /// Stored conversations (answer to the `Effect::LoadConversations` of the same
    /// `generation`).
    ConversationsListed {
        generation: u64,
        result: Result<Vec<ListedConversation>, HistoryError>,
    },
    /// The branch of a conversation was stored (answer to `Effect::BranchConversation`).
    ConversationBranched(Result<ConversationId, HistoryError>),
    /// The user's editor exited (answer to `Effect::EditInEditor`): the file's text, or why
    /// there is none (the editor could not start, or failed).
    EditorClosed(Result<String, String>),
    /// A stored conversation (answer to `Effect::LoadConversation`).
    ConversationLoaded(Result<Reopened, HistoryError>),
    /// The endpoint's model ids, or why it could not list them (answer to
    /// `Effect::ListModels`).
    ModelsListed(Result<Vec<String>, LlmError>),
    /// Something the user should read on the status line (the history database stopped
    /// recording…).
    Warning(String),
    /// A wake-up the model asked for with `Effect::ScheduleTick` (a countdown's next second,
    /// a streaming reply's next frame), so that what changes with time alone is redrawn;
    /// never while idle.
    Tick,
    /// The process was asked to stop (SIGTERM, SIGHUP from a dropped SSH session, SIGINT).
    Terminate,
}

impl AppEvent {
    /// A stream event of request `id` stamped at `at` (tests, benchmarks, replays).
    pub fn stream(id: RequestId, event: StreamEvent, at: std::time::Instant) -> AppEvent {
        AppEvent::progress(id, Progress::Event(event), at)
    }

    /// A progress item of request `id` stamped at `at`.
    pub fn progress(id: RequestId, progress: Progress, at: std::time::Instant) -> AppEvent {
        AppEvent::Request {
            id,
            event: PumpEvent::Progress(Stamped {
                stamp: Stamp { at, unix_ms: 0 },
                progress,
            }),
        }
    }
}
