//! What a request cost and how it reads: [`Cost`] for one request, [`CostView`] as the user
//! sees it, and the arithmetic behind them — pricing a [`Usage`] with a config entry, and
//! restating it in the dataset's vocabulary. Which price applies to a model is the parent
//! module's [`PriceTable`]; the accounting rules are in its docs.

use genai_prices::UsageKey;
use serde::{Deserialize, Serialize};

use super::{Price, PriceSource, PriceTable, Usage};

const TOKENS_PER_MTOK: f64 = 1_000_000.0;

/// What one request cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cost {
    /// The total.
    pub usd: f64,
    /// Whether every number needed was reported.
    pub completeness: Completeness,
    /// Who priced it.
    pub source: PriceSource,
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
    /// The model has no price: shown as "price unknown", never as $0. In JSON
    /// `price_unknown`, as the log's `cost_kind` names it.
    #[serde(rename = "price_unknown", alias = "unknown")]
    Unknown,
    /// The server reported no token counts at all.
    NotReported,
}

impl CostView {
    /// Prices `usage` for `model` with `table`.
    pub fn of(table: &PriceTable, model: &str, usage: &Usage) -> CostView {
        if !table.knows(model) {
            return CostView::Unknown;
        }
        if usage.is_unreported() {
            return CostView::NotReported;
        }
        match table.cost(model, usage) {
            None => CostView::Unknown,
            Some(c) => match c.completeness {
                Completeness::Exact => CostView::Known(c.usd),
                Completeness::Partial => CostView::Estimate(c.usd),
            },
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

pub(super) fn completeness(usage: &Usage) -> Completeness {
    if usage.input_tokens.is_some() && usage.output_tokens.is_some() {
        Completeness::Exact
    } else {
        Completeness::Partial
    }
}

/// Prices `usage` with a config entry (see the [module docs](super) for the accounting).
pub(super) fn config_cost(usage: &Usage, price: &Price, source: PriceSource) -> Cost {
    let per = |tokens: u64, per_mtok_usd: f64| tokens as f64 * per_mtok_usd / TOKENS_PER_MTOK;
    let written = usage.cache_creation_input_tokens.unwrap_or(0);
    let written_1h = usage
        .cache_creation_1h_input_tokens
        .unwrap_or(0)
        .min(written);
    let usd = per(usage.input_tokens.unwrap_or(0), price.input_per_mtok_usd)
        + per(usage.output_tokens.unwrap_or(0), price.output_per_mtok_usd)
        + per(written_1h, price.cache_write_1h_per_mtok_usd)
        + per(written - written_1h, price.cache_write_5m_per_mtok_usd)
        + per(
            usage.cache_read_input_tokens.unwrap_or(0),
            price.cache_read_per_mtok_usd,
        );
    Cost {
        usd,
        completeness: completeness(usage),
        source,
    }
}

/// Our [`Usage`] in the dataset's vocabulary: `input_tokens` is the total input, with the
/// cache reads and writes inside it.
pub(super) fn dataset_usage(usage: &Usage) -> genai_prices::Usage {
    let written = usage.cache_creation_input_tokens.unwrap_or(0);
    let written_1h = usage
        .cache_creation_1h_input_tokens
        .unwrap_or(0)
        .min(written);
    let read = usage.cache_read_input_tokens.unwrap_or(0);
    let input = usage.input_tokens.unwrap_or(0);
    let mut out = genai_prices::Usage::new();
    out.insert(UsageKey::INPUT_TOKENS, (input + written + read) as f64);
    out.insert(
        UsageKey::OUTPUT_TOKENS,
        usage.output_tokens.unwrap_or(0) as f64,
    );
    if written > 0 {
        out.insert(UsageKey::CACHE_WRITE_TOKENS, written as f64);
    }
    if written_1h > 0 {
        out.insert(UsageKey::CACHE_WRITE_1H_TOKENS, written_1h as f64);
    }
    if read > 0 {
        out.insert(UsageKey::CACHE_READ_TOKENS, read as f64);
    }
    out
}
