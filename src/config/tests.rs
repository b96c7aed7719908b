use pretty_assertions::assert_eq;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with_data_dir() -> Overrides {
    Overrides {
        data_dir: Some("/tmp/pd".into()),
        ..Overrides::default()
    }
}

#[test]
fn nothing_configured_is_a_first_run_with_the_demo() {
    let r = resolve(&with_data_dir(), &FileConfig::default(), &env(&[]), None).unwrap();
    assert_eq!(
        (r.provider, r.first_run, r.model.as_str()),
        (ProviderKind::Demo, true, "demo")
    );
    assert_eq!(r.endpoint.is_none(), true);
}

#[test]
fn provider_precedence_is_flag_file_anthropic_env_openai_env() {
    let both = env(&[("ANTHROPIC_API_KEY", "a"), ("OPENAI_API_KEY", "o")]);
    let pick = |o: &Overrides, f: &FileConfig, e: &HashMap<String, String>| {
        resolve(o, f, e, None).unwrap().provider
    };
    assert_eq!(
        pick(&with_data_dir(), &FileConfig::default(), &both),
        ProviderKind::Anthropic
    );
    let file = FileConfig {
        provider: Some(ProviderKind::Openai),
        ..FileConfig::default()
    };
    assert_eq!(pick(&with_data_dir(), &file, &both), ProviderKind::Openai);
    let flag = Overrides {
        provider: Some(ProviderKind::Demo),
        ..with_data_dir()
    };
    assert_eq!(pick(&flag, &file, &both), ProviderKind::Demo);
    let local = env(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")]);
    let r = resolve(&with_data_dir(), &FileConfig::default(), &local, None).unwrap();
    assert_eq!(r.provider, ProviderKind::Openai);
    let endpoint = r.endpoint.unwrap();
    assert_eq!(endpoint.base_url, "http://127.0.0.1:11434/v1");
    assert_eq!(endpoint.api_key, None, "a local server needs no key");
}

#[test]
fn the_readme_config_example_is_a_valid_config() {
    let readme = include_str!("../../README.md");
    let start = readme.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let end = start + readme[start..].find("```").expect("closed");
    let file = FileConfig::parse(&readme[start..end], Path::new("README.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.fallback, vec!["claude-haiku-4-5".to_string()]);
}

#[test]
fn parse_errors_never_echo_the_line_that_may_hold_a_key() {
    let err = FileConfig::parse(
        "provider = \"anthropic\"\napikey = \"sk-ant-very-secret\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(!err.contains("sk-ant-very-secret"), "{err}");
    assert!(err.contains("apikey") && err.contains("line 2"), "{err}");
}

#[test]
fn bad_values_are_named() {
    let r = resolve(
        &Overrides {
            provider: Some(ProviderKind::Anthropic),
            ..with_data_dir()
        },
        &FileConfig::default(),
        &env(&[]),
        None,
    );
    assert!(r.unwrap_err().to_string().contains("ANTHROPIC_API_KEY"));
    let err = FileConfig::parse("provider = \"gemini\"", Path::new("/x/config.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/x/config.toml") && err.contains("gemini"),
        "{err}"
    );
    let err = FileConfig::parse("[timeouts]\nidle_read = 5", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("idle_read"), "{err}");
    let file = FileConfig::parse("[timeouts]\nidle_read_ms = 0", Path::new("c.toml")).unwrap();
    let err = resolve(&with_data_dir(), &file, &env(&[]), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("idle_read_ms"), "{err}");
}

#[test]
fn file_settings_apply_and_keys_come_from_the_named_variable() {
    let file = FileConfig::parse(
        r#"
            provider = "anthropic"
            max_tokens = 512
            [anthropic]
            base_url = "http://127.0.0.1:9999/"
            api_key_env = "TEAM_KEY"
            model = "claude-haiku-4-5"
            [timeouts]
            idle_read_ms = 1500
            "#,
        Path::new("c.toml"),
    )
    .unwrap();
    let r = resolve(&with_data_dir(), &file, &env(&[("TEAM_KEY", "k-1")]), None).unwrap();
    assert_eq!(r.model, "claude-haiku-4-5");
    assert_eq!(r.max_tokens, 512);
    let endpoint = r.endpoint.unwrap();
    assert_eq!(endpoint.base_url, "http://127.0.0.1:9999");
    assert_eq!(endpoint.api_key.as_ref().map(ApiKey::expose), Some("k-1"));
    assert_eq!(endpoint.timeouts.idle_read, Duration::from_millis(1500));
    assert_eq!(
        format!("{:?}", endpoint).contains("k-1"),
        false,
        "keys never print"
    );
}

#[test]
fn openai_max_tokens_field_is_typed_and_only_allowed_in_openai() {
    let local = env(&[("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")]);
    let r = resolve(&with_data_dir(), &FileConfig::default(), &local, None).unwrap();
    assert_eq!(
        r.openai_max_tokens_field, None,
        "unset: the provider's rule"
    );
    let file = FileConfig::parse(
        "[openai]\nmax_tokens_field = \"max_completion_tokens\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let r = resolve(&with_data_dir(), &file, &local, None).unwrap();
    assert_eq!(
        r.openai_max_tokens_field,
        Some(MaxTokensField::MaxCompletionTokens)
    );
    let err = FileConfig::parse(
        "[openai]\nmax_tokens_field = \"max_output_tokens\"\n",
        Path::new("c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("max_tokens_field")
            && err.contains("max_output_tokens")
            && err.contains("max_completion_tokens"),
        "{err}"
    );
    let file = FileConfig::parse(
        "[anthropic]\nmax_tokens_field = \"max_tokens\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let err = resolve(&with_data_dir(), &file, &local, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[anthropic] max_tokens_field") && err.contains("[openai]"),
        "{err}"
    );
}

#[test]
fn limit_and_prices_default_to_the_builtin_values() {
    let r = resolve(&with_data_dir(), &FileConfig::default(), &env(&[]), None).unwrap();
    assert_eq!(
        r.limit,
        LimitChoice {
            config: LimitConfig::default(),
            store: StoreSpec::Sqlite,
            namespace: crate::limit::DEFAULT_NAMESPACE.to_string(),
        }
    );
    assert_eq!(r.limit.config.to_string(), "20/1h");
    // The demo prices nothing from the dataset: only itself, free.
    assert_eq!(
        *r.prices,
        PriceTable::new(PriceScope::ConfigOnly, std::time::SystemTime::now())
    );
}

#[test]
fn limit_table_resolves_and_the_flag_overrides_its_rate_limit() {
    let file = FileConfig::parse(
        r#"
            [limit]
            rate_limit = "5/1m"
            store = "memory"
            namespace = "team"
            token_budget = "1000/1h"
            daily_usd = 2.5
            "#,
        Path::new("c.toml"),
    )
    .unwrap();
    let r = resolve(&with_data_dir(), &file, &env(&[]), None).unwrap();
    assert_eq!(r.limit.store, StoreSpec::Memory);
    assert_eq!(r.limit.namespace, "team");
    assert_eq!(
        r.limit.config.to_string(),
        "5/1m, 1000 tokens/1h, $2.50/day"
    );
    let flag = Overrides {
        rate_limit: Some(LimitSetting::Off),
        ..with_data_dir()
    };
    let r = resolve(&flag, &file, &env(&[]), None).unwrap();
    assert_eq!(r.limit.config.requests, LimitSetting::Off);
    assert_eq!(
        r.limit.config.tokens.map(|t| t.max_tokens),
        Some(1000),
        "the flag only replaces the request limit"
    );
    let flag = Overrides {
        rate_limit: Some("3/1m".parse().unwrap()),
        ..with_data_dir()
    };
    let r = resolve(&flag, &FileConfig::default(), &env(&[]), None).unwrap();
    assert_eq!(r.limit.config.to_string(), "3/1m");
}

#[test]
fn bad_limit_values_name_their_field() {
    let cases = [
        ("rate_limit = \"5/10\"", "rate_limit"),
        ("rate_limit = \"0/1m\"", "rate_limit"),
        ("token_budget = \"lots\"", "token_budget"),
        ("daily_usd = -1.0", "daily_usd"),
        ("store = \"mongodb://x\"", "store"),
        ("namespace = \" \"", "namespace"),
    ];
    for (line, name) in cases {
        let file = FileConfig::parse(&format!("[limit]\n{line}\n"), Path::new("c.toml"))
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        let err = resolve(&with_data_dir(), &file, &env(&[]), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[limit]") && err.contains(name),
            "{line}: {err}"
        );
    }
    let err = FileConfig::parse("[limit]\nrate = \"5/1m\"\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("rate"), "{err}");
}

#[test]
fn default_models_are_current_models_the_dataset_prices() {
    use crate::llm::pricing::PriceSource;
    let anthropic = PriceTable::new(
        PriceScope::Provider("anthropic".into()),
        std::time::SystemTime::now(),
    );
    assert_eq!(
        anthropic.source(DEFAULT_ANTHROPIC_MODEL),
        Some(PriceSource::Dataset)
    );
    let openai = PriceTable::new(
        PriceScope::ApiUrl(DEFAULT_OPENAI_BASE_URL.into()),
        std::time::SystemTime::now(),
    );
    assert_eq!(
        openai.source(DEFAULT_OPENAI_MODEL),
        Some(PriceSource::Dataset)
    );
}

#[test]
fn prices_are_scoped_to_the_provider_that_bills() {
    let anthropic = resolve(
        &with_data_dir(),
        &FileConfig::default(),
        &env(&[("ANTHROPIC_API_KEY", "k")]),
        None,
    )
    .unwrap();
    assert_eq!(anthropic.prices.dataset_provider(), Some("anthropic"));
    let openai = resolve(
        &with_data_dir(),
        &FileConfig::default(),
        &env(&[("OPENAI_API_KEY", "k")]),
        None,
    )
    .unwrap();
    assert_eq!(openai.prices.dataset_provider(), Some("openai"));
    let local = resolve(
        &with_data_dir(),
        &FileConfig::default(),
        &env(&[("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")]),
        None,
    )
    .unwrap();
    assert_eq!(local.prices.dataset_provider(), None);
}

#[test]
fn price_overrides_apply_and_bad_ones_name_the_model_and_field() {
    let file = FileConfig::parse(
        r#"
            [prices."my-local-model"]
            input = 1.0
            output = 2.0
            "#,
        Path::new("c.toml"),
    )
    .unwrap();
    let r = resolve(
        &with_data_dir(),
        &file,
        &env(&[("ANTHROPIC_API_KEY", "k")]),
        None,
    )
    .unwrap();
    let price = r.prices.lookup("my-local-model").expect("override added");
    assert_eq!(
        (price.input_per_mtok_usd, price.output_per_mtok_usd),
        (1.0, 2.0)
    );
    assert_eq!(
        r.prices.source("claude-sonnet-5-5"),
        Some(crate::llm::pricing::PriceSource::Dataset),
        "the dataset still prices the rest"
    );
    let file = FileConfig::parse(
        "[prices.\"my-local-model\"]\ninput = \"cheap\"\noutput = 2.0\n",
        Path::new("c.toml"),
    )
    .unwrap();
    let err = resolve(&with_data_dir(), &file, &env(&[]), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[prices]") && err.contains("my-local-model") && err.contains("input"),
        "{err}"
    );
}

#[test]
fn keys_urls_and_retry_delays_that_cannot_work_are_named_at_start_up() {
    let err = |e: &HashMap<String, String>, file: &FileConfig| {
        resolve(&with_data_dir(), file, e, None)
            .unwrap_err()
            .to_string()
    };
    let bad_key = env(&[("ANTHROPIC_API_KEY", "sk-ant-12\u{7}34")]);
    let message = err(&bad_key, &FileConfig::default());
    assert!(message.contains("ANTHROPIC_API_KEY"), "{message}");
    assert!(message.contains("control character"), "{message}");
    assert!(
        !message.contains("sk-ant-12"),
        "the key is never shown: {message}"
    );

    let bad_port = env(&[
        ("ANTHROPIC_API_KEY", "sk-ant-1234"),
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:99999"),
    ]);
    let message = err(&bad_port, &FileConfig::default());
    assert!(
        message.contains("not a valid URL") && message.contains("ANTHROPIC_BASE_URL"),
        "{message}"
    );

    let key = env(&[("ANTHROPIC_API_KEY", "sk-ant-1234")]);
    let absurd = FileConfig {
        retry: RetrySection {
            base_delay_ms: Some(u64::MAX),
            ..RetrySection::default()
        },
        ..FileConfig::default()
    };
    let message = err(&key, &absurd);
    assert!(message.contains("[retry] base_delay_ms"), "{message}");
    let upside_down = FileConfig {
        retry: RetrySection {
            base_delay_ms: Some(5_000),
            max_delay_ms: Some(1_000),
            ..RetrySection::default()
        },
        ..FileConfig::default()
    };
    let message = err(&key, &upside_down);
    assert!(message.contains("larger than max_delay_ms"), "{message}");
}

#[test]
fn a_theme_file_that_cannot_be_read_is_named_as_a_theme_file() {
    let overrides = Overrides {
        theme: Some("/nonexistent/theme.toml".into()),
        ..with_data_dir()
    };
    let message = resolve(&overrides, &FileConfig::default(), &env(&[]), None)
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("cannot read theme file /nonexistent/theme.toml"),
        "{message}"
    );
}

#[test]
fn the_log_goes_to_the_state_dir_unless_a_data_dir_was_chosen() {
    let data = Path::new("/data/promptdeck");
    let state = || Some(PathBuf::from("/home/u/.local/state/promptdeck"));
    assert_eq!(
        [
            log_dir(data, false, state()),
            log_dir(data, true, state()),
            log_dir(data, false, None),
        ],
        [
            PathBuf::from("/home/u/.local/state/promptdeck"),
            PathBuf::from("/data/promptdeck"),
            PathBuf::from("/data/promptdeck"),
        ]
    );
}
