//! Command-line interface: the global flags, the chat's, and each command with its own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::ProviderKind;
use crate::limit::LimitSetting;

/// Exit statuses, one per class of failure (documented in `--help`).
pub mod exit {
    /// The reply finished.
    pub const OK: u8 = 0;
    /// An unexpected internal error.
    pub const INTERNAL: u8 = 1;
    /// Bad command-line usage.
    pub const USAGE: u8 = 2;
    /// Bad configuration (config file, environment, flags).
    pub const CONFIG: u8 = 3;
    /// Authentication failed (401/403).
    pub const AUTH: u8 = 4;
    /// The request was rejected (400, 404, 413, other 4xx).
    pub const REQUEST: u8 = 5;
    /// The provider's rate limit (429).
    pub const RATE_LIMITED: u8 = 6;
    /// The provider is overloaded or failed (529, 5xx, an error event in the stream).
    pub const PROVIDER: u8 = 7;
    /// The network failed: connection refused or dropped, stalled or interrupted stream.
    pub const NETWORK: u8 = 8;
    /// The server's reply was not the expected protocol.
    pub const PROTOCOL: u8 = 9;
    /// The local rate limiter or a budget refused the request: it was not sent.
    pub const LOCAL_LIMIT: u8 = crate::limit::EXIT_LOCAL_LIMIT;
    /// Interrupted by a signal (Ctrl-C); the partial reply was printed.
    pub const INTERRUPTED: u8 = 130;
    /// `ask`'s reader closed stdout (e.g. `| head -c 20`): the reply was cancelled and
    /// recorded so, as a shell reports a process ended by SIGPIPE (128 + 13).
    pub const CLOSED_PIPE: u8 = 141;
}

const AFTER_HELP: &str = "\
Exit status of `promptdeck ask`:
  0    the reply finished
  1    internal error
  2    bad command-line usage
  3    bad configuration (config file, environment, flags)
  4    authentication failed (HTTP 401/403)
  5    request rejected (HTTP 400, 404 unknown model, 413 too large)
  6    rate limited by the provider (HTTP 429)
  7    provider overloaded or failed (HTTP 529, 5xx, error event mid-stream)
  8    network: connection failed or dropped, stream stalled or interrupted
  9    malformed response from the server
  10   refused by the local rate limit or budget (--rate-limit, [limit]); nothing was sent
  130  interrupted by Ctrl-C (the partial reply was printed)

History: every request is logged to promptdeck.db in the data dir; see `promptdeck log`,
`promptdeck conversations` and `promptdeck export ID`.

Log file: promptdeck.YYYY-MM-DD.log, the last 7 kept, in ~/.local/state/promptdeck (the
platform state dir), or in the data dir when one is given or the platform has no state dir.

Environment: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL,
PROMPTDECK_DATA_DIR, PROMPTDECK_LOG (log filter, default `info`).";

/// promptdeck — a terminal workbench for LLM prompts.
///
/// Without a command the full-screen chat opens, with the flags below. Each command has its
/// own flags (`promptdeck ask --help`); the request flags may also come before the command
/// (`promptdeck --prompt greeter ask "hi"`), as for the chat.
#[derive(Debug, Parser)]
#[command(
    name = "promptdeck",
    version,
    about,
    after_help = format!("{}\n{AFTER_HELP}", crate::keys::keys_help())
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(flatten)]
    pub chat: ChatArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes: where the configuration and the data live.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file [default: the platform config dir's promptdeck/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the history database, the rate limiter's counts and the draft (and the
    /// log file when given) [env: PROMPTDECK_DATA_DIR]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// The chat's flags (no command). The request flags among them also apply to `ask` and
/// `compare` when given before the command.
#[derive(Debug, Args, Clone, Default)]
pub struct ChatArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// A theme file overriding colours of the built-in theme (see themes/)
    #[arg(long, value_name = "FILE")]
    pub theme: Option<PathBuf>,
    /// Reopen an earlier conversation (the most recent without an ID) with its prompt version
    #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "latest")]
    pub resume: Option<String>,
    /// Most frames a second the chat draws while a reply streams (1-60; lower it on a slow
    /// link) [default: 30]; what you type is always drawn at once
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=60))]
    pub max_fps: Option<u32>,
    /// Send each message N times through every lane, to see how much the replies vary
    /// (Alt-R changes it in the chat)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: Option<u32>,
}

/// What a request is made with: the chat's, `ask`'s and `compare`'s flags.
#[derive(Debug, Args, Clone, Default, PartialEq)]
pub struct RequestArgs {
    /// Provider to use [default: the first configured; the demo when none is]
    #[arg(long, value_enum)]
    pub provider: Option<ProviderKind>,
    /// Model name [default: claude-sonnet-5-5 for anthropic, gpt-5.6-terra for openai];
    /// the chat and `compare` take several (one lane each)
    #[arg(long)]
    pub model: Vec<String>,
    /// Prompt library directory [default: ./prompts]
    #[arg(long = "prompts", value_name = "DIR")]
    pub prompts_dir: Option<PathBuf>,
    /// A system prompt for every request
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Upper bound on output tokens [default: 4096]
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// The prompt (system prompt) to use: NAME, NAME@REV (any git revision) or NAME@#HASH;
    /// the chat and `compare` take several (one lane each; `none` for a lane without a prompt)
    #[arg(long, value_name = "REF")]
    pub prompt: Vec<String>,
    /// A value for a {{name}} variable of the prompt (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Local rate limit: at most N requests in any sliding WINDOW (s, m, h, d), e.g. 20/1h,
    /// or `off` [default: `[limit] rate_limit` in the config file, else 20/1h]
    #[arg(long, value_name = "N/WINDOW|off")]
    pub rate_limit: Option<LimitSetting>,
}

