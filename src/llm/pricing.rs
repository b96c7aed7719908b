//! What a request cost, in US dollars, and who said so.
//!
//! Prices come from two places, checked in this order:
//!
//! 1. the user's `[prices."model"]` tables in the config file ([`PriceSource::Config`]), for
//!    local or proxied models and negotiated prices;
//! 2. pydantic's maintained [`genai_prices`] dataset, bundled in the binary so promptdeck
//!    prices offline ([`PriceSource::Dataset`]). It matches snapshot names and aliases
//!    (`claude-sonnet-5-20260101`, `gpt-5.4-2026-03-05`), applies dated price changes (the
//!    rate in force when the session started), long-context tiers and Anthropic's 5-minute and
//!    1-hour cache-write rates. Updating prices is updating the crate (and its compressed copy,
//!    `scripts/update-prices.sh`; see `pricing/dataset.rs` for why a copy).
//!
//! Which provider's list prices apply is decided once per session ([`PriceScope`]): the
//! Anthropic API is priced as `anthropic`; an OpenAI-compatible endpoint by its URL (OpenAI,
//! OpenRouter, Groq, Together… each have their own rates), and a server the dataset does not
//! know (llama.cpp, Ollama, vLLM on your machine) is not priced from it at all, because a
//! local model is not billed and another provider's rate would be a lie.
//!
//! Accounting follows Anthropic's `usage` block, which every provider parser maps onto
//! [`Usage`]: `input_tokens` excludes cached tokens; `cache_creation_input_tokens` are cache
//! writes, of which [`Usage::cache_creation_1h_input_tokens`] used the 1-hour TTL;
//! `cache_read_input_tokens` are cache reads. (OpenAI's parser subtracts cached tokens from
//! `prompt_tokens`, so the same holds there.) For the dataset these become its total
//! `input_tokens` with `cache_write_tokens`, `cache_write_1h_tokens` and `cache_read_tokens`
//! inside it.
//!
//! A model without a price is [`CostView::Unknown`] ("price unknown"), never $0: a wrong
//! zero is worse than an honest blank. When the server reported only some of the numbers the
//! reported parts are priced and the result is marked [`Completeness::Partial`] (shown as an
//! estimate): input and output must both be reported for a cost to be exact; absent cache
//! counts mean no caching happened and count as zero.

use std::collections::BTreeMap;
use std::time::SystemTime;

use genai_prices::PriceRequest;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Usage;

mod cost;
mod dataset;

pub use cost::{Completeness, Cost, CostView, format_usd};
use cost::{completeness, config_cost, dataset_usage};

/// The price dataset compiled in, as shown beside a cost ("priced by genai-prices 0.2.1").
/// The crate carries no separate data version: its release is the dataset's version. Kept
/// equal to the version in Cargo.lock by `dataset_label_matches_cargo_lock`.
pub const DATASET_LABEL: &str = "genai-prices 0.2.1";

/// Anthropic's multiplier on the input price for 5-minute cache writes (config overrides
/// without their own cache prices).
pub const CACHE_WRITE_5M_MULTIPLIER: f64 = 1.25;
/// Anthropic's multiplier on the input price for 1-hour cache writes.
pub const CACHE_WRITE_1H_MULTIPLIER: f64 = 2.0;
/// Anthropic's multiplier on the input price for cache reads.
pub const CACHE_READ_MULTIPLIER: f64 = 0.1;

/// The offline demo provider's one model: free, and priced explicitly as such.
const DEMO_MODEL: &str = "demo";

/// Why a price table could not be read.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PricingError {
    /// The text is not TOML, or `prices` is not a table of tables.
    #[error("price table is not valid TOML: {message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A required number (`input` or `output`) is missing from an entry.
    #[error("price for model \"{model}\": `{field}` is missing (USD per million tokens)")]
    Missing {
        /// The entry's model name.
        model: String,
        /// The missing field.
        field: &'static str,
    },
    /// A field is not a number.
    #[error("price for model \"{model}\": `{field}` must be a number (USD per million tokens)")]
    NotANumber {
        /// The entry's model name.
        model: String,
        /// The offending field.
        field: String,
    },
    /// A price is negative, infinite or NaN.
    #[error("price for model \"{model}\": `{field}` = {value} must be a finite number >= 0")]
    Negative {
        /// The entry's model name.
        model: String,
        /// The offending field.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// An entry has a key we do not know (most likely a typo).
    #[error(
        "price for model \"{model}\": unknown key `{key}` (expected input, output, \
         cache_write_5m, cache_write_1h, cache_read, provider, aliases)"
    )]
    UnknownKey {
        /// The entry's model name.
        model: String,
        /// The unknown key.
        key: String,
    },
}

