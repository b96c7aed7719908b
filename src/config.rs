//! Configuration: flags, then the config file, then the environment, then defaults.
//!
//! Provider selection follows the rule: `--provider` wins; without it the config
//! file's `provider`, then `ANTHROPIC_API_KEY`, then `OPENAI_API_KEY`/`OPENAI_BASE_URL`, and
//! when nothing is configured the offline demo provider (a first run). Keys and base URLs are
//! read as the official SDKs read them. Every default is a named constant documented in the
//! README, and every bad value is a [`ConfigError`] that names the file and the field.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::limit::{
    DailyUsdBudget, LimitConfig, LimitError, LimitFileConfig, LimitSetting, Limiter, StoreSpec,
    TokenBudget, Warning,
};
use crate::llm::Timeouts;
use crate::llm::http::{ApiKey, Endpoint};
use crate::llm::openai::MaxTokensField;
use crate::llm::pricing::{PriceScope, PriceTable};
use crate::llm::retry::RetryPolicy;

mod file;
pub use file::{FileConfig, ProviderSection, RetrySection, TimeoutSection, describe_toml_error};

/// Default Anthropic model: Anthropic's current Sonnet, "the best combination of speed and
/// intelligence" in the bundled genai-prices dataset (0.2.1, which lists Claude Sonnet 5.5 as
/// the newest Sonnet). The only place the default is written; when a release retires it, the
/// model-not-found error lists what the endpoint offers.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-5-5";
/// Default OpenAI model: GPT-5.6 Terra, "the GPT-5.6 model that balances intelligence and
/// cost" in the same dataset (the current GPT-5.6 family: Sol, Terra, Luna). For other
/// OpenAI-compatible servers set `model` (or `--model`).
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-5.6-terra";
/// Default Anthropic base URL.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Default OpenAI base URL (with `/v1`, as the SDK reads `OPENAI_BASE_URL`).
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Default `max_tokens`.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Which provider to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The Anthropic Messages API.
    Anthropic,
    /// An OpenAI-compatible Chat Completions API (OpenAI, Ollama, llama.cpp, vLLM).
    Openai,
    /// The built-in offline demo: not a model.
    Demo,
}

impl ProviderKind {
    /// The provider's name as shown and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Openai => "openai",
            ProviderKind::Demo => "demo",
        }
    }
}

/// A configuration problem, said so that the user can fix it.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// Where promptdeck looks for its config file when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "promptdeck", "promptdeck")
        .map(|d| d.config_dir().join("config.toml"))
}

/// Where promptdeck writes its files when neither `--data-dir` nor `PROMPTDECK_DATA_DIR` is set.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "promptdeck", "promptdeck")
        .map(|d| d.data_dir().to_path_buf())
}

/// The platform state directory (`$XDG_STATE_HOME/promptdeck`, `~/.local/state/promptdeck`
/// on Linux); `None` where the platform has none (macOS, Windows).
pub fn default_state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "promptdeck", "promptdeck")
        .and_then(|d| d.state_dir().map(Path::to_path_buf))
}

/// Where the log files go: the data dir when one was chosen (`--data-dir`,
/// `PROMPTDECK_DATA_DIR`, `data_dir` in the config file: a test or a sandboxed run writes
/// nothing elsewhere), else the platform state dir (`state_dir`), else the data dir.
pub fn log_dir(data_dir: &Path, data_dir_chosen: bool, state_dir: Option<PathBuf>) -> PathBuf {
    match state_dir {
        Some(state_dir) if !data_dir_chosen => state_dir,
        _ => data_dir.to_path_buf(),
    }
}

/// What the command line says (the parts config resolution needs).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--theme FILE`.
    pub theme: Option<PathBuf>,
    pub provider: Option<ProviderKind>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub system: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub prompts_dir: Option<PathBuf>,
    /// `--rate-limit N/WINDOW|off`: overrides `[limit] rate_limit`.
    pub rate_limit: Option<LimitSetting>,
}

/// The local rate limiter as configured: the limits, where admissions are recorded and the
/// key prefix of a shared (Redis) store. Turned into a [`Limiter`] by [`connect_limiter`].
#[derive(Debug, Clone, PartialEq)]
pub struct LimitChoice {
    /// Request limit and budgets.
    pub config: LimitConfig,
    /// `memory`, `sqlite` (default) or `redis://…`.
    pub store: StoreSpec,
    /// Key prefix for a Redis store.
    pub namespace: String,
}

