//! The chat screen rendered with ratatui's TestBackend and snapshotted with insta, at 80x24 and
//! 120x40, idle and mid-stream, plus the edge cases users hit: tiny terminals, wide characters,
//! control sequences in model output, errors.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use promptdeck::event::{AppEvent, RequestId};
use promptdeck::llm::retry::Progress;
use promptdeck::llm::{LlmError, StopReason, StreamEvent, Usage};
use promptdeck::model::{Effect, Model, Session, StartKind};
use promptdeck::ui::{self, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn session(start: StartKind) -> Session {
    Session {
        provider: "anthropic".into(),
        provider_label: None,
        model: "claude-sonnet-4-5".into(),
        max_tokens: 4096,
        temperature: None,
        system: None,
        start,
    }
}

pub struct Screen {
    pub model: Model,
    /// What the screen keeps between frames (layouts, scroll positions).
    pub view: RefCell<ui::View>,
    t0: Instant,
}

impl Screen {
    pub fn new(start: StartKind) -> Screen {
        Screen {
            model: Model::new(session(start)),
            view: RefCell::new(ui::View::default()),
            t0: Instant::now(),
        }
    }

    /// A key, with the scrolling it asks for handed to the view as the app does.
    pub fn key(&mut self, code: KeyCode, modifiers: KeyModifiers, ms: u64) -> Vec<Effect> {
        let effects = self
            .model
            .update(AppEvent::Key(KeyEvent::new(code, modifiers)), self.at(ms));
        self.view.borrow_mut().take_scrolls(effects)
    }

    pub fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn type_and_send(&mut self, text: &str, ms: u64) -> RequestId {
        for c in text.chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            self.model.update(AppEvent::Key(key), self.at(ms));
        }
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        let id = match self
            .model
            .update(AppEvent::Key(enter), self.at(ms))
            .as_slice()
        {
            // Then the tick for its elapsed time, unless one is pending already.
            [Effect::StartRequest { id, .. }, ..] => *id,
            other => panic!("{other:?}"),
        };
        self.attempt(id, 1, "claude-sonnet-4-5", ms);
        id
    }

    /// Attempt `number` of request `id` starts, as its pump reports.
    pub fn attempt(&mut self, id: RequestId, number: u32, model: &str, ms: u64) {
        let started = Progress::AttemptStarted {
            number,
            model: model.into(),
        };
        self.model
            .update(AppEvent::progress(id, started, self.at(ms)), self.at(ms));
    }

    pub fn stream(&mut self, id: RequestId, event: StreamEvent, ms: u64) {
        self.model
            .update(AppEvent::stream(id, event, self.at(ms)), self.at(ms));
    }

    pub fn type_text(&mut self, text: &str, ms: u64) {
        for c in text.chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            self.model.update(AppEvent::Key(key), self.at(ms));
        }
    }

    pub fn render(&self, width: u16, height: u16) -> String {
        self.draw(width, height).backend().to_string()
    }

    /// The terminal after one frame, to look at styles.
    pub fn draw(&self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| {
                ui::render(
                    &self.model,
                    &Theme::default(),
                    &mut self.view.borrow_mut(),
                    f,
                )
            })
            .unwrap();
        terminal
    }
}

fn finished_exchange(s: &mut Screen) {
    let id = s.type_and_send("What is a sliding window rate limit?", 0);
    s.stream(
        id,
        StreamEvent::Started {
            model: Some("claude-sonnet-4-5-20250929".into()),
            response_id: Some("msg_01".into()),
            request_id: None,
        },
        120,
    );
    s.stream(
        id,
        StreamEvent::TextDelta(
            "A sliding window limit allows at most N requests in any interval of length W, \
             measured back from now.\n\nUnlike a fixed window, it never lets 2N through at a \
             boundary."
                .into(),
        ),
        350,
    );
    s.stream(
        id,
        StreamEvent::Usage(Usage {
            input_tokens: Some(18),
            output_tokens: Some(41),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(0),
            cache_creation_1h_input_tokens: None,
        }),
        1200,
    );
    s.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        1210,
    );
}

fn mid_stream(s: &mut Screen) {
    finished_exchange(s);
    let id = s.type_and_send("And a token bucket?", 2000);
    s.stream(
        id,
        StreamEvent::TextDelta("A token bucket refills at a steady ".into()),
        2400,
    );
    s.stream(
        id,
        StreamEvent::TextDelta("rate, so it allows bursts up to".into()),
        2600,
    );
    s.model.update(AppEvent::Tick, s.at(2750));
    s.type_text("next question, typed while it streams", 2750);
}

