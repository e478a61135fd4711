//! Tests of the configuration: every variable, its checks and its messages.
use super::*;
use proptest::prelude::*;

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_vars(pairs.iter().copied())
}

#[test]
fn defaults_match_the_contract() {
    let c = load(&[]).unwrap();
    assert_eq!(c.window.window, Duration::from_secs(900));
    assert_eq!(c.window.interval, Duration::from_secs(30));
    assert_eq!(c.window.fail_threshold, 3);
    assert!((c.window.ratio_threshold.get() - 0.05).abs() < f64::EPSILON);
    assert_eq!(c.window.min_requests, 20);
    assert_eq!(c.window.health_timeout, Duration::from_secs(5));
    assert!(c.switches.enabled);
    assert_eq!(c.switches.rollback, RollbackMode::Auto);
    assert_eq!(c.switches.docker, "docker");
    assert_eq!(c.switches.compose, ComposeProgram::Auto);
    assert_eq!(c.scope.self_repo.as_str(), "orchestrator");
    assert_eq!(c.scope.self_container, "orchestrator");
    assert!(c.scope.repos.is_empty());
    assert_eq!(c.state_dir, PathBuf::from("."));
}

#[test]
fn every_default_in_the_table_parses_to_the_default() {
    let c = Config::from_vars(VARIABLES.iter().copied()).unwrap();
    assert_eq!(c, load(&[]).unwrap());
}

#[test]
fn log_keys_are_read_and_refused_naming_the_variable() {
    let c = load(&[]).unwrap();
    assert_eq!(c.window.log_keys, LogKeys::default());
    let c = load(&[
        (
            LOG_STATUS_KEYS,
            " DownstreamStatus, http.response.status_code ",
        ),
        (LOG_DURATION_KEYS, "Duration:ns,event.duration:ns"),
    ])
    .unwrap();
    assert_eq!(
        c.window.log_keys.status_list(),
        "DownstreamStatus,http.response.status_code"
    );
    assert_eq!(
        c.window.log_keys.duration_list(),
        "Duration:ns,event.duration:ns"
    );
    for (variable, value) in [
        (LOG_STATUS_KEYS, "status,,code"),
        (LOG_STATUS_KEYS, "http..status"),
        (LOG_STATUS_KEYS, "status code"),
        (LOG_DURATION_KEYS, "Duration"),
        (LOG_DURATION_KEYS, "Duration:min"),
        (LOG_DURATION_KEYS, "a:ms,:s"),
    ] {
        let err = load(&[(variable, value)]).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("invalid {variable}={value:?}: ")),
            "{err}"
        );
    }
    // Recorded with the window; a window armed before keys were recorded reads by the
    // default keys.
    let json = serde_json::to_value(&c.window).unwrap();
    assert_eq!(
        json["log_keys"]["status"],
        serde_json::json!(["DownstreamStatus", "http.response.status_code"])
    );
    let mut old = serde_json::to_value(WindowSettings::default()).unwrap();
    old.as_object_mut().unwrap().remove("log_keys");
    let old: WindowSettings = serde_json::from_value(old).unwrap();
    assert_eq!(old.log_keys, LogKeys::default());
}

#[test]
fn clf_duration_unit_is_read_recorded_and_refused_naming_the_variable() {
    assert_eq!(
        load(&[]).unwrap().window.log_keys.clf_unit(),
        DurationUnit::Us
    );
    for (value, unit) in [
        ("us", DurationUnit::Us),
        ("ms", DurationUnit::Ms),
        (" s ", DurationUnit::S),
        ("", DurationUnit::Us),
    ] {
        let c = load(&[(LOG_CLF_DURATION_UNIT, value)]).unwrap();
        assert_eq!(c.window.log_keys.clf_unit(), unit, "{value:?}");
    }
    for value in ["ns", "MS", "min", "1", "ms,s"] {
        let err = load(&[(LOG_CLF_DURATION_UNIT, value)])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("invalid {LOG_CLF_DURATION_UNIT}={value:?}: ")),
            "{err}"
        );
    }
    // Recorded with the window's keys, so a window keeps the unit it was armed with.
    let c = load(&[(LOG_CLF_DURATION_UNIT, "ms")]).unwrap();
    let json = serde_json::to_value(&c.window).unwrap();
    assert_eq!(json["log_keys"]["clf_unit"], "ms");
    let back: WindowSettings = serde_json::from_value(json).unwrap();
    assert_eq!(back.log_keys.clf_unit(), DurationUnit::Ms);
}

