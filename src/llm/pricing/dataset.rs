//! The genai-prices dataset: compressed in the binary, decoded one provider at a time.
//!
//! The crate's `bundled` feature embeds its 780 KB JSON as is and decodes all 47 providers on
//! first use: a ~9 MB `serde_json` tree while decoding and ~6 MB kept afterwards (a compiled
//! regex for each of ~2,000 models), over half the app's peak heap, for a session that prices
//! with one provider. Here the same file ships gzip-compressed (~106 KB,
//! `prices.json.gz`, refreshed by `scripts/update-prices.sh` when the crate is bumped; a test
//! checks it still is the crate's data), is split by provider without building a tree, and a
//! [`Calculator`] is built only for the providers asked for: the provider with its
//! `fallback_model_providers`, a list of providers without their models to find one by API
//! URL, or, for [`super::PriceScope::AnyProvider`], the whole dataset as before.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{LazyLock, OnceLock};

use genai_prices::Calculator;
use serde::Deserialize;
use serde_json::value::RawValue;

/// `data/prices.json` of the genai-prices release named by [`super::DATASET_LABEL`], gzipped.
static COMPRESSED: &[u8] = include_bytes!("prices.json.gz");

/// The dataset's JSON text (a JSON array of providers).
static TEXT: LazyLock<String> = LazyLock::new(|| {
    let mut text = String::new();
    flate2::read::GzDecoder::new(COMPRESSED)
        .read_to_string(&mut text)
        .expect("the compressed price dataset is valid gzip and UTF-8 (checked by a test)");
    text
});

static DATASET: LazyLock<Dataset> = LazyLock::new(|| Dataset::split(&TEXT));

/// The dataset's text, for a test comparing it with the crate's own copy.
#[cfg(test)]
pub(super) fn text() -> &'static str {
    &TEXT
}

/// One provider of the dataset, still as JSON.
struct Entry {
    id: String,
    fallbacks: Vec<String>,
    json: &'static RawValue,
    /// This provider and its fallbacks, decoded on first use (`None`: they failed to decode).
    calculator: OnceLock<Option<Calculator>>,
}

/// The parts of a provider needed to split the dataset; everything else is skipped unread.
#[derive(Deserialize)]
struct Head {
    id: String,
    #[serde(default)]
    fallback_model_providers: Vec<String>,
}

struct Dataset {
    text: &'static str,
    providers: Vec<Entry>,
    /// Every provider without its models: enough to find a provider by API URL.
    index: OnceLock<Option<Calculator>>,
    /// The whole dataset.
    all: OnceLock<Option<Calculator>>,
}

impl Dataset {
    fn split(text: &'static str) -> Dataset {
        let raw: Vec<&'static RawValue> = serde_json::from_str(text).unwrap_or_default();
        let providers = raw
            .into_iter()
            .filter_map(|json| {
                let head: Head = serde_json::from_str(json.get()).ok()?;
                Some(Entry {
                    id: head.id,
                    fallbacks: head.fallback_model_providers,
                    json,
                    calculator: OnceLock::new(),
                })
            })
            .collect();
        Dataset {
            text,
            providers,
            index: OnceLock::new(),
            all: OnceLock::new(),
        }
    }

    fn all(&self) -> Option<&Calculator> {
        self.all
            .get_or_init(|| Calculator::from_json(self.text).ok())
            .as_ref()
    }

    /// The calculator for the provider `id` names exactly (the dataset's ids are lowercase); an
    /// id that is not one (an alias the dataset's `provider_match` knows) gets the whole set,
    /// which resolves it as the crate always did.
    fn provider(&self, id: &str) -> Option<&Calculator> {
        let wanted = id.trim().to_lowercase();
        let Some(entry) = self.providers.iter().find(|p| p.id == wanted) else {
            return self.all();
        };
        entry
            .calculator
            .get_or_init(|| {
                // Dataset order, as the whole set has them; fallbacks are searched one level deep.
                let members: Vec<&str> = self
                    .providers
                    .iter()
                    .filter(|p| p.id == entry.id || entry.fallbacks.contains(&p.id))
                    .map(|p| p.json.get())
                    .collect();
                Calculator::from_json(format!("[{}]", members.join(","))).ok()
            })
            .as_ref()
    }

    fn index(&self) -> Option<&Calculator> {
        self.index
            .get_or_init(|| {
                let no_models: &RawValue = serde_json::from_str("[]").ok()?;
                let heads = self
                    .providers
                    .iter()
                    .map(|p| {
                        let mut fields: BTreeMap<String, &RawValue> =
                            serde_json::from_str(p.json.get()).ok()?;
                        fields.insert("models".into(), no_models);
                        serde_json::to_string(&fields).ok()
                    })
                    .collect::<Option<Vec<String>>>()?;
                Calculator::from_json(format!("[{}]", heads.join(","))).ok()
            })
            .as_ref()
    }
}

/// The calculator that prices requests for `provider` (`None`: any provider, the whole set).
pub(super) fn calculator(provider: Option<&str>) -> Option<&'static Calculator> {
    match provider {
        Some(id) => DATASET.provider(id),
        None => DATASET.all(),
    }
}

/// The id of the dataset's provider whose API is at `url`.
pub(super) fn provider_for_url(url: &str) -> Option<String> {
    DATASET
        .index()?
        .find_provider(None, Some(url))
        .ok()
        .flatten()
        .map(|p| p.id().to_string())
}
