//! What a request cost, in US dollars.
//!
//! Prices come from `prices.toml` at the repository root, compiled into the binary so that
//! promptdeck works offline, dated so the user can tell how old the numbers are, and
//! overridable from the user's config (`[prices."model"]` tables) because list prices change
//! and local or proxied models have their own.
//!
//! Accounting follows Anthropic's `usage` block, which every provider parser maps onto
//! [`Usage`]:
//!
//! - `input_tokens` excludes cached tokens; it is billed at the `input` price.
//! - `cache_creation_input_tokens` are cache writes. The part written with the 1-hour TTL
//!   (`usage.cache_creation.ephemeral_1h_input_tokens`, our
//!   [`Usage::cache_creation_1h_input_tokens`]) is billed at `cache_write_1h` (2x input for
//!   Claude); the rest at `cache_write_5m` (1.25x input).
//! - `cache_read_input_tokens` are billed at `cache_read` (0.1x input for Claude).
//! - `output_tokens` at `output`.
//!
//! OpenAI's parser already subtracts cached tokens from `prompt_tokens`, so the same formula
//! holds there with the table's cached-input price as `cache_read`.
//!
//! A model without a price is [`CostView::Unknown`] ("price unknown"), never $0: a wrong
//! zero is worse than an honest blank. When the server reported only some of the numbers the
//! reported parts are priced and the result is marked [`Completeness::Partial`] (shown as an
//! estimate): input and output must both be reported for a cost to be exact; absent cache
//! counts mean no caching happened (OpenAI never reports cache writes) and count as zero; cache
//! writes without a TTL breakdown are priced at the 5-minute rate, which is what the API did
//! before it reported the breakdown.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Usage;

/// The built-in price table, as shipped.
pub const BUILTIN_PRICES_TOML: &str = include_str!("../../prices.toml");

/// Anthropic's multiplier on the input price for 5-minute cache writes.
pub const CACHE_WRITE_5M_MULTIPLIER: f64 = 1.25;
/// Anthropic's multiplier on the input price for 1-hour cache writes.
pub const CACHE_WRITE_1H_MULTIPLIER: f64 = 2.0;
/// Anthropic's multiplier on the input price for cache reads.
pub const CACHE_READ_MULTIPLIER: f64 = 0.1;

const TOKENS_PER_MTOK: f64 = 1_000_000.0;

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

/// Prices for one model, in USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Price {
    /// The entry's name (`claude-sonnet-4-5`).
    pub model: String,
    /// Provider the entry belongs to (`anthropic`, `openai`, `demo`), when stated.
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

/// What one request cost, with the breakdown the inspector shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    /// The total.
    pub usd: f64,
    /// Uncached input tokens.
    pub input_usd: f64,
    /// Output tokens.
    pub output_usd: f64,
    /// Cache writes (both TTLs).
    pub cache_write_usd: f64,
    /// Cache reads.
    pub cache_read_usd: f64,
    /// Whether every number needed was reported.
    pub completeness: Completeness,
}

/// Whether a cost covers the whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completeness {
    /// Input and output token counts were both reported.
    Exact,
    /// Some counts were not reported; the cost covers the reported ones only (an estimate,
    /// a lower bound).
    Partial,
}

/// A cost as the user should read it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "usd", rename_all = "snake_case")]
pub enum CostView {
    /// The exact list-price cost in USD.
    Known(f64),
    /// A lower bound in USD: the server did not report every token count.
    Estimate(f64),
    /// The model has no price in the table: shown as "price unknown", never as $0.
    Unknown,
    /// The server reported no token counts at all.
    NotReported,
}

impl CostView {
    /// Prices `usage` for `model` with `table`.
    pub fn of(table: &PriceTable, model: &str, usage: &Usage) -> CostView {
        let Some(price) = table.lookup(model) else {
            return CostView::Unknown;
        };
        if usage.is_unreported() {
            return CostView::NotReported;
        }
        let c = cost(usage, price);
        match c.completeness {
            Completeness::Exact => CostView::Known(c.usd),
            Completeness::Partial => CostView::Estimate(c.usd),
        }
    }