#[test]
fn kill_switch_words() {
    for off in ["false", "0", "no", "off", "OFF", "False", " No "] {
        assert!(!load(&[(ENABLED, off)]).unwrap().switches.enabled, "{off}");
    }
    for on in ["true", "1", "yes", "on", "TRUE"] {
        assert!(load(&[(ENABLED, on)]).unwrap().switches.enabled, "{on}");
    }
}

#[test]
fn repo_list_and_applicability() {
    let c = load(&[(REPOS, " api , web,,")]).unwrap();
    let names: Vec<&str> = c.scope.repos.iter().map(RepoName::as_str).collect();
    assert_eq!(names, ["api", "web"]);
    assert!(c.applies(&RepoName::new("api").unwrap()).applies);
    assert!(!c.applies(&RepoName::new("orchestrator").unwrap()).applies);
    let empty = load(&[]).unwrap();
    assert!(
        empty
            .applies(&RepoName::new("orchestrator").unwrap())
            .applies
    );
    assert!(!empty.applies(&RepoName::new("api").unwrap()).applies);
    let off = load(&[(ENABLED, "off"), (REPOS, "api")]).unwrap();
    assert!(!off.applies(&RepoName::new("api").unwrap()).applies);
}

#[test]
fn rollback_command_is_split_like_a_shell_but_kept_as_words() {
    let c = load(&[(
        ROLLBACK_CMD,
        r#"kubectl rollout undo "deploy/my app" --to-revision=$(id)"#,
    )])
    .unwrap();
    let cmd = c.switches.rollback_cmd.unwrap();
    assert_eq!(cmd.program(), "kubectl");
    assert_eq!(
        cmd.args(),
        ["rollout", "undo", "deploy/my app", "--to-revision=$(id)"]
    );
}

#[test]
fn webhook_secrets_are_redacted() {
    let c = load(&[(
        WEBHOOK_URL,
        "https://user:pw@hooks.example.com:8443/services/T0/B0/SECRET?token=x",
    )])
    .unwrap();
    let url = c.switches.webhook_url.unwrap();
    assert_eq!(url.to_string(), "https://hooks.example.com:8443/…");
    assert!(!format!("{url:?}").contains("SECRET"));
    assert!(url.expose().contains("SECRET"));
}

/// The URL table of the webhook variable: the same parser as `--health-url`.
#[test]
fn webhook_urls_the_client_cannot_request_are_refused() {
    for bad in [
        "http://hooks.example.com/a b",
        "http://u:p@[::1/x",
        "http://[::1]x/",
        "http://:443/hook",
        "http://hooks.example.com:0/hook",
        "http://hooks.example.com:65536/hook",
        "http://hooks.example.com:/hook",
        "http://hooks..example.com/hook",
        "http://hooks.example.com/\u{7f}",
        "ftp://hooks.example.com/hook",
    ] {
        let err = load(&[(WEBHOOK_URL, bad)]).unwrap_err().to_string();
        assert!(err.contains(WEBHOOK_URL), "{bad:?}: {err}");
        assert!(!err.contains("u:p@"), "{bad:?}: user info shown: {err}");
        assert!(
            err.contains(&format!("{:?}", hide_userinfo(bad))),
            "{bad:?}: {err}"
        );
    }
    for good in [
        "https://user:pw@hooks.example.com:8443/services/T0?token=x",
        "http://[::1]:8080/hook",
        "http://127.0.0.1/hook",
        "HTTPS://hooks.example.com",
        // Blank around a variable's value is dropped, as for every variable.
        " https://hooks.example.com/hook ",
    ] {
        assert!(load(&[(WEBHOOK_URL, good)]).is_ok(), "{good:?}");
    }
}