#[test]
fn idle_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    insta::assert_snapshot!(s.render(80, 24));
}

#[test]
fn idle_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    insta::assert_snapshot!(s.render(120, 40));
}

#[test]
fn mid_stream_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    mid_stream(&mut s);
    insta::assert_snapshot!(s.render(80, 24));
}

#[test]
fn mid_stream_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    mid_stream(&mut s);
    insta::assert_snapshot!(s.render(120, 40));
}

#[test]
fn first_run_welcome_80x24() {
    let mut s = Screen::new(StartKind::FirstRun {
        config_path: "/home/dev/.config/promptdeck/config.toml".into(),
    });
    s.model.session.provider = "demo".into();
    s.model.lane.model = "demo".into();
    s.model.session.provider_label = Some("demo — not a model".into());
    insta::assert_snapshot!(s.render(80, 24));
}

#[test]
fn errors_cancellation_and_hostile_text_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    let id = s.type_and_send("日本語で答えて 👋", 0);
    s.stream(
        id,
        StreamEvent::TextDelta("\u{1b}]0;pwned\u{7}\u{1b}[2J日本語の説明です。絵文字 👩‍💻 も".into()),
        300,
    );
    s.model.update(
        AppEvent::RequestEnded {
            id,
            end: promptdeck::request::End::Failed(LlmError::Connection {
                message: "connection reset by peer".into(),
            }),
        },
        s.at(900),
    );
    let id = s.type_and_send("try again", 1000);
    s.model.update(
        AppEvent::RequestEnded {
            id,
            end: promptdeck::request::End::Failed(LlmError::RateLimited {
                message: "Number of requests has exceeded your rate limit".into(),
                retry_after: Some(Duration::from_secs(7)),
            }),
        },
        s.at(1100),
    );
    let id = s.type_and_send("once more", 1200);
    s.stream(id, StreamEvent::TextDelta("Partial answ".into()), 1500);
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    s.model.update(AppEvent::Key(esc), s.at(1600));
    let screen = s.render(80, 24);
    assert!(
        !screen.contains("pwned"),
        "OSC payloads never reach the screen"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn tiny_terminal_says_so_instead_of_breaking() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    insta::assert_snapshot!(s.render(18, 5));
    // One row more than the minimum still draws every pane.
    let screen = s.render(20, 6);
    assert!(screen.contains("message"), "{screen}");
}

#[test]
fn retry_countdown_then_the_fallback_that_answered_80x24() {
    use promptdeck::llm::retry::Next;
    let mut s = Screen::new(StartKind::Configured);
    let id = s.type_and_send("are you there?", 0);
    let overloaded = || LlmError::Overloaded {
        status: 529,
        message: "Overloaded".into(),
    };
    let failed = |s: &mut Screen, number: u32, next: Next, ms: u64| {
        let failed = Progress::AttemptFailed {
            number,
            error: overloaded(),
            next,
        };
        s.model
            .update(AppEvent::progress(id, failed, s.at(ms)), s.at(ms));
    };
    let retry = Next::Retry {
        delay: Duration::from_millis(2500),
    };
    failed(&mut s, 1, retry, 300);
    s.model.update(AppEvent::Tick, s.at(800));
    let countdown = s.render(80, 24);
    assert!(
        countdown.contains("overloaded: retry in 2.00s · Esc cancels"),
        "{countdown}"
    );
    s.attempt(id, 2, "claude-sonnet-4-5", 2800);
    let fallback = Next::Fallback {
        model: "claude-haiku-4-5".into(),
        delay: Duration::ZERO,
    };
    failed(&mut s, 2, fallback, 3000);
    s.attempt(id, 3, "claude-haiku-4-5", 3000);
    s.stream(
        id,
        StreamEvent::TextDelta("Yes — answered by the fallback.".into()),
        3400,
    );
    s.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        3500,
    );
    insta::assert_snapshot!(countdown + &s.render(80, 24));
}

#[path = "ui_snapshots/picker.rs"]
mod picker;

#[path = "ui_snapshots/compare.rs"]
mod compare;

#[path = "ui_snapshots/daily.rs"]
mod daily;

