//! The config file as written: its TOML sections, read strictly (unknown keys are errors),
//! before `resolve` merges them with flags and the environment and checks their values.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, ProviderKind};
use crate::limit::LimitFileConfig;
use crate::llm::openai::MaxTokensField;

/// Per-provider settings in the config file (`[anthropic]`, `[openai]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// Base URL; overrides the `*_BASE_URL` environment variable.
    pub base_url: Option<String>,
    /// The API key itself (prefer `api_key_env`, so the key stays out of the file).
    pub api_key: Option<String>,
    /// Name of the environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Model for this provider.
    pub model: Option<String>,
    /// `[openai]` only: the request field for the output-token limit, replacing the rule
    /// (`max_completion_tokens` for api.openai.com and o-series/GPT-5 names, else
    /// `max_tokens`). A configuration error under `[anthropic]`.
    pub max_tokens_field: Option<MaxTokensField>,
}

/// Timeouts in the config file, in milliseconds.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSection {
    pub connect_ms: Option<u64>,
    pub response_headers_ms: Option<u64>,
    pub idle_read_ms: Option<u64>,
}

/// Retries in the config file (`[retry]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    pub max_retries: Option<u32>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
}

/// The config file, as written by the user. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub provider: Option<ProviderKind>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    /// A system prompt for every request (a prompt file from the library overrides it).
    pub system: Option<String>,
    pub prompts_dir: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// A theme file (partial override of the built-in theme; see `themes/`).
    pub theme: Option<PathBuf>,
    /// Models to fall back to, in order, when the requested one keeps failing.
    #[serde(default)]
    pub fallback: Vec<String>,
    #[serde(default)]
    pub retry: RetrySection,
    #[serde(default)]
    pub timeouts: TimeoutSection,
    #[serde(default)]
    pub anthropic: ProviderSection,
    #[serde(default)]
    pub openai: ProviderSection,
    /// The local rate limiter and budgets (`[limit]`).
    #[serde(default)]
    pub limit: LimitFileConfig,
    /// Price overrides (`[prices."model"]` tables), laid over the built-in price table.
    pub prices: Option<toml::Table>,
}

impl FileConfig {
    /// Parses a config file's text.
    pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: describe_toml_error(&e, text),
        })
    }

    /// Loads `path`. A missing file is an error only when `required` (named with `--config`).
    pub fn load(path: &Path, required: bool) -> Result<FileConfig, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => FileConfig::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(FileConfig::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

/// A TOML error as "message (line L, column C)". Never quotes the offending line: it may
/// hold an API key (`api_key = "…"` misplaced or misspelled).
pub fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            // The key is safe to name (only values can be secrets): the text before `=`.
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !k.starts_with('#'));
            match key {
                Some(key) => format!("{key}: {message} (line {line}, column {column})"),
                None => format!("{message} (line {line}, column {column})"),
            }
        }
        None => message,
    }
}