/// Prices for one model from the user's config, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    /// The entry's name (`my-local-model`).
    pub model: String,
    /// Provider the entry belongs to, when stated (informational).
    pub provider: Option<String>,
    /// Other exact names for the same model.
    pub aliases: Vec<String>,
    /// Uncached input tokens.
    pub input_per_mtok_usd: f64,
    /// Output tokens.
    pub output_per_mtok_usd: f64,
    /// Cache writes with the 5-minute TTL.
    pub cache_write_5m_per_mtok_usd: f64,
    /// Cache writes with the 1-hour TTL.
    pub cache_write_1h_per_mtok_usd: f64,
    /// Cache reads.
    pub cache_read_per_mtok_usd: f64,
}

/// Who priced a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// A `[prices."model"]` table in the user's config file.
    Config,
    /// The bundled `genai-prices` dataset ([`DATASET_LABEL`]).
    Dataset,
    /// promptdeck itself: the offline demo, which is free.
    Demo,
}

impl PriceSource {
    /// How the source is shown and stored: `config`, `genai-prices 0.2.1`, `demo`.
    pub fn label(self) -> &'static str {
        match self {
            PriceSource::Config => "config",
            PriceSource::Dataset => DATASET_LABEL,
            PriceSource::Demo => "demo",
        }
    }
}

/// Which provider's list prices apply to this session's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceScope {
    /// One provider of the dataset, by id (`anthropic`, `openai`).
    Provider(String),
    /// The provider the dataset finds for this API URL; none found means no dataset prices.
    ApiUrl(String),
    /// Whichever provider of the dataset knows the model name (tests, `log` re-reads).
    AnyProvider,
    /// Nothing from the dataset: only the config's prices (and the free demo).
    ConfigOnly,
}

/// The prices of one session: the config's entries over the dataset, for one provider.
#[derive(Debug)]
pub struct PriceTable {
    /// The user's `[prices."model"]` entries (and the free demo), checked first.
    entries: BTreeMap<String, (Price, PriceSource)>,
    /// The dataset's provider id to price with; `None` when the dataset does not apply.
    dataset_provider: Option<String>,
    /// Whether the dataset applies at all.
    scope: PriceScope,
    /// Prices are those in force at this time (the session's start).
    at: SystemTime,
    /// Whether the dataset prices a model, per model asked about: finding out runs the
    /// dataset's calculator, and the usage panel asks on every frame.
    dataset_knows: std::sync::Mutex<std::collections::HashMap<String, bool>>,
}

impl PartialEq for PriceTable {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
            && self.dataset_provider == other.dataset_provider
            && self.scope == other.scope
    }
}

impl PriceTable {
    /// The dataset for any provider, plus the free demo, at the current time.
    pub fn builtin() -> PriceTable {
        PriceTable::new(PriceScope::AnyProvider, SystemTime::now())
    }

    /// The dataset as `scope` selects it, plus the free demo, with prices in force at `at`.
    pub fn new(scope: PriceScope, at: SystemTime) -> PriceTable {
        let dataset_provider = match &scope {
            PriceScope::Provider(id) => Some(id.clone()),
            PriceScope::ApiUrl(url) => dataset::provider_for_url(url),
            PriceScope::AnyProvider | PriceScope::ConfigOnly => None,
        };
        let mut entries = BTreeMap::new();
        entries.insert(
            DEMO_MODEL.to_string(),
            (
                Price {
                    model: DEMO_MODEL.to_string(),
                    provider: Some("demo".to_string()),
                    aliases: Vec::new(),
                    input_per_mtok_usd: 0.0,
                    output_per_mtok_usd: 0.0,
                    cache_write_5m_per_mtok_usd: 0.0,
                    cache_write_1h_per_mtok_usd: 0.0,
                    cache_read_per_mtok_usd: 0.0,
                },
                PriceSource::Demo,
            ),
        );
        PriceTable {
            entries,
            dataset_provider,
            scope,
            at,
            dataset_knows: Default::default(),
        }
    }