#[test]
fn usage_panel_with_cost_server_limits_and_local_quota_120x40() {
    use promptdeck::limit::{
        Admission, Decision, LimitConfig, LimitSetting, QuotaStatus, RateLimit,
    };
    use promptdeck::request::PumpEvent;
    let mut s = Screen::new(StartKind::Configured);
    let limits = LimitConfig {
        requests: LimitSetting::Limit(RateLimit {
            max_requests: 20,
            window: Duration::from_secs(3600),
        }),
        tokens: None,
        daily_usd: None,
    };
    s.model = Model::new(session(StartKind::Configured)).with_limits(limits, "sqlite 20/1h".into());
    for c in "price this".chars() {
        s.model.update(
            AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            s.at(0),
        );
    }
    let effects = s.model.update(
        AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        s.at(0),
    );
    let id = match effects.as_slice() {
        [Effect::StartRequest { id, .. }, ..] => *id,
        other => panic!("{other:?}"),
    };
    let decision = Decision {
        admission: Admission::Admitted {
            remaining: 17,
            reset_at_ms: 0,
        },
        now_ms: 1_000_000,
        quota: Some(QuotaStatus {
            limit: LimitSetting::Limit(RateLimit {
                max_requests: 20,
                window: Duration::from_secs(3600),
            }),
            used: 3,
            remaining: 17,
            next_free_at_ms: Some(1_000_000 + 12 * 60_000 + 3_000),
            frees_at_ms: vec![
                1_000_000 + 12 * 60_000 + 3_000,
                1_000_000 + 30 * 60_000,
                1_000_000 + 59 * 60_000,
            ],
            tokens_used: None,
            usd_spent_today: None,
        }),
    };
    let event = PumpEvent::Admitted {
        attempt: 1,
        decision,
    };
    s.model.update(AppEvent::Request { id, event }, s.at(0));
    s.attempt(id, 1, "claude-sonnet-4-5", 0);
    s.stream(
        id,
        StreamEvent::RateLimits(vec![
            ("anthropic-ratelimit-requests-limit".into(), "50".into()),
            ("anthropic-ratelimit-requests-remaining".into(), "49".into()),
            (
                "anthropic-ratelimit-requests-reset".into(),
                "2026-11-27T00:20:00Z".into(),
            ),
            ("anthropic-ratelimit-tokens-limit".into(), "40000".into()),
            (
                "anthropic-ratelimit-tokens-remaining".into(),
                "39000".into(),
            ),
        ]),
        100,
    );
    s.stream(id, StreamEvent::TextDelta("Priced.".into()), 400);
    s.stream(
        id,
        StreamEvent::Usage(Usage {
            input_tokens: Some(1000),
            output_tokens: Some(500),
            cache_creation_input_tokens: Some(2000),
            cache_read_input_tokens: Some(10_000),
            cache_creation_1h_input_tokens: Some(1000),
        }),
        900,
    );
    s.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        1000,
    );
    let shown = s.render(120, 40);
    // 1,000 in at $3/M + 500 out at $15/M + 1,000 5-min writes at 1.25x + 1,000 1-h writes at
    // 2x + 10,000 reads at 0.1x = 0.003 + 0.0075 + 0.00375 + 0.006 + 0.003 = $0.02325.
    assert!(
        shown.contains("$0.0233") || shown.contains("$0.0232"),
        "{shown}"
    );
    assert!(shown.contains("49/50"), "{shown}");
    assert!(shown.contains("17/20 left"), "{shown}");
    // Slots are left: nothing to wait for, so no "next slot" (it read as "wait an hour").
    assert!(!shown.contains("next slot"), "{shown}");
    insta::assert_snapshot!(shown);
}

mod inspector {
    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use promptdeck::event::AppEvent;
    use promptdeck::llm::Usage;
    use promptdeck::llm::pricing::{CostView, PriceTable};
    use promptdeck::llm::{LlmError, Role};
    use promptdeck::prompts::{GitState, Provenance, content_hash};
    use promptdeck::store::{
        ErrorInfo, MessageState, NewConversation, NewMessage, PromptVersion, RateLimitHeaders,
        RequestFilter, RequestOutcome, RequestParams, RequestRecord, RequestStatus, Store,
    };

    use promptdeck::model::Effect;

    use super::{Screen, StartKind};

