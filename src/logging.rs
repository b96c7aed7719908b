//! The log file: daily files, the last few kept, never on the terminal the UI draws on.
//!
//! Where: [`promptdeck::config::log_dir`] (the platform state dir, or the data dir when one
//! was chosen). Keys never appear: they are only held in `ApiKey`, whose Debug is redacted.

use std::path::Path;

use tracing_appender::rolling::{RollingFileAppender, Rotation};

/// Log files are `promptdeck.YYYY-MM-DD.log` (UTC date).
pub const FILE_PREFIX: &str = "promptdeck";
/// See [`FILE_PREFIX`].
pub const FILE_SUFFIX: &str = "log";
/// How many daily files are kept; older ones are deleted when a new day's file starts.
pub const KEPT_FILES: usize = 7;

/// Log lines queued for the writer thread before new ones are dropped. The appender's
/// default (128,000) preallocates a 4 MB channel, a tenth of the app's peak RSS, for a log
/// that writes a few lines a request; the writer drains far faster than that fills.
pub const BUFFERED_LINES: usize = 1024;

/// Why there is no log file this run, for the chat's status line (stderr is hidden by the
/// full-screen UI).
pub static LOG_WARNING: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Starts logging to a daily file in `dir`.
///
/// Logging is best-effort: a log file that cannot be opened (a read-only directory, a
/// directory where the file should be) is said once on stderr, and promptdeck goes on.
pub fn init(dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(KEPT_FILES)
        .build(dir);
    let appender = match appender {
        Ok(appender) => appender,
        Err(e) => {
            let warning = format!(
                "cannot write the log file in {} ({}); going on without it",
                dir.display(),
                error_chain(&e)
            );
            eprintln!("promptdeck: warning: {warning}");
            let _ = LOG_WARNING.set(warning);
            return None;
        }
    };
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .finish(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("PROMPTDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// An error with its causes, `: `-separated (the appender's says only "failed to create log
/// file" at the top).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