    /// The dollar amount, when there is one.
    pub fn usd(&self) -> Option<f64> {
        match *self {
            CostView::Known(usd) | CostView::Estimate(usd) => Some(usd),
            CostView::Unknown | CostView::NotReported => None,
        }
    }

    /// A stable short name for storage and JSON (`known`, `estimate`, `price_unknown`,
    /// `not_reported`).
    pub fn kind(&self) -> &'static str {
        match self {
            CostView::Known(_) => "known",
            CostView::Estimate(_) => "estimate",
            CostView::Unknown => "price_unknown",
            CostView::NotReported => "not_reported",
        }
    }

    /// Rebuilds a view from its stored parts ([`CostView::kind`] and [`CostView::usd`]).
    /// Anything inconsistent reads as [`CostView::Unknown`].
    pub fn from_parts(kind: Option<&str>, usd: Option<f64>) -> CostView {
        match (kind, usd) {
            (Some("known"), Some(v)) => CostView::Known(v),
            (Some("estimate"), Some(v)) => CostView::Estimate(v),
            (Some("not_reported"), _) => CostView::NotReported,
            _ => CostView::Unknown,
        }
    }
}

impl std::fmt::Display for CostView {
    /// `$0.0123`, `~$0.0123` for an estimate, `price unknown`, `usage not reported`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            CostView::Known(usd) => f.write_str(&format_usd(usd)),
            CostView::Estimate(usd) => write!(f, "~{}", format_usd(usd)),
            CostView::Unknown => f.write_str("price unknown"),
            CostView::NotReported => f.write_str("usage not reported"),
        }
    }
}

/// Formats dollars with four decimals (`$0.0123`); a non-zero amount too small to show reads
/// `<$0.0001` rather than a misleading `$0.0000`.
pub fn format_usd(usd: f64) -> String {
    if usd > 0.0 && usd < 0.000_05 {
        "<$0.0001".to_string()
    } else {
        format!("${usd:.4}")
    }
}

/// Prices `usage` with `price` (see the module docs for the accounting).
pub fn cost(usage: &Usage, price: &Price) -> Cost {
    let per = |tokens: u64, per_mtok_usd: f64| tokens as f64 * per_mtok_usd / TOKENS_PER_MTOK;
    let input_usd = per(usage.input_tokens.unwrap_or(0), price.input_per_mtok_usd);
    let output_usd = per(usage.output_tokens.unwrap_or(0), price.output_per_mtok_usd);
    let written = usage.cache_creation_input_tokens.unwrap_or(0);
    let written_1h = usage
        .cache_creation_1h_input_tokens
        .unwrap_or(0)
        .min(written);
    let cache_write_usd = per(written_1h, price.cache_write_1h_per_mtok_usd)
        + per(written - written_1h, price.cache_write_5m_per_mtok_usd);
    let cache_read_usd = per(
        usage.cache_read_input_tokens.unwrap_or(0),
        price.cache_read_per_mtok_usd,
    );
    let completeness = if usage.input_tokens.is_some() && usage.output_tokens.is_some() {
        Completeness::Exact
    } else {
        Completeness::Partial
    };
    Cost {
        usd: input_usd + output_usd + cache_write_usd + cache_read_usd,
        input_usd,
        output_usd,
        cache_write_usd,
        cache_read_usd,
        completeness,
    }
}