    /// A log with a clean answer, a rate-limited attempt and its successful retry.
    fn rows() -> Vec<promptdeck::store::RequestRow> {
        let mut store = Store::open_in_memory()
            .unwrap()
            .with_clock(|| 1_795_000_000_000);
        let prompt = PromptVersion::from(&Provenance {
            name: "support/triage".into(),
            content_hash: content_hash("You triage."),
            git: GitState::Commit("c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00".into()),
        });
        let conversation = store
            .create_conversation(&NewConversation {
                title: Some("refund question".into()),
                provider: "anthropic".into(),
                model: "claude-sonnet-4-5".into(),
                prompt: Some(prompt.clone()),
            })
            .unwrap();
        let user = store
            .insert_message(&NewMessage {
                conversation_id: conversation,
                role: Role::User,
                content: "Can I get a refund?".into(),
                state: MessageState::Complete,
                request_id: None,
            })
            .unwrap();
        let prices = PriceTable::builtin();
        let mut attempt = |n: u32, started_at_ms: i64, outcome: RequestOutcome| {
            let log = store
                .insert_request(&RequestRecord {
                    conversation_id: Some(conversation),
                    message_id: Some(user),
                    attempt: n,
                    started_at_ms,
                    provider: "anthropic".into(),
                    params: RequestParams {
                        model: "claude-sonnet-4-5".into(),
                        max_tokens: 4096,
                        temperature: None,
                        variables: Default::default(),
                    },
                    prompt: Some(prompt.clone()),
                    compare_id: None,
                })
                .unwrap();
            store.finish_request(log, &outcome).unwrap();
        };
        let usage = Usage {
            input_tokens: Some(1200),
            output_tokens: Some(340),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(800),
            cache_creation_1h_input_tokens: None,
        };
        let limited = LlmError::RateLimited {
            message: "slow down".into(),
            retry_after: None,
        };
        attempt(
            1,
            1_795_000_000_000,
            RequestOutcome {
                status: RequestStatus::Error,
                response_model: None,
                response_id: None,
                provider_request_id: Some("req_1".into()),
                usage: Usage::default(),
                finish_reasons: vec![],
                time_to_first_chunk_ms: None,
                duration_ms: Some(180),
                cost: CostView::NotReported,
                cost_source: None,
                output_estimated: false,
                error: Some(ErrorInfo::from(&limited)),
                ratelimit_headers: RateLimitHeaders::default(),
            },
        );
        attempt(
            2,
            1_795_000_007_000,
            RequestOutcome {
                status: RequestStatus::Ok,
                response_model: Some("claude-sonnet-4-5-20250929".into()),
                response_id: Some("msg_2".into()),
                provider_request_id: Some("req_2".into()),
                usage,
                finish_reasons: vec!["end_turn".into()],
                time_to_first_chunk_ms: Some(420),
                duration_ms: Some(2900),
                cost: CostView::of(&prices, "claude-sonnet-4-5", &usage),
                cost_source: Some(promptdeck::llm::pricing::DATASET_LABEL.to_string()),
                output_estimated: false,
                error: None,
                ratelimit_headers: RateLimitHeaders::default(),
            },
        );
        store
            .recent_requests(&RequestFilter {
                limit: 50,
                prompt_name: None,
                compare_id: None,
            })
            .unwrap()
    }

    fn screen() -> Screen {
        let mut s = Screen::new(StartKind::Configured);
        // F2 opens the inspector (Ctrl-L repaints the screen).
        s.model.update(
            AppEvent::Key(KeyEvent::new(KeyCode::F(2), KeyModifiers::NONE)),
            Instant::now(),
        );
        s.model
            .update(AppEvent::RequestLogLoaded(Ok(rows())), Instant::now());
        s
    }