#[test]
fn the_self_service_is_a_service_name() {
    assert_eq!(load(&[]).unwrap().scope.self_service, "orchestrator");
    let c = load(&[(SELF_SERVICE, "orch_stack_orchestrator")]).unwrap();
    assert_eq!(c.scope.self_service, "orch_stack_orchestrator");
    for bad in ["my service", "-x", "a/b", "x;rm"] {
        let e = load(&[(SELF_SERVICE, bad)]).unwrap_err().to_string();
        assert!(e.contains(SELF_SERVICE) && e.contains(bad), "{e}");
    }
}

#[test]
fn user_info_is_shown_as_stars() {
    assert_eq!(
        hide_userinfo("http://user:s3cret@127.0.0.1:8080/health?x=1"),
        "http://***@127.0.0.1:8080/health?x=1"
    );
    assert_eq!(hide_userinfo("http://u:p@[::1/x"), "http://***@[::1/x");
    // Up to the value's last `@`, so that no character of a password can show, whatever
    // it holds; a path with an `@` is hidden with it.
    assert_eq!(hide_userinfo("http://a@b@c/x@y"), "http://***@y");
    assert_eq!(hide_userinfo("http://host/x@y"), "http://***@y");
    assert_eq!(hide_userinfo("http://host/x"), "http://host/x");
    assert_eq!(hide_userinfo("not a url@all"), "***@all");
    assert_eq!(hide_userinfo("us@er://x"), "***@er://x");
    // Every piece of these passwords holds a `Q`, which nothing else shown holds.
    for password in [
        "Qhunter#Q2x",
        "Qhun?Qter",
        "Qhun/Qter",
        "Qp@Qss#Qw@Qrd",
        "Qsec Qret",
        "Qpa%Qss",
        "Qa#Qb?Qc/Qd@Qe Qf%Qg",
        "Qx://Qy",
        "Q1234#Qx",
    ] {
        for raw in [
            format!("http://admin:{password}@127.0.0.1:8080/h?q=1"),
            format!("https://admin:{password}@host"),
            format!("admin:{password}@host/h"),
            format!("http:/admin:{password}@host/h"),
        ] {
            let shown = hide_userinfo(&raw);
            assert!(
                shown.contains("***@") && !shown.contains('Q'),
                "{raw}: {shown}"
            );
            match SecretUrl::new(&raw) {
                Err(e) => assert!(!e.to_string().contains('Q'), "{raw}: {e}"),
                Ok(url) => {
                    for shown in [url.to_string(), format!("{url:?}"), url.without_userinfo()] {
                        assert!(!shown.contains('Q'), "{raw}: {shown}");
                    }
                }
            }
        }
    }
}

/// A password of digits before a `#` reads as a valid port: the URL is accepted (the
/// client would request host `admin`, port 1234), and the port is never shown.
#[test]
fn a_password_that_reads_as_a_port_is_never_shown() {
    let url = SecretUrl::parse("http://admin:1234#x@api.example.com/h").unwrap();
    for shown in [url.to_string(), format!("{url:?}"), url.without_userinfo()] {
        assert!(
            !shown.contains("1234") && !shown.contains("admin"),
            "{shown}"
        );
    }
    assert_eq!(url.to_string(), "http://***/…");
}

#[test]
fn credentials_are_percent_decoded_and_left_out_of_the_url() {
    let split = |raw: &str| {
        let (url, credentials) = split_credentials(raw);
        (url, credentials.map(|c| c.user_password().to_vec()))
    };
    assert_eq!(
        split("http://bob:p%40ss@host:8080/h?x=%40#f"),
        (
            "http://host:8080/h?x=%40#f".to_owned(),
            Some(b"bob:p@ss".to_vec())
        )
    );
    assert_eq!(
        split("https://b%6Fb@[::1]/"),
        ("https://[::1]/".to_owned(), Some(b"bob:".to_vec()))
    );
    assert_eq!(
        split("http://host/x@y"),
        ("http://host/x@y".to_owned(), None)
    );
    assert_eq!(
        split("http://u:%zz%4@h"),
        ("http://h".to_owned(), Some(b"u:%zz%4".to_vec()))
    );
    assert_eq!(percent_decode("%C3%A9%2f%"), "é/%".as_bytes());
    let (_, credentials) = split_credentials("http://u:secret@h/");
    assert_eq!(format!("{credentials:?}"), "Some(Credentials(***))");
}