/// A dated table of model prices.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    /// When the built-in prices were checked (`2026-11`).
    pub as_of: String,
    /// Where they came from.
    pub source: String,
    entries: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The table compiled into the binary.
    pub fn builtin() -> PriceTable {
        // The embedded file is checked by `builtin_table_parses_and_is_dated`; an empty table
        // (every model "price unknown") is the safe fallback should it ever not parse.
        PriceTable::parse_builtin(BUILTIN_PRICES_TOML).unwrap_or_else(|_| PriceTable::empty())
    }

    fn empty() -> PriceTable {
        PriceTable {
            as_of: String::new(),
            source: String::new(),
            entries: BTreeMap::new(),
        }
    }

    fn parse_builtin(toml_str: &str) -> Result<PriceTable, PricingError> {
        let doc = parse_doc(toml_str)?;
        let mut table = PriceTable::empty();
        let text = |key: &str| {
            doc.get(key)
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        table.as_of = text("as_of");
        table.source = text("source");
        table.apply_doc(&doc)?;
        Ok(table)
    }

    /// The built-in table with the `[prices."model"]` tables of `toml_str` (the user's config
    /// file; other keys are ignored) laid over it. An override replaces the whole entry of the
    /// same name (or adds a new one): `input` and `output` are required; cache prices absent
    /// from it are derived from `input` with Anthropic's multipliers; `provider` is inherited
    /// from the built-in entry it replaces.
    pub fn with_overrides(toml_str: &str) -> Result<PriceTable, PricingError> {
        let doc = parse_doc(toml_str)?;
        let mut table = PriceTable::builtin();
        table.apply_doc(&doc)?;
        Ok(table)
    }

    /// Like [`PriceTable::with_overrides`], for an already parsed `prices` table (the value
    /// of the config file's `prices` key).
    pub fn with_override_table(prices: &toml::Table) -> Result<PriceTable, PricingError> {
        let mut table = PriceTable::builtin();
        table.apply(prices)?;
        Ok(table)
    }

    fn apply_doc(&mut self, doc: &toml::Table) -> Result<(), PricingError> {
        match doc.get("prices") {
            None => Ok(()),
            Some(toml::Value::Table(prices)) => self.apply(prices),
            Some(_) => Err(PricingError::Syntax {
                message: "`prices` must be a table of `[prices.\"model\"]` tables".into(),
            }),
        }
    }

    fn apply(&mut self, prices: &toml::Table) -> Result<(), PricingError> {
        for (model, value) in prices {
            let toml::Value::Table(entry) = value else {
                return Err(PricingError::Syntax {
                    message: format!("`prices.\"{model}\"` must be a table"),
                });
            };
            let inherited_provider = self.entries.get(model).and_then(|p| p.provider.clone());
            let price = parse_entry(model, entry, inherited_provider)?;
            self.entries.insert(model.clone(), price);
        }
        Ok(())
    }

    /// Every entry, by name.
    pub fn entries(&self) -> impl Iterator<Item = &Price> {
        self.entries.values()
    }

    /// The price for a model id: an exact name or alias, else a name or alias followed by a
    /// snapshot suffix (`-20250929`, `-2024-08-06`, `@20250514`, `-latest`); the longest
    /// matching name wins. Plain prefixes do not match: `gpt-4.1-nano` is not `gpt-4.1`, and a
    /// future `claude-opus-4-7` is not `claude-opus-4`, so an unlisted model is "price
    /// unknown" rather than wrongly priced.
    pub fn lookup(&self, model: &str) -> Option<&Price> {
        let model = model.trim().to_ascii_lowercase();
        let mut best: Option<(usize, &Price)> = None;
        for price in self.entries.values() {
            for name in std::iter::once(&price.model).chain(price.aliases.iter()) {
                let name = name.to_ascii_lowercase();
                let matches = model == name
                    || model
                        .strip_prefix(name.as_str())
                        .is_some_and(is_snapshot_suffix);
                if matches && best.is_none_or(|(len, _)| name.len() > len) {
                    best = Some((name.len(), price));
                }
            }
        }
        best.map(|(_, p)| p)
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
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const EPS: f64 = 1e-9;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < EPS
    }

    fn usage(input: u64, output: u64, write: u64, write_1h: u64, read: u64) -> Usage {
        Usage {
            input_tokens: Some(input),
            output_tokens: Some(output),
            cache_creation_input_tokens: Some(write),
            cache_read_input_tokens: Some(read),
            cache_creation_1h_input_tokens: Some(write_1h),
        }
    }

    #[test]
    fn builtin_table_parses_and_is_dated() {
        let parsed = PriceTable::parse_builtin(BUILTIN_PRICES_TOML);
        let table = parsed.expect("prices.toml parses");
        assert_eq!(table.as_of, "2026-11");
        assert!(table.source.contains("Anthropic pricing page"));
        assert!(table.source.contains("OpenAI pricing page"));
        for model in [
            "claude-opus-4-5",
            "claude-opus-4-1",
            "claude-sonnet-4-5",
            "claude-sonnet-4-0",
            "claude-haiku-4-5",
            "claude-3-5-haiku",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4o",
            "gpt-4o-mini",
            "o3",
            "o4-mini",
            "demo",
        ] {
            assert!(table.lookup(model).is_some(), "{model} has a price");
        }
    }

    #[test]
    fn every_anthropic_entry_uses_anthropic_cache_multipliers() {
        let table = PriceTable::builtin();
        let anthropic: Vec<&Price> = table
            .entries()
            .filter(|p| p.provider.as_deref() == Some("anthropic"))
            .collect();
        assert!(anthropic.len() >= 6, "the table lists the Claude models");
        for p in anthropic {
            let i = p.input_per_mtok_usd;
            assert!(
                close(p.cache_write_5m_per_mtok_usd, 1.25 * i),
                "{}: 5m write",
                p.model
            );
            assert!(
                close(p.cache_write_1h_per_mtok_usd, 2.0 * i),
                "{}: 1h write",
                p.model
            );
            assert!(
                close(p.cache_read_per_mtok_usd, 0.1 * i),
                "{}: read",
                p.model
            );
        }
    }

    #[test]
    fn every_openai_entry_bills_cache_writes_as_input() {
        let table = PriceTable::builtin();
        for p in table
            .entries()
            .filter(|p| p.provider.as_deref() == Some("openai"))
        {
            assert!(close(p.cache_write_5m_per_mtok_usd, p.input_per_mtok_usd));
            assert!(close(p.cache_write_1h_per_mtok_usd, p.input_per_mtok_usd));
            assert!(
                p.cache_read_per_mtok_usd < p.input_per_mtok_usd,
                "{}",
                p.model
            );
        }
    }

    #[test]
    fn sonnet_with_both_cache_ttls_hand_computed() {
        // claude-sonnet-4-5: input $3, output $15, 5m write $3.75, 1h write $6, read $0.30.
        // 1,000 input          = 0.003
        // 500 output           = 0.0075
        // 1,000 5m writes      = 0.00375
        // 1,000 1h writes      = 0.006
        // 10,000 cache reads   = 0.003
        // total                = 0.02325
        let table = PriceTable::builtin();
        let price = table.lookup("claude-sonnet-4-5-20250929").expect("priced");
        let c = cost(&usage(1_000, 500, 2_000, 1_000, 10_000), price);
        assert!(close(c.input_usd, 0.003), "{c:?}");
        assert!(close(c.output_usd, 0.0075), "{c:?}");
        assert!(close(c.cache_write_usd, 0.00975), "{c:?}");
        assert!(close(c.cache_read_usd, 0.003), "{c:?}");
        assert!(close(c.usd, 0.02325), "{c:?}");
        assert_eq!(c.completeness, Completeness::Exact);
    }

    #[test]
    fn opus_4_5_and_haiku_hand_computed() {
        let table = PriceTable::builtin();
        // Opus 4.5 ($5 / $25): 2,000,000 in = $10, 100,000 out = $2.50, 400,000 5m = $2.50
        let opus = table.lookup("claude-opus-4-5").expect("priced");
        let c = cost(&usage(2_000_000, 100_000, 400_000, 0, 0), opus);
        assert!(close(c.usd, 15.0), "{c:?}");
        // Haiku 4.5 ($1 / $5): 1 MTok of 1h writes = $2, 1 MTok reads = $0.10
        let haiku = table.lookup("claude-haiku-4-5-20251001").expect("priced");
        let c = cost(&usage(0, 0, 1_000_000, 1_000_000, 1_000_000), haiku);
        assert!(close(c.usd, 2.1), "{c:?}");
    }

    #[test]
    fn openai_cached_input_hand_computed() {
        // gpt-4.1-mini: $0.40 in, $0.10 cached, $1.60 out. The OpenAI parser reports
        // prompt_tokens minus cached as input: 8,000 uncached + 2,000 cached, 1,000 out.
        let table = PriceTable::builtin();
        let price = table.lookup("gpt-4.1-mini-2025-04-14").expect("priced");
        let u = Usage {
            input_tokens: Some(8_000),
            output_tokens: Some(1_000),
            cache_creation_input_tokens: None,
            cache_read_input_tokens: Some(2_000),
            cache_creation_1h_input_tokens: None,
        };
        let c = cost(&u, price);
        // 0.0032 + 0.0016 + 0.0002
        assert!(close(c.usd, 0.005), "{c:?}");
        assert_eq!(c.completeness, Completeness::Exact);
    }

    #[test]
    fn more_1h_tokens_than_writes_is_clamped() {
        let table = PriceTable::builtin();
        let price = table.lookup("claude-sonnet-4-5").expect("priced");
        let c = cost(&usage(0, 0, 1_000, 5_000, 0), price);
        assert!(close(c.cache_write_usd, 0.006), "{c:?}");
    }

    #[test]
    fn unknown_model_is_price_unknown_never_zero() {
        let table = PriceTable::builtin();
        let view = CostView::of(&table, "llama3.1:8b", &usage(100, 100, 0, 0, 0));
        assert_eq!(view, CostView::Unknown);
        assert_eq!(view.to_string(), "price unknown");
        assert_eq!(view.usd(), None);
    }

    #[test]
    fn demo_costs_zero_explicitly() {
        let table = PriceTable::builtin();
        let view = CostView::of(&table, "demo", &usage(120, 80, 0, 0, 0));
        assert_eq!(view, CostView::Known(0.0));
        assert_eq!(view.to_string(), "$0.0000");
    }

    #[test]
    fn partial_usage_is_an_estimate_of_the_reported_parts() {
        let table = PriceTable::builtin();
        let u = Usage {
            input_tokens: Some(1_000),
            ..Usage::default()
        };
        let view = CostView::of(&table, "claude-sonnet-4-5", &u);
        assert_eq!(view, CostView::Estimate(0.003));
        assert_eq!(view.to_string(), "~$0.0030");
        let none = CostView::of(&table, "claude-sonnet-4-5", &Usage::default());
        assert_eq!(none, CostView::NotReported);
        assert_eq!(none.to_string(), "usage not reported");
    }

    #[test]
    fn formatting() {
        assert_eq!(CostView::Known(0.0123).to_string(), "$0.0123");
        assert_eq!(CostView::Known(12.5).to_string(), "$12.5000");
        assert_eq!(CostView::Known(0.000_01).to_string(), "<$0.0001");
    }

    #[test]
    fn lookup_matches_snapshots_not_plain_prefixes() {
        let table = PriceTable::builtin();
        let name = |m: &str| table.lookup(m).map(|p| p.model.clone());
        assert_eq!(
            name("claude-sonnet-4-5-20250929").as_deref(),
            Some("claude-sonnet-4-5")
        );
        assert_eq!(
            name("claude-opus-4-20250514").as_deref(),
            Some("claude-opus-4-0")
        );
        assert_eq!(
            name("claude-3-5-haiku-latest").as_deref(),
            Some("claude-3-5-haiku")
        );
        assert_eq!(name("gpt-4o-2024-08-06").as_deref(), Some("gpt-4o"));
        assert_eq!(
            name("gpt-4o-mini-2024-07-18").as_deref(),
            Some("gpt-4o-mini")
        );
        assert_eq!(name("GPT-4.1").as_deref(), Some("gpt-4.1"));
        // Not a snapshot of a listed model: unknown rather than wrongly priced.
        assert_eq!(name("gpt-4o-audio-preview"), None);
        assert_eq!(name("claude-opus-4-7"), None);
        assert_eq!(name("o3-pro"), None);
    }

    #[test]
    fn longest_matching_name_wins() {
        let table = PriceTable::with_overrides(
            r#"
            [prices."acme"]
            input = 1
            output = 1
            [prices."acme-2024-01-01"]
            input = 9
            output = 9
            "#,
        )
        .expect("valid");
        let p = table.lookup("acme-2024-01-01").expect("priced");
        assert_eq!(p.model, "acme-2024-01-01");
        assert_eq!(
            table.lookup("acme-20240101").map(|p| p.model.as_str()),
            Some("acme")
        );
    }

    #[test]
    fn overrides_replace_and_add_entries() {
        let config = r#"
            provider = "anthropic"
            model = "claude-sonnet-4-5"

            [prices."claude-sonnet-4-5"]
            input = 2.5
            output = 10

            [prices."llama3.1:8b"]
            input = 0
            output = 0
            cache_read = 0
            aliases = ["llama3.1"]
        "#;
        let table = PriceTable::with_overrides(config).expect("valid overrides");
        let sonnet = table.lookup("claude-sonnet-4-5").expect("priced");
        assert!(close(sonnet.input_per_mtok_usd, 2.5));
        assert!(close(sonnet.output_per_mtok_usd, 10.0));
        // Derived cache prices and the inherited provider.
        assert!(close(sonnet.cache_write_5m_per_mtok_usd, 3.125));
        assert!(close(sonnet.cache_write_1h_per_mtok_usd, 5.0));
        assert!(close(sonnet.cache_read_per_mtok_usd, 0.25));
        assert_eq!(sonnet.provider.as_deref(), Some("anthropic"));
        assert!(table.lookup("llama3.1").is_some());
        assert_eq!(
            CostView::of(&table, "llama3.1:8b", &usage(10, 10, 0, 0, 0)),
            CostView::Known(0.0)
        );
        // Other built-in entries are untouched.
        assert!(close(
            table.lookup("gpt-4o").expect("priced").input_per_mtok_usd,
            2.5
        ));
    }

    #[test]
    fn override_errors_are_clear() {
        let err = |s: &str| {
            PriceTable::with_overrides(s)
                .expect_err("rejected")
                .to_string()
        };
        assert_eq!(
            err("[prices.\"m\"]\ninput = -1\noutput = 1"),
            "price for model \"m\": `input` = -1 must be a finite number >= 0"
        );
        assert_eq!(
            err("[prices.\"m\"]\ninput = 1"),
            "price for model \"m\": `output` is missing (USD per million tokens)"
        );
        assert_eq!(
            err("[prices.\"m\"]\ninput = \"cheap\"\noutput = 1"),
            "price for model \"m\": `input` must be a number (USD per million tokens)"
        );
        assert!(
            err("[prices.\"m\"]\ninput = 1\noutput = 1\ncache_reed = 1").contains("cache_reed")
        );
        assert!(err("prices = 3").contains("table"));
        assert!(err("[prices").starts_with("price table is not valid TOML"));
    }

    #[test]
    fn merge_keeps_the_1h_share_of_cache_writes() {
        // message_start carries the TTL breakdown; a later message_delta without it must not
        // lose it, or 1-hour writes would be priced at the 5-minute rate.
        let mut u = usage(10, 1, 2_000, 1_000, 0);
        u.merge(Usage {
            output_tokens: Some(50),
            ..Usage::default()
        });
        assert_eq!(u.cache_creation_1h_input_tokens, Some(1_000));
        u.merge(Usage {
            cache_creation_1h_input_tokens: Some(1_500),
            ..Usage::default()
        });
        assert_eq!(u.cache_creation_1h_input_tokens, Some(1_500));
    }

    #[test]
    fn cost_view_round_trips_through_its_parts() {
        for v in [
            CostView::Known(0.5),
            CostView::Estimate(0.25),
            CostView::Unknown,
            CostView::NotReported,
        ] {
            assert_eq!(CostView::from_parts(Some(v.kind()), v.usd()), v);
        }
    }
}
