use super::*;
use pretty_assertions::assert_eq;
use std::time::{Duration, UNIX_EPOCH};

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

/// 2026-12-01T00:00:00Z.
fn december_2026() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_083_200)
}

fn anthropic() -> PriceTable {
    PriceTable::new(PriceScope::Provider("anthropic".into()), december_2026())
}

fn openai() -> PriceTable {
    PriceTable::new(
        PriceScope::ApiUrl("https://api.openai.com/v1".into()),
        december_2026(),
    )
}

fn usd(table: &PriceTable, model: &str, u: &Usage) -> f64 {
    table.cost(model, u).expect("priced").usd
}

#[test]
fn dataset_label_matches_cargo_lock() {
    let lock = include_str!("../../../Cargo.lock");
    let version = DATASET_LABEL
        .strip_prefix("genai-prices ")
        .expect("label names the crate");
    assert!(
        lock.contains(&format!(
            "name = \"genai-prices\"\nversion = \"{version}\"\n"
        )),
        "DATASET_LABEL must name the genai-prices version in Cargo.lock"
    );
}

#[test]
fn current_claude_with_both_cache_ttls_from_the_dataset() {
    // claude-sonnet-5-5 (dataset): input $2, output $10, 5m write $2.50, 1h write $4,
    // read $0.10 per MTok.
    // 1,000 input = 0.002; 500 output = 0.005; 1,000 5m writes = 0.0025;
    // 1,000 1h writes = 0.004; 10,000 reads = 0.001; total 0.0145.
    let table = anthropic();
    let u = usage(1_000, 500, 2_000, 1_000, 10_000);
    let cost = table.cost("claude-sonnet-5-5", &u).expect("priced");
    assert!(close(cost.usd, 0.0145), "{cost:?}");
    assert_eq!(cost.source, PriceSource::Dataset);
    assert_eq!(cost.completeness, Completeness::Exact);
    assert_eq!(
        CostView::of(&table, "claude-sonnet-5-5", &u),
        CostView::Known(cost.usd)
    );
}

#[test]
fn current_gpt_on_openai_from_the_dataset_with_its_dated_price_cut() {
    // gpt-5.6-terra: $2 in, $0.20 cached, $12 out since 2026-07-30 (before: $2.50, $15).
    // 8,000 uncached + 2,000 cached, 1,000 out: 0.016 + 0.0004 + 0.012 = 0.0284.
    let u = Usage {
        input_tokens: Some(8_000),
        output_tokens: Some(1_000),
        cache_read_input_tokens: Some(2_000),
        ..Usage::default()
    };
    let table = openai();
    assert_eq!(table.dataset_provider(), Some("openai"));
    assert!(close(usd(&table, "gpt-5.6-terra", &u), 0.0284));
    // The same request in June 2026 was priced at the old rates:
    // 0.02 + 0.0005 + 0.015 = 0.0355.
    let june = UNIX_EPOCH + Duration::from_secs(1_780_272_000);
    let old = PriceTable::new(PriceScope::ApiUrl("https://api.openai.com/v1".into()), june);
    assert!(close(usd(&old, "gpt-5.6-terra", &u), 0.0355));
}

#[test]
fn dated_snapshot_names_match_their_model() {
    // 100,000 input tokens: under the 272K long-context tier of the GPT-5.x models.
    let u = usage(100_000, 0, 0, 0, 0);
    assert!(close(
        usd(&anthropic(), "claude-sonnet-5-5-20261015", &u),
        0.2
    ));
    assert!(close(usd(&openai(), "gpt-5.6-terra-2026-09-30", &u), 0.2));
    assert!(close(usd(&openai(), "gpt-5.4-2026-03-05", &u), 0.25));
    // Above the tier the whole prompt is billed at the long-context rate ($4 for Terra).
    let long = usage(300_000, 0, 0, 0, 0);
    assert!(close(usd(&openai(), "gpt-5.6-terra", &long), 1.2));
}

#[test]
fn the_issue_s_wrong_hand_kept_prices_are_right_in_the_dataset() {
    // claude-3-haiku: cache write $0.30, cache read $0.03 per MTok.
    let writes = usage(0, 0, 1_000_000, 0, 0);
    assert!(close(
        usd(&anthropic(), "claude-3-haiku-20240307", &writes),
        0.30
    ));
    let reads = usage(0, 0, 0, 0, 1_000_000);
    assert!(close(
        usd(&anthropic(), "claude-3-haiku-20240307", &reads),
        0.03
    ));
    // gpt-4o-2024-05-13 was $5 / $15, not gpt-4o's $2.50 / $10.
    let u = usage(1_000_000, 1_000_000, 0, 0, 0);
    assert!(close(usd(&openai(), "gpt-4o-2024-05-13", &u), 20.0));
    assert!(close(usd(&openai(), "gpt-4o", &u), 12.5));
}