    #[test]
    fn inspector_table_120x40() {
        let shown = screen().render(120, 40);
        // The log's number first (as reply headers and `promptdeck log` show it).
        assert!(shown.contains("#2    11-18 11:06:47"), "{shown}");
        assert!(shown.contains("support/triage@c0ffee"), "{shown}");
        assert!(shown.contains("error: rate_limited"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn inspector_record_80x24() {
        let mut s = screen();
        s.key(KeyCode::Enter, KeyModifiers::NONE, 0);
        // Before the database answers: the row's parameters, and what is being read.
        let shown = s.render(80, 24);
        assert!(
            shown.contains("model answered        claude-sonnet-4-5-20250929"),
            "{shown}"
        );
        assert!(shown.contains("reading what was sent…"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    /// A realistic request: a prompt with a filled variable, two earlier turns, and a reply
    /// with a code block (and a stray escape sequence, which must not reach the terminal).
    fn sent_screen() -> Screen {
        let mut store = Store::open_in_memory()
            .unwrap()
            .with_clock(|| 1_795_000_000_000);
        let template = "You are the support assistant of {{company}}.\n\
                        Answer in two or three sentences; put shell commands in code blocks.";
        let prompt = PromptVersion::from(&Provenance {
            name: "support/reply".into(),
            content_hash: content_hash(template),
            git: GitState::Commit("5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed".into()),
        });
        store
            .save_prompt_text(&prompt.content_hash, &prompt.name, template)
            .unwrap();
        let conversation = store
            .create_conversation(&NewConversation {
                title: Some("export".into()),
                provider: "anthropic".into(),
                model: "claude-sonnet-4-5".into(),
                prompt: Some(prompt.clone()),
            })
            .unwrap();
        let mut message = |role: Role, text: &str| {
            store
                .insert_message(&NewMessage {
                    conversation_id: conversation,
                    role,
                    content: text.into(),
                    state: MessageState::Complete,
                    request_id: None,
                })
                .unwrap()
        };
        message(Role::User, "How do I export my data?");
        message(
            Role::Assistant,
            "Use the export command; it writes one JSON file per project.",
        );
        message(Role::User, "Where does the file go?");
        message(
            Role::Assistant,
            "Into the current directory, unless you pass --out.",
        );
        let user = message(Role::User, "Show me the exact command for project alpha.");
        let variables = [("company".to_string(), "Acme Cloud".to_string())].into();
        let log = store
            .insert_request(&RequestRecord {
                conversation_id: Some(conversation),
                message_id: Some(user),
                attempt: 1,
                started_at_ms: 1_795_000_000_000,
                provider: "anthropic".into(),
                params: RequestParams {
                    model: "claude-sonnet-4-5".into(),
                    max_tokens: 4096,
                    temperature: Some(0.5),
                    variables,
                },
                prompt: Some(prompt.clone()),
                compare_id: None,
            })
            .unwrap();
        store
            .insert_message(&NewMessage {
                conversation_id: conversation,
                role: Role::Assistant,
                content: "Run this:\n\n```sh\nacme export --project alpha --out ./backup\n```\n\n\
                          **Done** \u{1b}]0;pwned\u{7}in seconds."
                    .into(),
                state: MessageState::Complete,
                request_id: Some(log),
            })
            .unwrap();
        let usage = Usage {
            input_tokens: Some(182),
            output_tokens: Some(41),
            cache_creation_input_tokens: None,
            cache_read_input_tokens: None,
            cache_creation_1h_input_tokens: None,
        };
        store
            .finish_request(
                log,
                &RequestOutcome {
                    status: RequestStatus::Ok,
                    response_model: Some("claude-sonnet-4-5-20250929".into()),
                    response_id: Some("msg_7".into()),
                    provider_request_id: Some("req_7".into()),
                    usage,
                    finish_reasons: vec!["end_turn".into()],
                    time_to_first_chunk_ms: Some(390),
                    duration_ms: Some(1400),
                    cost: CostView::of(&PriceTable::builtin(), "claude-sonnet-4-5", &usage),
                    cost_source: Some(promptdeck::llm::pricing::DATASET_LABEL.to_string()),
                    output_estimated: false,
                    error: None,
                    ratelimit_headers: RateLimitHeaders::default(),
                },
            )
            .unwrap();
        let rows = store.recent_requests(&RequestFilter::default()).unwrap();
        let mut s = Screen::new(StartKind::Configured);
        let key = |code| AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE));
        s.model.update(key(KeyCode::F(2)), Instant::now());
        s.model
            .update(AppEvent::RequestLogLoaded(Ok(rows)), Instant::now());
        let effects = s.key(KeyCode::Enter, KeyModifiers::NONE, 0);
        let id = match effects.as_slice() {
            [Effect::LoadRequestContext { id }] => *id,
            other => panic!("{other:?}"),
        };
        let result = store.request_context(id).map_err(Into::into);
        s.model.update(
            AppEvent::RequestContextLoaded { id, result },
            Instant::now(),
        );
        s
    }

    #[test]
    fn inspector_request_as_sent_80x24() {
        let s = sent_screen();
        let shown = s.render(80, 24);
        assert!(shown.contains("Acme Cloud"), "{shown}");
        assert!(!shown.contains("{{company}}"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn inspector_request_as_sent_120x40() {
        let s = sent_screen();
        let shown = s.render(120, 40);
        assert!(shown.contains("How do I export my data?"), "{shown}");
        insta::assert_snapshot!(shown);
    }

    #[test]
    fn inspector_raw_reply_at_the_end_80x24() {
        let mut s = sent_screen();
        s.render(80, 24);
        s.key(KeyCode::End, KeyModifiers::NONE, 0);
        // Up to the reply, above the log row.
        for _ in 0..16 {
            s.key(KeyCode::Up, KeyModifiers::NONE, 0);
        }
        let shown = s.render(80, 24);
        assert!(shown.contains("```sh"), "raw, not rendered: {shown}");
        assert!(
            !shown.contains("pwned"),
            "no OSC reaches the screen: {shown}"
        );
        insta::assert_snapshot!(shown);
    }
}

#[test]
fn a_long_status_message_gets_its_own_rows_instead_of_being_cut_80x24() {
    use promptdeck::model::{Status, StatusTone};
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    let text = "prompt file /home/dev/work/project/prompts/support/triage.txt is empty; write the \
                system prompt into it — keeping #1a2b3c4d5e6f";
    s.model.status = Some(Status {
        tone: StatusTone::Error,
        text: text.into(),
    });
    let shown = s.render(80, 24);
    let flat: String = shown
        .lines()
        .map(|l| l.trim_matches('"').trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("keeping #1a2b3c4d5e6f"),
        "the end is not cut:\n{shown}"
    );
    insta::assert_snapshot!(shown);
}

#[test]
fn model_switcher_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    s.model.fallback_models = vec!["claude-haiku-5-5".into()];
    finished_exchange(&mut s);
    let alt_m = KeyEvent::new(KeyCode::Char('m'), KeyModifiers::ALT);
    s.model.update(AppEvent::Key(alt_m), s.at(1300));
    let loading = s.render(80, 24);
    assert!(
        loading.contains("loading the endpoint's models"),
        "{loading}"
    );
    s.model.update(
        AppEvent::ModelsListed(Ok(vec![
            "claude-opus-5".into(),
            "claude-sonnet-5-5".into(),
            "claude-haiku-5-5".into(),
            "claude-sonnet-4-5".into(),
        ])),
        s.at(1400),
    );
    s.type_text("5-5", 1500);
    insta::assert_snapshot!(s.render(80, 24));
}

#[test]
fn markdown_while_streaming_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    let id = s.type_and_send("Show me", 0);
    s.stream(
        id,
        StreamEvent::TextDelta(
            "## Sliding window\n\n- counts **every** request\n- in `W` seconds\n\n| limit | window |\n|---:|:---|\n| 20 | 1h |\n\n```rust\nfn admit(now: u64) -> bool {\n    let n = 3; // open\n    n < LIM"
                .into(),
        ),
        300,
    );
    let screen = s.render(80, 24);
    assert!(
        !screen.contains("```"),
        "no raw fence while streaming:\n{screen}"
    );
    assert!(!screen.contains("**"), "no raw emphasis:\n{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_long_streaming_reply_keeps_its_header_on_top_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    let id = s.type_and_send("Tell me everything", 0);
    let long: String = (1..=40)
        .map(|n| format!("line {n} of a long answer\n"))
        .collect();
    s.stream(id, StreamEvent::TextDelta(long), 500);
    let screen = s.render(80, 24);
    let first = screen.lines().next().unwrap_or_default().to_string();
    assert!(
        first.contains("◆ claude-sonnet-4-5") && first.contains("streaming"),
        "the header stays on the top row: {first}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn the_reply_chosen_for_the_panel_is_marked_in_the_transcript_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    finished_exchange(&mut s);
    let id = s.type_and_send("And another?", 2000);
    s.stream(id, StreamEvent::TextDelta("Another answer.".into()), 2100);
    s.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        2200,
    );
    s.key(KeyCode::Up, KeyModifiers::ALT, 2300);
    let screen = s.render(120, 40);
    assert!(
        screen.contains("▶ ◆ claude-sonnet-4-5-20250929 · 1.21s"),
        "{screen}"
    );
    assert!(screen.contains("Request (selected"), "{screen}");
    insta::assert_snapshot!(screen);
}