    /// Decodes the part of the dataset this table prices with (a few milliseconds for one
    /// provider, tens for the whole set) so the first price lookup — at the end of the first
    /// reply, or in the first frame of the usage panel — does not pay for it. Call it on a
    /// thread of its own at start-up.
    pub fn warm_up(&self) {
        if self.dataset_applies() {
            let _ = dataset::calculator(self.dataset_provider.as_deref());
        }
    }

    /// Whether any request can be priced from the dataset (see [`Self::dataset_request`]).
    fn dataset_applies(&self) -> bool {
        match self.scope {
            PriceScope::ConfigOnly => false,
            PriceScope::AnyProvider => true,
            PriceScope::Provider(_) | PriceScope::ApiUrl(_) => self.dataset_provider.is_some(),
        }
    }

    /// The dataset's provider id this table prices with (`anthropic`, `openai`,
    /// `openrouter`…), if any.
    pub fn dataset_provider(&self) -> Option<&str> {
        self.dataset_provider.as_deref()
    }

    /// The built-in table with the `[prices."model"]` tables of `toml_str` (a config file's
    /// text; other keys are ignored) laid over it.
    pub fn with_overrides(toml_str: &str) -> Result<PriceTable, PricingError> {
        let doc = parse_doc(toml_str)?;
        let mut table = PriceTable::builtin();
        match doc.get("prices") {
            None => Ok(table),
            Some(toml::Value::Table(prices)) => {
                table.apply(prices)?;
                Ok(table)
            }
            Some(_) => Err(PricingError::Syntax {
                message: "`prices` must be a table of `[prices.\"model\"]` tables".into(),
            }),
        }
    }

    /// This table with the config file's `prices` table laid over it. An entry replaces the
    /// dataset's price for that name (and its snapshots) or adds a new model: `input` and
    /// `output` are required; cache prices absent from it are derived from `input` with
    /// Anthropic's multipliers.
    pub fn overridden_by(mut self, prices: &toml::Table) -> Result<PriceTable, PricingError> {
        self.apply(prices)?;
        Ok(self)
    }

    fn apply(&mut self, prices: &toml::Table) -> Result<(), PricingError> {
        for (model, value) in prices {
            let toml::Value::Table(entry) = value else {
                return Err(PricingError::Syntax {
                    message: format!("`prices.\"{model}\"` must be a table"),
                });
            };
            let price = parse_entry(model, entry, None)?;
            self.entries
                .insert(model.clone(), (price, PriceSource::Config));
        }
        Ok(())
    }

    /// The config entry for a model id: an exact name or alias, else a name or alias followed
    /// by a snapshot suffix (`-20250929`, `-2024-08-06`, `@20250514`, `-latest`); the longest
    /// matching name wins.
    fn entry(&self, model: &str) -> Option<&(Price, PriceSource)> {
        let model = model.trim().to_ascii_lowercase();
        let mut best: Option<(usize, &(Price, PriceSource))> = None;
        for entry in self.entries.values() {
            let price = &entry.0;
            for name in std::iter::once(&price.model).chain(price.aliases.iter()) {
                let name = name.to_ascii_lowercase();
                let matches = model == name
                    || model
                        .strip_prefix(name.as_str())
                        .is_some_and(is_snapshot_suffix);
                if matches && best.is_none_or(|(len, _)| name.len() > len) {
                    best = Some((name.len(), entry));
                }
            }
        }
        best.map(|(_, e)| e)
    }

    /// The config entry for `model`, if the user priced it.
    pub fn lookup(&self, model: &str) -> Option<&Price> {
        self.entry(model).map(|(p, _)| p)
    }

