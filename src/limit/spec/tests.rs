use super::*;
use pretty_assertions::assert_eq;

fn limit(n: u32, secs: u64) -> RateLimit {
    RateLimit {
        max_requests: n,
        window: Duration::from_secs(secs),
    }
}

#[test]
fn limit_parses_the_documented_forms() {
    assert_eq!("20/1h".parse(), Ok(limit(20, 3600)));
    assert_eq!("5/1m".parse(), Ok(limit(5, 60)));
    assert_eq!("100/30s".parse(), Ok(limit(100, 30)));
    assert_eq!("1000/1d".parse(), Ok(limit(1000, 86_400)));
    assert_eq!("3/2h".parse(), Ok(limit(3, 7200)));
    assert_eq!(" 7 / 15m ".parse(), Ok(limit(7, 900)));
    assert_eq!("20/h".parse(), Ok(limit(20, 3600)));
}

#[test]
fn limit_setting_parses_off_and_limits() {
    assert_eq!("off".parse(), Ok(LimitSetting::Off));
    assert_eq!("OFF".parse(), Ok(LimitSetting::Off));
    assert_eq!("3/1m".parse(), Ok(LimitSetting::Limit(limit(3, 60))));
    assert_eq!(
        LimitSetting::default(),
        LimitSetting::Limit(DEFAULT_RATE_LIMIT)
    );
    assert_eq!(DEFAULT_RATE_LIMIT.to_string(), "20/1h");
}

#[test]
fn limit_rejects_bad_values_with_clear_errors() {
    let err = |s: &str| s.parse::<LimitSetting>().unwrap_err();
    assert_eq!(
        err("0/1h"),
        ParseLimitError::ZeroCount {
            input: "0/1h".into()
        }
    );
    assert_eq!(
        err("abc"),
        ParseLimitError::Format {
            input: "abc".into()
        }
    );
    assert_eq!(
        err("5/0s"),
        ParseLimitError::ZeroWindow {
            input: "5/0s".into()
        }
    );
    assert_eq!(
        err("5/10"),
        ParseLimitError::MissingUnit {
            input: "5/10".into()
        }
    );
    assert_eq!(err(""), ParseLimitError::Empty);
    assert_eq!(
        err("x/1h"),
        ParseLimitError::BadCount {
            input: "x/1h".into()
        }
    );
    assert_eq!(
        err("-1/1h"),
        ParseLimitError::BadCount {
            input: "-1/1h".into()
        }
    );
    assert_eq!(
        err("5/1y"),
        ParseLimitError::UnknownUnit {
            input: "5/1y".into(),
            unit: "y".into()
        }
    );
    assert_eq!(
        err("99999999999/1h"),
        ParseLimitError::CountTooLarge {
            input: "99999999999/1h".into()
        }
    );
    assert!(err("0/1h").to_string().contains("use `off`"));
    assert!(err("5/10").to_string().contains("needs a unit"));
}

#[test]
fn limit_display_round_trips() {
    for text in [
        "20/1h", "5/1m", "100/30s", "1000/1d", "3/2h", "7/90s", "off",
    ] {
        let setting: LimitSetting = text.parse().unwrap();
        assert_eq!(setting.to_string(), text);
    }
    assert_eq!(format_window(Duration::from_millis(1500)), "1500ms");
}

#[test]
fn limit_budgets_parse() {
    assert_eq!(
        "200000/1h".parse(),
        Ok(TokenBudget {
            max_tokens: 200_000,
            window: Duration::from_secs(3600)
        })
    );
    assert_eq!("$5".parse(), Ok(DailyUsdBudget { max_usd: 5.0 }));
    assert_eq!("2.50".parse(), Ok(DailyUsdBudget { max_usd: 2.5 }));
    assert!("0".parse::<DailyUsdBudget>().is_err());
    assert!("-1".parse::<DailyUsdBudget>().is_err());
    assert!("nan".parse::<DailyUsdBudget>().is_err());
}

#[test]
fn limit_store_spec_parses_and_masks_passwords() {
    assert_eq!("memory".parse(), Ok(StoreSpec::Memory));
    assert_eq!("sqlite".parse(), Ok(StoreSpec::Sqlite));
    assert_eq!(
        "redis://127.0.0.1:6379/2".parse(),
        Ok(StoreSpec::Redis("redis://127.0.0.1:6379/2".into()))
    );
    let spec: StoreSpec = "redis://:hunter2@cache:6379/0".parse().unwrap();
    assert_eq!(spec.describe(), "redis://***@cache:6379/0");
    let err = "postgres://x".parse::<StoreSpec>().unwrap_err();
    assert!(err.to_string().contains("memory, sqlite or redis://"));
    let err = "mongodb://u:secret@h/db".parse::<StoreSpec>().unwrap_err();
    assert!(!err.to_string().contains("secret"));
}

#[test]
fn limit_file_config_resolves_with_flag_override() {
    let file: LimitFileConfig = toml::from_str(
        "rate_limit = \"5/1m\"\nstore = \"memory\"\ntoken_budget = \"1000/1h\"\ndaily_usd = 2.5\n",
    )
    .unwrap();
    let (limits, store, ns) = file.resolve(None).unwrap();
    assert_eq!(limits.requests, LimitSetting::Limit(limit(5, 60)));
    assert_eq!(limits.tokens.map(|t| t.max_tokens), Some(1000));
    assert_eq!(limits.daily_usd, Some(DailyUsdBudget { max_usd: 2.5 }));
    assert_eq!(store, StoreSpec::Memory);
    assert_eq!(ns, DEFAULT_NAMESPACE);
    let (limits, store, _) = LimitFileConfig::default()
        .resolve(Some(LimitSetting::Off))
        .unwrap();
    assert_eq!(limits.requests, LimitSetting::Off);
    assert_eq!(store, StoreSpec::Sqlite);
    assert_eq!(
        limits.to_string(),
        "no rate limit",
        "describes an unlimited config"
    );
}
