//! The log file: daily files, the last few kept, never on the terminal the UI draws on.
//!
//! Where: [`promptdeck::config::log_dir`] (the platform state dir, or the data dir when one
//! was chosen). Keys never appear: they are only held in `ApiKey`, whose Debug is redacted.

use std::path::Path;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .with(filter_from(std::env::var("PROMPTDECK_LOG").ok().as_deref()))
        .try_init()
        .ok()?;
    Some(guard)
}

/// The log filter `PROMPTDECK_LOG` asks for: a level (`debug`), targets with levels
/// (`promptdeck::request=trace,warn`), or `info` when unset or unreadable. `Targets` rather
/// than `EnvFilter`: the same syntax for what a log of this app needs, without the regex DFA
/// builder `EnvFilter` brings (~0.1 MB of the binary).
fn filter_from(value: Option<&str>) -> Targets {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
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

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::filter_from;

    #[test]
    fn the_log_filter_takes_levels_and_targets_and_falls_back_to_info() {
        let unset = filter_from(None);
        assert!(unset.would_enable("promptdeck::app", &Level::INFO));
        assert!(!unset.would_enable("promptdeck::app", &Level::DEBUG));

        let debug = filter_from(Some("debug"));
        assert!(debug.would_enable("hyper", &Level::DEBUG));
        assert!(!debug.would_enable("hyper", &Level::TRACE));

        let targets = filter_from(Some("promptdeck::request=trace,warn"));
        assert!(targets.would_enable("promptdeck::request::pump", &Level::TRACE));
        assert!(!targets.would_enable("promptdeck::app", &Level::INFO));
        assert!(targets.would_enable("promptdeck::app", &Level::WARN));

        // A filter that does not parse is not a reason to log nothing (or everything).
        let garbled = filter_from(Some("=loud=="));
        assert!(garbled.would_enable("promptdeck::app", &Level::INFO));
        assert!(!garbled.would_enable("promptdeck::app", &Level::DEBUG));
    }
}