/// The settled configuration for one run.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Colours: the built-in theme with the theme file's overrides.
    pub theme: crate::ui::theme::Theme,
    /// The theme file it came from, watched for changes by the chat.
    pub theme_path: Option<PathBuf>,
    pub provider: ProviderKind,
    /// True when nothing chose the provider and the demo runs as a first-run fallback.
    pub first_run: bool,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub system: Option<String>,
    /// Endpoint for HTTP providers (`None` for the demo).
    pub endpoint: Option<Endpoint>,
    pub data_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// The config file that was (or would be) read, for messages.
    pub config_path: Option<PathBuf>,
    /// Retries and the fallback chain.
    pub retry: RetryPolicy,
    /// The local rate limiter and budgets.
    pub limit: LimitChoice,
    /// Model prices: the built-in table with the config file's `[prices]` overrides.
    pub prices: Arc<PriceTable>,
    /// `[openai] max_tokens_field`; `None` leaves the choice to the OpenAI provider's rule.
    pub openai_max_tokens_field: Option<MaxTokensField>,
}

/// Opens the rate limiter `resolved` describes (its SQLite store lives in the data dir). The
/// [`Warning`] says when a Redis store was unreachable and the local SQLite limit is used
/// instead. An error means not even the local store could be opened: send nothing then.
pub async fn connect_limiter(
    resolved: &Resolved,
) -> Result<(Limiter, Option<Warning>), LimitError> {
    let limits = resolved.limit.config;
    // Nothing to count (`--rate-limit off`, no budgets): no limiter file is needed either,
    // so a read-only or broken data dir does not stand in the way.
    if limits.requests == crate::limit::LimitSetting::Off
        && limits.tokens.is_none()
        && limits.daily_usd.is_none()
    {
        return Ok((Limiter::memory(limits), None));
    }
    Limiter::connect(
        &resolved.limit.store,
        &resolved.data_dir,
        &resolved.limit.namespace,
        resolved.limit.config,
    )
    .await
}

/// Checks the `[limit]` table field by field (so that an error names the field), then
/// resolves it with the `--rate-limit` flag on top.
fn resolve_limit(
    section: &LimitFileConfig,
    flag: Option<LimitSetting>,
) -> Result<LimitChoice, ConfigError> {
    let field = |name: &str, e: &dyn std::fmt::Display| {
        ConfigError::Invalid(format!("[limit] {name}: {e}"))
    };
    if let Some(text) = &section.rate_limit {
        text.parse::<LimitSetting>()
            .map_err(|e| field("rate_limit", &e))?;
    }
    if let Some(text) = &section.token_budget {
        text.parse::<TokenBudget>()
            .map_err(|e| field("token_budget", &e))?;
    }
    if let Some(usd) = section.daily_usd {
        usd.to_string()
            .parse::<DailyUsdBudget>()
            .map_err(|e| field("daily_usd", &e))?;
    }
    if let Some(text) = &section.store {
        text.parse::<StoreSpec>().map_err(|e| field("store", &e))?;
    }
    if section
        .namespace
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err(field("namespace", &"must not be empty"));
    }
    let (config, store, namespace) = section
        .resolve(flag)
        .map_err(|e| ConfigError::Invalid(format!("[limit]: {e}")))?;
    Ok(LimitChoice {
        config,
        store,
        namespace,
    })
}

/// Which list prices apply to `provider` at `endpoint`: Anthropic's for the Anthropic API,
/// the dataset's provider for an OpenAI-compatible URL (none for a local server), none for
/// the demo.
pub fn price_scope(provider: ProviderKind, endpoint: Option<&Endpoint>) -> PriceScope {
    match (provider, endpoint) {
        (ProviderKind::Anthropic, _) => PriceScope::Provider("anthropic".into()),
        (ProviderKind::Openai, Some(endpoint)) => PriceScope::ApiUrl(endpoint.base_url.clone()),
        (ProviderKind::Openai, None) | (ProviderKind::Demo, _) => PriceScope::ConfigOnly,
    }
}