    fn dataset_request<'a>(
        &'a self,
        model: &'a str,
        usage: &'a genai_prices::Usage,
    ) -> Option<PriceRequest<'a>> {
        let request = PriceRequest::new(model, usage).with_timestamp(self.at);
        match (&self.scope, self.dataset_provider.as_deref()) {
            (PriceScope::ConfigOnly, _) => None,
            (PriceScope::AnyProvider, _) => Some(request),
            (_, Some(provider)) => Some(request.with_provider_id(provider)),
            (_, None) => None,
        }
    }

    /// Who prices `model`, or `None` when nobody does ("price unknown").
    pub fn source(&self, model: &str) -> Option<PriceSource> {
        if let Some((_, source)) = self.entry(model) {
            return Some(*source);
        }
        if let Ok(cache) = self.dataset_knows.lock()
            && let Some(known) = cache.get(model)
        {
            return known.then_some(PriceSource::Dataset);
        }
        let usage = genai_prices::Usage::new();
        let request = self.dataset_request(model, &usage)?;
        let known = dataset::calculator(self.dataset_provider.as_deref())?
            .calculate(&request)
            .is_ok();
        if let Ok(mut cache) = self.dataset_knows.lock() {
            cache.insert(model.to_string(), known);
        }
        known.then_some(PriceSource::Dataset)
    }

    /// Whether `model` has a price at all.
    pub fn knows(&self, model: &str) -> bool {
        self.source(model).is_some()
    }

    /// What `usage` of `model` cost, or `None` when nobody prices the model.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        if let Some((price, source)) = self.entry(model) {
            return Some(config_cost(usage, price, *source));
        }
        let wanted = dataset_usage(usage);
        let request = self.dataset_request(model, &wanted)?;
        let priced = dataset::calculator(self.dataset_provider.as_deref())?
            .calculate(&request)
            .ok()?;
        Some(Cost {
            usd: priced.total_price,
            completeness: completeness(usage),
            source: PriceSource::Dataset,
        })
    }
}

fn parse_doc(toml_str: &str) -> Result<toml::Table, PricingError> {
    toml::from_str(toml_str).map_err(|e| PricingError::Syntax {
        message: e.to_string().trim().to_string(),
    })
}

/// `-YYYYMMDD`, `-YYYY-MM-DD`, `@YYYYMMDD` or `-latest`.
fn is_snapshot_suffix(rest: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if rest == "-latest" {
        return true;
    }
    let Some(date) = rest.strip_prefix('-').or_else(|| rest.strip_prefix('@')) else {
        return false;
    };
    if date.len() == 8 && digits(date) {
        return true;
    }
    let parts: Vec<&str> = date.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && digits(y) && digits(m) && digits(d))
}

fn parse_entry(
    model: &str,
    entry: &toml::Table,
    inherited_provider: Option<String>,
) -> Result<Price, PricingError> {
    const KNOWN: [&str; 7] = [
        "input",
        "output",
        "cache_write_5m",
        "cache_write_1h",
        "cache_read",
        "provider",
        "aliases",
    ];
    if let Some(key) = entry.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(PricingError::UnknownKey {
            model: model.to_string(),
            key: key.clone(),
        });
    }
    let number = |field: &'static str| -> Result<Option<f64>, PricingError> {
        let value = match entry.get(field) {
            None => return Ok(None),
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(_) => {
                return Err(PricingError::NotANumber {
                    model: model.to_string(),
                    field: field.to_string(),
                });
            }
        };
        if !value.is_finite() || value < 0.0 {
            return Err(PricingError::Negative {
                model: model.to_string(),
                field,
                value,
            });
        }
        Ok(Some(value))
    };
    let required = |field: &'static str| -> Result<f64, PricingError> {
        number(field)?.ok_or(PricingError::Missing {
            model: model.to_string(),
            field,
        })
    };
    let input = required("input")?;
    let output = required("output")?;
    let cache_write_5m = number("cache_write_5m")?.unwrap_or(input * CACHE_WRITE_5M_MULTIPLIER);
    let cache_write_1h = number("cache_write_1h")?.unwrap_or(input * CACHE_WRITE_1H_MULTIPLIER);
    let cache_read = number("cache_read")?.unwrap_or(input * CACHE_READ_MULTIPLIER);
    let provider = match entry.get("provider") {
        None => inherited_provider,
        Some(toml::Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(PricingError::Syntax {
                message: format!("`prices.\"{model}\".provider` must be a string"),
            });
        }
    };
    let aliases = match entry.get("aliases") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| PricingError::Syntax {
                message: format!("`prices.\"{model}\".aliases` must be a list of strings"),
            })?,
        Some(_) => {
            return Err(PricingError::Syntax {
                message: format!("`prices.\"{model}\".aliases` must be a list of strings"),
            });
        }
    };
    Ok(Price {
        model: model.to_string(),
        provider,
        aliases,
        input_per_mtok_usd: input,
        output_per_mtok_usd: output,
        cache_write_5m_per_mtok_usd: cache_write_5m,
        cache_write_1h_per_mtok_usd: cache_write_1h,
        cache_read_per_mtok_usd: cache_read,
    })
}

#[cfg(test)]
mod tests;