#[test]
fn error_messages() {
    let cases: &[&[(&str, &str)]] = &[
        &[(ENABLED, "maybe")],
        &[(REPOS, "api,../etc")],
        &[(SELF_REPO, "-x")],
        &[(SELF_CONTAINER, "my container")],
        &[(WINDOW_S, "15m")],
        &[(WINDOW_S, "0")],
        &[(INTERVAL_S, "0")],
        &[(INTERVAL_S, "-5")],
        &[(WINDOW_S, "60"), (INTERVAL_S, "120")],
        &[(FAIL_THRESHOLD, "0")],
        &[(FAIL_THRESHOLD, "three")],
        &[(RATIO_5XX_THRESHOLD, "1.5")],
        &[(RATIO_5XX_THRESHOLD, "NaN")],
        &[(RATIO_5XX_THRESHOLD, "5%")],
        &[(MIN_REQUESTS, "-1")],
        &[(HEALTH_TIMEOUT_S, "0.5")],
        &[(ROLLBACK, "yolo")],
        &[(ROLLBACK_CMD, "deploy 'unbalanced")],
        &[(WEBHOOK_URL, "ftp://example.com/hook")],
        &[(WEBHOOK_URL, "example.com/hook")],
        &[(
            WEBHOOK_URL,
            "https://user:s3cret@hooks.example.com:99999/hook",
        )],
        &[(WEBHOOK_URL, "https://hooks.example.com/a b")],
        &[(COMPOSE, "\"")],
        &[(WINDOW_S, "99999999999999999999")],
    ];
    let text: Vec<String> = cases
        .iter()
        .map(|c| load(c).unwrap_err().to_string())
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn latency_and_prometheus_variables() {
    let c = load(&[]).unwrap();
    assert_eq!(c.window.latency_ms, None);
    assert!((c.window.latency_quantile.get() - 0.95).abs() < f64::EPSILON);
    assert_eq!(c.prometheus, None);
    let c = load(&[
        (LATENCY_MS, "250.5"),
        (LATENCY_QUANTILE, "0.999"),
        (PROMETHEUS_URL, "https://bob:s3cret@prom.example:9090/"),
        (PROMETHEUS_REQUESTS, r#"http_requests_total{job="api"}"#),
        (
            PROMETHEUS_ERRORS,
            r#"http_requests_total{job="api",code=~"5.."}"#,
        ),
        (PROMETHEUS_LATENCY, "http_request_duration_seconds_bucket"),
    ])
    .unwrap();
    assert_eq!(c.window.latency_ms, Some(250.5));
    let source = c.prometheus.unwrap();
    assert_eq!(
        source.errors.as_str(),
        r#"http_requests_total{job="api",code=~"5.."}"#
    );
    assert!(!format!("{source:?}").contains("s3cret"));
    // A latency selector is checked and kept even when LATENCY_MS is not set.
    let cases: &[&[(&str, &str)]] = &[
        &[(LATENCY_MS, "0")],
        &[(LATENCY_MS, "-5")],
        &[(LATENCY_MS, "fast")],
        &[(LATENCY_MS, "inf")],
        &[(LATENCY_QUANTILE, "0.4")],
        &[(LATENCY_QUANTILE, "1")],
        &[(LATENCY_QUANTILE, "95")],
        &[(PROMETHEUS_URL, "ftp://bob:s3cret@prom:9090")],
        &[(PROMETHEUS_URL, "http://prom:9090")],
        &[
            (PROMETHEUS_URL, "http://prom:9090"),
            (PROMETHEUS_REQUESTS, "up"),
        ],
        &[(PROMETHEUS_REQUESTS, "up"), (PROMETHEUS_ERRORS, "up")],
        &[(PROMETHEUS_LATENCY, "d_bucket")],
        &[(PROMETHEUS_REQUESTS, "x{job=\"api\"")],
        &[(PROMETHEUS_ERRORS, "x{job=\"api}")],
        &[(PROMETHEUS_LATENCY, "x\ty")],
    ];
    let text: Vec<String> = cases
        .iter()
        .map(|c| load(c).unwrap_err().to_string())
        .collect();
    let text = text.join("\n");
    assert!(!text.contains("s3cret"));
    insta::assert_snapshot!(text);
}

proptest! {
    #[test]
    fn arbitrary_maps_never_panic(map in proptest::collection::btree_map(
        prop_oneof![
            proptest::sample::select(VARIABLES.iter().map(|(k, _)| (*k).to_owned()).collect::<Vec<_>>()),
            "\\PC{0,30}",
        ],
        "\\PC{0,40}",
        0..20,
    )) {
        let _ = Config::from_vars(map.iter());
        let _ = Config::switches_from_vars(map.iter());
    }

    #[test]
    fn accepted_ratios_are_in_range(v in "\\PC{0,12}|[-+]?[0-9]{0,3}(\\.[0-9]{0,4})?(e[-+]?[0-9]{1,3})?") {
        if let Ok(c) = load(&[(RATIO_5XX_THRESHOLD, &v)]) {
            let r = c.window.ratio_threshold.get();
            prop_assert!((0.0..=1.0).contains(&r));
        }
    }
}

#[test]
fn the_recent_span_defaults_to_120_s_or_one_longer_interval() {
    let span = |pairs: &[(&str, &str)]| load(pairs).map(|c| c.window.recent.as_secs());
    assert_eq!(span(&[]), Ok(120));
    // unset, with an interval above 120: one interval
    assert_eq!(span(&[(INTERVAL_S, "300")]), Ok(300));
    assert_eq!(span(&[(RECENT_S, "0")]), Ok(0));
    assert_eq!(span(&[(RECENT_S, "30")]), Ok(30));
    // longer than the window: the window (the rules then judge the window alone)
    let long = load(&[(RECENT_S, "5000")]).unwrap();
    assert_eq!(long.window.recent_span(), None);
    assert_eq!(
        load(&[]).unwrap().window.recent_span(),
        Some(Duration::from_secs(120))
    );
    assert_eq!(load(&[(RECENT_S, "0")]).unwrap().window.recent_span(), None);
}

#[test]
fn a_recent_span_shorter_than_the_interval_or_not_a_number_is_refused() {
    for (value, interval) in [
        ("29", "30"),
        ("1", "30"),
        ("-5", "30"),
        ("2m", "30"),
        ("2592001", "30"),
    ] {
        let err = load(&[(RECENT_S, value), (INTERVAL_S, interval)]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(RECENT_S) && text.contains(&format!("{value:?}")),
            "{text}"
        );
    }
    let text = load(&[(RECENT_S, "29")]).unwrap_err().to_string();
    assert!(
        text.contains("at least one interval (ORCH_POST_DEPLOY_INTERVAL_S=30 s)"),
        "{text}"
    );
}

#[test]
fn confidence_is_zero_or_from_one_half_to_0_9999() {
    let c = |v: &str| load(&[(CONFIDENCE, v)]).map(|c| c.window.confidence.get());
    assert_eq!(c("0"), Ok(0.0));
    assert_eq!(c("0.0"), Ok(0.0));
    assert_eq!(c("0.5"), Ok(0.5));
    assert_eq!(c("0.95"), Ok(0.95));
    assert_eq!(c("0.9999"), Ok(0.9999));
    assert_eq!(load(&[]).unwrap().window.confidence, Confidence::OFF);
    for bad in ["0.49", "0.99995", "1", "95", "-0.5", "NaN", "inf", "high"] {
        let text = load(&[(CONFIDENCE, bad)]).unwrap_err().to_string();
        assert!(
            text.contains(CONFIDENCE) && text.contains(&format!("{bad:?}")),
            "{bad}: {text}"
        );
    }
}

/// A `target.json` armed before the recent span and the confidence were recorded has neither
/// field: its window runs with both off, not with today's defaults.
#[test]
fn settings_recorded_before_the_recent_span_run_with_it_and_confidence_off() {
    let mut old = serde_json::to_value(WindowSettings::default()).unwrap();
    let map = old.as_object_mut().unwrap();
    assert!(map.remove("recent").is_some());
    assert!(map.remove("confidence").is_some());
    let read: WindowSettings = serde_json::from_value(old).unwrap();
    assert_eq!(read.recent, Duration::ZERO);
    assert_eq!(read.recent_span(), None);
    assert!(!read.confidence.is_on());
    // A recorded confidence outside its range is a damaged file, not a number to trust.
    let mut bad = serde_json::to_value(WindowSettings::default()).unwrap();
    bad["confidence"] = serde_json::json!(0.3);
    assert!(serde_json::from_value::<WindowSettings>(bad).is_err());
}

#[test]
fn huge_values_are_refused_and_quoted_never_echoed_whole() {
    let huge = "x".repeat(10 * 1024 * 1024);
    for (var, value) in [
        (WINDOW_S, huge.clone()),
        (PROMETHEUS_URL, format!("http://prom/{huge}")),
        (WEBHOOK_URL, format!("http://user:pw@{huge}")),
        (ROLLBACK_CMD, format!("run {huge}")),
        (REPOS, format!("api,{huge}")),
        (SELF_REPO, huge.clone()),
    ] {
        let err = Config::from_vars([(var, value.as_str())])
            .unwrap_err()
            .to_string();
        assert!(err.len() < 1000, "{var}: {} bytes", err.len());
        assert!(err.contains(var), "{err}");
        assert!(err.contains(crate::text::CUT_MARK), "{err}");
    }
    assert_eq!(
        SecretUrl::new(&format!("http://h/{huge}")),
        Err(UrlError::TooLong)
    );
    let longest = format!("http://h/{}", "p".repeat(MAX_URL_LEN - 9));
    assert!(SecretUrl::new(&longest).is_ok());
    assert!(CommandLine::parse(&"x".repeat(MAX_COMMAND_LEN)).is_some());
    assert!(CommandLine::parse(&"x".repeat(MAX_COMMAND_LEN + 1)).is_none());
}

#[test]
fn the_user_and_password_in_base64_are_scrubbed_wherever_they_start() {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let secrets = Secrets::of("http://promuser:s3cretpw@prom:9090");
    // Echoed with another separator, another user, or after other bytes: the password's and
    // the user's own base64 characters are gone at every alignment, in both alphabets.
    for echoed in [
        "promuser7s3cretpw",
        "admin:s3cretpw",
        "x:s3cretpw",
        "xy:s3cretpw",
        "promuser",
        "0promuser",
        "01promuser",
    ] {
        for engine in [STANDARD, URL_SAFE_NO_PAD] {
            let token = engine.encode(echoed);
            let shown = secrets.scrub(&format!("the server said: token {token} refused"));
            let visible: String = shown
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            for secret in ["s3cretpw", "promuser"] {
                if !echoed.contains(secret) {
                    continue;
                }
                for (at, _) in visible.match_indices(|_| true) {
                    let rest = visible.get(at..).unwrap_or_default();
                    let decoded = engine.decode(rest.get(..rest.len() / 4 * 4).unwrap_or_default());
                    assert!(
                        !decoded
                            .is_ok_and(|d| d.windows(secret.len()).any(|w| w == secret.as_bytes())),
                        "{secret} still decodes from {shown:?} ({echoed})"
                    );
                }
            }
        }
    }
    // Plain words after `Basic` and short base64 stay as they are.
    assert_eq!(secrets.scrub("basic auth required"), "basic auth required");
}