impl RequestArgs {
    /// The flags given before the command (`self`) with the command's own: a value given
    /// after the command wins, repeatable ones (`--prompt`, `--model`, `--var`) add up in the
    /// order given.
    pub fn merged(&self, after: &RequestArgs) -> RequestArgs {
        let both = |a: &[String], b: &[String]| a.iter().chain(b).cloned().collect();
        RequestArgs {
            provider: after.provider.or(self.provider),
            model: both(&self.model, &after.model),
            prompts_dir: after
                .prompts_dir
                .clone()
                .or_else(|| self.prompts_dir.clone()),
            system: after.system.clone().or_else(|| self.system.clone()),
            max_tokens: after.max_tokens.or(self.max_tokens),
            prompt: both(&self.prompt, &after.prompt),
            vars: both(&self.vars, &after.vars),
            rate_limit: after.rate_limit.or(self.rate_limit),
        }
    }
}

/// Commands; without one, the full-screen chat opens.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send one message and stream the reply to stdout (usage summary on stderr).
    Ask(AskArgs),
    /// List the prompt library: every prompt, its working-file state and its git history;
    /// `prompts show REF` prints one version's text.
    Prompts(PromptsArgs),
    /// Show the request log (one row per attempt), newest first. `--prompt REF` filters.
    Log(LogArgs),
    /// List stored conversations (id, last activity, model, prompt, title), newest first.
    Conversations(ConversationsArgs),
    /// Print a stored conversation as Markdown or JSON Lines.
    Export(ExportArgs),
    /// Send one message through several prompt versions and/or models at once (one lane per
    /// `--prompt` × `--model`); print each lane's reply and a summary table.
    Compare(CompareArgs),
    /// Print a shell completion script to stdout (e.g. `promptdeck completions bash >
    /// ~/.local/share/bash-completion/completions/promptdeck`).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout (e.g. `promptdeck man | man -l -`).
    Man,
}

/// `promptdeck completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `promptdeck prompts`.
#[derive(Debug, Args)]
pub struct PromptsArgs {
    /// Prompt library directory [default: ./prompts]
    #[arg(long = "prompts", global = true, value_name = "DIR")]
    pub prompts_dir: Option<PathBuf>,
    /// Print the library as one JSON array: each prompt with its versions.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<PromptsCommand>,
}

/// What `promptdeck prompts` does besides listing.
#[derive(Debug, Subcommand)]
pub enum PromptsCommand {
    /// Print one version's exact text: NAME (the working file), NAME@REV (any git revision)
    /// or NAME@#HASH (also a text only the history database still has).
    Show(PromptShowArgs),
}

/// `promptdeck prompts show`.
#[derive(Debug, Args)]
pub struct PromptShowArgs {
    /// The version: NAME, NAME@REV or NAME@#HASH.
    #[arg(value_name = "REF")]
    pub reference: String,
}

/// `promptdeck compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// The message; read from stdin when absent or `-`.
    pub message: Vec<String>,
    /// Send it N times through every lane, to see how much the replies vary [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: Option<u32>,
    /// Print one JSON array of lane objects (the fields of `ask --json`, plus the lane).
    #[arg(long)]
    pub json: bool,
}

/// `promptdeck log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Show at most N rows.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Print the rows as one JSON array (OpenTelemetry GenAI attribute names).
    #[arg(long)]
    pub json: bool,
    /// Only the lanes of this compare run (the id `compare` prints).
    #[arg(long, value_name = "ID")]
    pub compare: Option<String>,
    /// Only requests made with this prompt: NAME (any version of it), or one version:
    /// NAME@REV (any git revision) or NAME@#HASH
    #[arg(long, value_name = "REF")]
    pub prompt: Option<String>,
    /// Prompt library directory, to find NAME@REV in [default: ./prompts]
    #[arg(long = "prompts", value_name = "DIR")]
    pub prompts_dir: Option<PathBuf>,
}

/// `promptdeck conversations`.
#[derive(Debug, Args)]
pub struct ConversationsArgs {
    /// Show at most N conversations.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Print the conversations as one JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `promptdeck export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The conversation's id (see `promptdeck conversations`).
    #[arg(value_name = "CONVERSATION_ID")]
    pub id: i64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Md)]
    pub format: ExportFormat,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Markdown, for reading and sharing.
    Md,
    /// JSON Lines: one object per message, for scripts.
    Jsonl,
}

/// `promptdeck ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// The message; read from stdin when absent or `-`.
    pub message: Vec<String>,
    /// Print one JSON object (text, model, usage, cost, timings, stop reason, error) instead.
    #[arg(long)]
    pub json: bool,
    /// Continue the most recent conversation: its whole history is sent, with the prompt
    /// version and variables of its last request (unless --prompt is given)
    #[arg(short = 'c', long = "continue", conflicts_with = "resume")]
    pub continue_latest: bool,
    /// Continue conversation ID (see `promptdeck conversations`), as --continue does
    #[arg(long, value_name = "ID")]
    pub resume: Option<i64>,
}

impl AskArgs {
    /// Which conversation to continue, if any.
    pub fn continuing(&self) -> Option<Continue> {
        match (self.continue_latest, self.resume) {
            (_, Some(id)) => Some(Continue::Id(id)),
            (true, None) => Some(Continue::Latest),
            (false, None) => None,
        }
    }
}

/// The conversation `ask --continue` / `--resume ID` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continue {
    /// The most recently active one (`--continue`).
    Latest,
    /// This one (`--resume ID`).
    Id(i64),
}

/// The whole command-line definition, for completions and the man page.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