/// The dataset's prices for `scope`, in force now, with the config file's `[prices]`
/// overrides on top.
fn resolve_prices(
    scope: PriceScope,
    prices: Option<&toml::Table>,
) -> Result<PriceTable, ConfigError> {
    let table = PriceTable::new(scope, std::time::SystemTime::now());
    match prices {
        None => Ok(table),
        Some(overrides) => table
            .overridden_by(overrides)
            .map_err(|e| ConfigError::Invalid(format!("[prices]: {e}"))),
    }
}

/// Resolves flags, file and environment. `env` is passed in so that tests need not touch
/// the process environment.
pub fn resolve(
    overrides: &Overrides,
    file: &FileConfig,
    env: &HashMap<String, String>,
    config_path: Option<PathBuf>,
) -> Result<Resolved, ConfigError> {
    let get = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let (provider, first_run) = match (overrides.provider, file.provider) {
        (Some(p), _) | (None, Some(p)) => (p, false),
        (None, None) if get("ANTHROPIC_API_KEY").is_some() => (ProviderKind::Anthropic, false),
        (None, None) if get("OPENAI_API_KEY").is_some() || get("OPENAI_BASE_URL").is_some() => {
            (ProviderKind::Openai, false)
        }
        (None, None) => (ProviderKind::Demo, true),
    };

    let timeouts = resolve_timeouts(&file.timeouts)?;
    let section = match provider {
        ProviderKind::Anthropic => Some(&file.anthropic),
        ProviderKind::Openai => Some(&file.openai),
        ProviderKind::Demo => None,
    };
    let endpoint = match provider {
        ProviderKind::Demo => None,
        ProviderKind::Anthropic | ProviderKind::Openai => {
            let section = section.cloned().unwrap_or_default();
            let (key_var, url_var, default_url) = if provider == ProviderKind::Anthropic {
                (
                    "ANTHROPIC_API_KEY",
                    "ANTHROPIC_BASE_URL",
                    DEFAULT_ANTHROPIC_BASE_URL,
                )
            } else {
                ("OPENAI_API_KEY", "OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL)
            };
            let key_var = section.api_key_env.as_deref().unwrap_or(key_var);
            let key_text = section.api_key.clone().or_else(|| get(key_var));
            // A key that cannot go into an HTTP header would fail every request as a
            // "connection" error: name the setting instead (never the key).
            if let Some(key) = &key_text
                && key.trim().chars().any(|c| c.is_control() || c == ' ')
            {
                let source = if section.api_key.is_some() {
                    format!("api_key in [{}]", provider.as_str())
                } else {
                    key_var.to_string()
                };
                return Err(ConfigError::Invalid(format!(
                    "the API key in {source} contains a space or a control character; \
                     check it (it is not shown)"
                )));
            }
            let api_key = key_text.and_then(ApiKey::new);
            let base_url = section
                .base_url
                .clone()
                .or_else(|| get(url_var))
                .unwrap_or_else(|| default_url.to_string());
            let base_url = base_url.trim().trim_end_matches('/').to_string();
            if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "{} base URL {base_url:?} must start with http:// or https://",
                    provider.as_str()
                )));
            }
            if let Err(e) = reqwest::Url::parse(&base_url) {
                return Err(ConfigError::Invalid(format!(
                    "{} base URL {base_url:?} is not a valid URL ({e}): set {url_var} or \
                     base_url in [{}]",
                    provider.as_str(),
                    provider.as_str()
                )));
            }
            let needs_key = provider == ProviderKind::Anthropic || base_url == default_url;
            if api_key.is_none() && needs_key {
                return Err(ConfigError::Invalid(format!(
                    "provider {} needs an API key: set {key_var} (or api_key_env in the [{}] \
                     section of the config file)",
                    provider.as_str(),
                    provider.as_str()
                )));
            }
            Some(Endpoint {
                base_url,
                api_key,
                timeouts,
            })
        }
    };

    let model = overrides
        .model
        .clone()
        .or_else(|| section.and_then(|s| s.model.clone()))
        .or_else(|| file.model.clone())
        .unwrap_or_else(|| {
            match provider {
                ProviderKind::Anthropic => DEFAULT_ANTHROPIC_MODEL,
                ProviderKind::Openai => DEFAULT_OPENAI_MODEL,
                ProviderKind::Demo => crate::llm::demo::DEMO_MODEL,
            }
            .to_string()
        });
    if model.trim().is_empty() {
        return Err(ConfigError::Invalid("the model name is empty".into()));
    }
    let max_tokens = overrides
        .max_tokens
        .or(file.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    if max_tokens == 0 {
        return Err(ConfigError::Invalid("max_tokens must be at least 1".into()));
    }
    if let Some(t) = file.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(ConfigError::Invalid(format!(
            "temperature {t} is out of range (0.0 to 2.0)"
        )));
    }
    let data_dir = overrides
        .data_dir
        .clone()
        .or_else(|| get("PROMPTDECK_DATA_DIR").map(PathBuf::from))
        .or_else(|| file.data_dir.clone())
        .or_else(default_data_dir)
        .ok_or_else(|| {
            ConfigError::Invalid("no data directory: set --data-dir or PROMPTDECK_DATA_DIR".into())
        })?;
    let prompts_dir = overrides
        .prompts_dir
        .clone()
        .or_else(|| file.prompts_dir.clone())
        .unwrap_or_else(|| PathBuf::from("prompts"));
    let defaults = RetryPolicy::default();
    let retry = RetryPolicy {
        max_retries: file.retry.max_retries.unwrap_or(defaults.max_retries),
        base_delay: file
            .retry
            .base_delay_ms
            .map_or(defaults.base_delay, Duration::from_millis),
        max_delay: file
            .retry
            .max_delay_ms
            .map_or(defaults.max_delay, Duration::from_millis),
        fallback_models: file.fallback.clone(),
        ..defaults
    };
    // Backoff waits longer than this are a mistake, not a policy ("retrying in 10735726094437094.00s").
    const LONGEST_DELAY: Duration = Duration::from_secs(60 * 60);
    for (field, value) in [
        ("base_delay_ms", retry.base_delay),
        ("max_delay_ms", retry.max_delay),
    ] {
        if value > LONGEST_DELAY {
            return Err(ConfigError::Invalid(format!(
                "[retry] {field} = {} is longer than an hour; use at most 3600000",
                value.as_millis()
            )));
        }
    }
    if retry.base_delay > retry.max_delay {
        return Err(ConfigError::Invalid(format!(
            "[retry] base_delay_ms ({}) is larger than max_delay_ms ({})",
            retry.base_delay.as_millis(),
            retry.max_delay.as_millis()
        )));
    }
    if retry.fallback_models.iter().any(|m| m.trim().is_empty()) {
        return Err(ConfigError::Invalid(
            "fallback lists an empty model name".into(),
        ));
    }
    if file.anthropic.max_tokens_field.is_some() {
        return Err(ConfigError::Invalid(
            "[anthropic] max_tokens_field: only meaningful in [openai] (the Anthropic API \
             always takes max_tokens)"
                .into(),
        ));
    }
    let limit = resolve_limit(&file.limit, overrides.rate_limit)?;
    let prices = Arc::new(resolve_prices(
        price_scope(provider, endpoint.as_ref()),
        file.prices.as_ref(),
    )?);
    let theme_path = overrides.theme.clone().or(file.theme.clone());
    let theme = match theme_path.as_ref() {
        None => crate::ui::theme::Theme::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::Invalid(format!("cannot read theme file {}: {e}", path.display()))
            })?;
            crate::ui::theme::Theme::with_overrides(&text, &path.display().to_string())
                .map_err(|e| ConfigError::Invalid(e.to_string()))?
        }
    };
    Ok(Resolved {
        theme,
        theme_path,
        limit,
        prices,
        openai_max_tokens_field: file.openai.max_tokens_field,
        retry,
        provider,
        first_run,
        model,
        max_tokens,
        temperature: file.temperature,
        system: overrides.system.clone().or_else(|| file.system.clone()),
        endpoint,
        data_dir,
        prompts_dir,
        config_path,
    })
}

fn resolve_timeouts(section: &TimeoutSection) -> Result<Timeouts, ConfigError> {
    let defaults = Timeouts::default();
    let pick = |value: Option<u64>, default: Duration, name: &str| match value {
        Some(0) => Err(ConfigError::Invalid(format!(
            "timeouts.{name} must be greater than 0"
        ))),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(default),
    };
    Ok(Timeouts {
        connect: pick(section.connect_ms, defaults.connect, "connect_ms")?,
        response_headers: pick(
            section.response_headers_ms,
            defaults.response_headers,
            "response_headers_ms",
        )?,
        idle_read: pick(section.idle_read_ms, defaults.idle_read, "idle_read_ms")?,
    })
}

#[cfg(test)]
mod tests;