#[test]
fn unknown_model_is_price_unknown_never_zero() {
    let view = CostView::of(&openai(), "llama3.1:8b", &usage(100, 100, 0, 0, 0));
    assert_eq!(view, CostView::Unknown);
    assert_eq!(view.to_string(), "price unknown");
    assert_eq!(view.usd(), None);
    assert_eq!(openai().source("llama3.1:8b"), None);
}

#[test]
fn a_local_server_is_not_priced_as_some_provider() {
    // llama.cpp on loopback serving a name the dataset knows elsewhere: not billed, so
    // no dataset price applies.
    let local = PriceTable::new(
        PriceScope::ApiUrl("http://127.0.0.1:8080/v1".into()),
        december_2026(),
    );
    assert_eq!(local.dataset_provider(), None);
    assert_eq!(
        CostView::of(&local, "gpt-5.6-terra", &usage(10, 10, 0, 0, 0)),
        CostView::Unknown
    );
}

#[test]
fn the_provider_scope_picks_that_provider_s_rates() {
    // Asking Anthropic for an OpenAI model name finds nothing rather than OpenAI's rate.
    assert_eq!(anthropic().source("gpt-5.6-terra"), None);
    assert_eq!(
        anthropic().source("claude-opus-5"),
        Some(PriceSource::Dataset)
    );
}

#[test]
fn demo_costs_zero_explicitly() {
    let table = PriceTable::new(PriceScope::ConfigOnly, december_2026());
    let view = CostView::of(&table, "demo", &usage(120, 80, 0, 0, 0));
    assert_eq!(view, CostView::Known(0.0));
    assert_eq!(view.to_string(), "$0.0000");
    assert_eq!(table.source("demo"), Some(PriceSource::Demo));
}

#[test]
fn partial_usage_is_an_estimate_of_the_reported_parts() {
    let table = anthropic();
    let u = Usage {
        input_tokens: Some(1_000),
        ..Usage::default()
    };
    let view = CostView::of(&table, "claude-sonnet-5-5", &u);
    assert_eq!(view, CostView::Estimate(0.002));
    assert_eq!(view.to_string(), "~$0.0020");
    let none = CostView::of(&table, "claude-sonnet-5-5", &Usage::default());
    assert_eq!(none, CostView::NotReported);
    assert_eq!(none.to_string(), "usage not reported");
}

#[test]
fn formatting() {
    assert_eq!(CostView::Known(0.0123).to_string(), "$0.0123");
    assert_eq!(CostView::Known(12.5).to_string(), "$12.5000");
    assert_eq!(CostView::Known(0.000_01).to_string(), "<$0.0001");
    assert_eq!(PriceSource::Dataset.label(), DATASET_LABEL);
    assert_eq!(PriceSource::Config.label(), "config");
}

#[test]
fn config_overrides_win_over_the_dataset_and_add_models() {
    let prices: toml::Table = toml::from_str(
        r#"
            [prices."claude-sonnet-5-5"]
            input = 1.5
            output = 7

            [prices."llama3.1:8b"]
            input = 0
            output = 0
            aliases = ["llama3.1"]
            "#,
    )
    .expect("toml");
    let Some(toml::Value::Table(prices)) = prices.get("prices") else {
        panic!("a prices table")
    };
    let table = anthropic().overridden_by(prices).expect("valid overrides");
    let sonnet = table.lookup("claude-sonnet-5-5").expect("priced");
    assert!(close(sonnet.input_per_mtok_usd, 1.5));
    // Derived cache prices: Anthropic's multipliers on the override's input price.
    assert!(close(sonnet.cache_write_5m_per_mtok_usd, 1.875));
    assert!(close(sonnet.cache_write_1h_per_mtok_usd, 3.0));
    assert!(close(sonnet.cache_read_per_mtok_usd, 0.15));
    // Snapshots of an overridden name use the override too.
    let cost = table
        .cost("claude-sonnet-5-5-20261015", &usage(1_000_000, 0, 0, 0, 0))
        .expect("priced");
    assert_eq!(cost.source, PriceSource::Config);
    assert!(close(cost.usd, 1.5));
    assert_eq!(table.source("llama3.1"), Some(PriceSource::Config));
    assert_eq!(
        CostView::of(&table, "llama3.1:8b", &usage(10, 10, 0, 0, 0)),
        CostView::Known(0.0)
    );
    // Other models still come from the dataset.
    assert_eq!(table.source("claude-opus-5"), Some(PriceSource::Dataset));
}

#[test]
fn longest_matching_override_wins() {
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
    // A plain prefix is not a snapshot.
    assert_eq!(table.lookup("acme-pro"), None);
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
    assert!(err("[prices.\"m\"]\ninput = 1\noutput = 1\ncache_reed = 1").contains("cache_reed"));
    assert!(err("prices = 3").contains("table"));
    assert!(err("[prices").starts_with("price table is not valid TOML"));
}

#[test]
fn more_1h_tokens_than_writes_is_clamped() {
    // 1,000 writes reported, 5,000 of them "1h": all 1,000 at the 1h rate ($4/MTok).
    let cost = usd(
        &anthropic(),
        "claude-sonnet-5-5",
        &usage(0, 0, 1_000, 5_000, 0),
    );
    assert!(close(cost, 0.004), "{cost}");
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

/// What `calc` makes of `usage` of `model` at `provider`, in December 2026: the model it
/// matched and the total.
fn price_of(
    calc: &genai_prices::Calculator,
    provider: &str,
    model: &str,
    usage: &genai_prices::Usage,
) -> Result<(String, f64), String> {
    let request = PriceRequest::new(model, usage)
        .with_provider_id(provider)
        .with_timestamp(december_2026());
    calc.calculate(&request)
        .map(|p| (p.model_id, p.total_price))
        .map_err(|e| e.to_string())
}

/// Every (provider, model) of a calculator with what each costs for one usage: the dataset as
/// pricing sees it.
fn priced_catalog(calc: &genai_prices::Calculator) -> Vec<String> {
    let mut usage = genai_prices::Usage::new();
    usage.insert(genai_prices::UsageKey::INPUT_TOKENS, 12_345.0);
    usage.insert(genai_prices::UsageKey::OUTPUT_TOKENS, 678.0);
    usage.insert(genai_prices::UsageKey::CACHE_READ_TOKENS, 1_000.0);
    let mut rows = Vec::new();
    for provider in calc.providers() {
        let flavors: Vec<&str> = provider.api_flavors().collect();
        rows.push(format!("{} {} {flavors:?}", provider.id(), provider.name()));
        for model in provider.models() {
            let price = price_of(calc, provider.id(), model.id(), &usage);
            rows.push(format!(
                "  {} {:?} {:?} {price:?}",
                model.id(),
                model.name(),
                model.context_window()
            ));
        }
    }
    rows
}

#[test]
fn the_compressed_dataset_is_the_crates() {
    // After bumping genai-prices: scripts/update-prices.sh.
    let ours = genai_prices::Calculator::from_json(dataset::text()).expect("decodes");
    let crates = genai_prices::Calculator::bundled();
    assert!(crates.providers().count() > 10);
    assert_eq!(priced_catalog(&ours), priced_catalog(crates));
}

#[test]
fn one_provider_decoded_alone_prices_as_the_whole_dataset() {
    let whole = dataset::calculator(None).expect("decodes");
    let mut usage = genai_prices::Usage::new();
    usage.insert(genai_prices::UsageKey::INPUT_TOKENS, 1_000.0);
    usage.insert(genai_prices::UsageKey::OUTPUT_TOKENS, 100.0);
    // Its own models, and the models of the providers others fall back to.
    let common = [
        "openai",
        "anthropic",
        "deepseek",
        "x-ai",
        "moonshotai",
        "google",
    ];
    let mut checked = 0;
    for provider in whole.providers() {
        let alone = dataset::calculator(Some(provider.id())).expect("decodes");
        for other in whole.providers() {
            if other.id() != provider.id() && !common.contains(&other.id()) {
                continue;
            }
            for model in other.models() {
                let a = price_of(alone, provider.id(), model.id(), &usage);
                let b = price_of(whole, provider.id(), model.id(), &usage);
                assert_eq!(a.is_ok(), b.is_ok(), "{} {}", provider.id(), model.id());
                assert_eq!(a.ok(), b.ok(), "{} {}", provider.id(), model.id());
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000);
}

#[test]
fn providers_are_found_by_url_without_decoding_their_models() {
    let whole = dataset::calculator(None).expect("decodes");
    for url in [
        "https://api.openai.com/v1",
        "https://openrouter.ai/api/v1",
        "https://api.groq.com/openai/v1",
        "https://api.anthropic.com",
        "https://api.x.ai/v1",
        "https://generativelanguage.googleapis.com/v1beta/openai/",
        "http://localhost:11434/v1",
        "http://127.0.0.1:8080",
    ] {
        let expected = whole
            .find_provider(None, Some(url))
            .ok()
            .flatten()
            .map(|p| p.id().to_string());
        assert_eq!(dataset::provider_for_url(url), expected, "{url}");
    }
    assert_eq!(
        dataset::provider_for_url("https://api.openai.com/v1").as_deref(),
        Some("openai")
    );
}
