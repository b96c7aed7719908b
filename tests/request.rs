//! The request pump against the mock server over real HTTP: what the chat relies on when it
//! cancels a request by aborting its task, and the panel, the quota and the log agreeing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use pretty_assertions::assert_eq;

use common::mock::{MockResponse, MockServer, Step, anthropic};
use promptdeck::limit::{LimitConfig, Limiter};
use promptdeck::llm::anthropic::AnthropicProvider;
use promptdeck::llm::http::{ApiKey, Endpoint};
use promptdeck::llm::pricing::PriceTable;
use promptdeck::llm::retry::{Progress, RetryPolicy};
use promptdeck::llm::{ChatRequest, Message, Role, StreamEvent, Timeouts};
use promptdeck::request::{Pump, PumpEvent, RequestSpec};
use promptdeck::store::{MessageState, RequestFilter, RequestStatus, Store, StoreWriter};

fn provider(server: &MockServer) -> AnthropicProvider {
    AnthropicProvider::new(Endpoint {
        base_url: server.base_url(),
        api_key: ApiKey::new("sk-test-SECRET-4242"),
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            response_headers: Duration::from_secs(10),
            idle_read: Duration::from_secs(30),
        },
    })
    .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "claude-test".into(),
        system: None,
        messages: vec![Message {
            role: Role::User,
            content: "tell me".into(),
        }],
        max_tokens: 100,
        temperature: None,
    }
}

#[tokio::test]
async fn aborting_the_task_mid_stream_stores_the_partial_reply_as_cancelled() {
    let server = MockServer::start().await;
    let body = anthropic::message_start("claude-test", "msg_partial", 3)
        + &anthropic::text_block(0, &["partial ", "text"]);
    server.push(MockResponse::sse_steps(vec![
        Step::Chunk(Bytes::from(body)),
        Step::Hang,
    ]));
    let writer = StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
    let store = writer.handle();
    let pump = Pump {
        provider: Arc::new(provider(&server)),
        policy: Arc::new(RetryPolicy::default()),
        store: Some(writer.handle()),
        limiter: Some(Limiter::memory(LimitConfig::default())),
        prices: Arc::new(PriceTable::builtin()),
        shutting_down: Arc::default(),
    };
    let spec = RequestSpec {
        request: request(),
        prompt: None,
        prompt_text: None,
        variables: Default::default(),
        conversation: None,
        user_text: Some("tell me".into()),
        store_even_if_refused: false,
        compare_id: None,
    };
    let (text_tx, mut text_rx) = tokio::sync::mpsc::unbounded_channel();
    // The chat's request task: it owns the pump's run.
    let task = tokio::spawn(async move {
        let sink = |event: PumpEvent| {
            if let PumpEvent::Progress(stamped) = event
                && let Progress::Event(StreamEvent::TextDelta(t)) = stamped.progress
            {
                let _ = text_tx.send(t);
            }
        };
        let outcome = pump.run(spec, sink, std::future::pending()).await;
        panic!("the stream hangs, yet the run ended: {:?}", outcome.end);
    });
    let mut text = String::new();
    while text != "partial text" {
        let piece = tokio::time::timeout(Duration::from_secs(10), text_rx.recv())
            .await
            .expect("text in time")
            .expect("the task is running");
        text.push_str(&piece);
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());

    store.flush().wait().await.unwrap();
    let conversations = store.list_conversations(10).wait().await.unwrap();
    assert_eq!(conversations.len(), 1);
    let c = store
        .load_conversation(conversations[0].id)
        .wait()
        .await
        .unwrap();
    let messages: Vec<(Role, &str, MessageState)> = c
        .messages
        .iter()
        .map(|m| (m.message.role, m.message.content.as_str(), m.message.state))
        .collect();
    assert_eq!(
        messages,
        vec![
            (Role::User, "tell me", MessageState::Complete),
            (Role::Assistant, "partial text", MessageState::Cancelled),
        ]
    );
    let rows = store
        .recent_requests(RequestFilter::default())
        .wait()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.status, RequestStatus::Cancelled);
    assert_eq!(row.gen_ai_response_id.as_deref(), Some("msg_partial"));
    assert_eq!(row.gen_ai_usage_input_tokens, Some(3));
    assert!(row.duration_ms.is_some() && row.time_to_first_chunk_ms.is_some());
    // Cut before the provider's count: the log holds the marked estimate, not a placeholder.
    assert_eq!(row.gen_ai_usage_output_tokens, Some(3));
    assert!(row.output_estimated);
    assert_eq!(c.messages[1].message.request_id, Some(row.id));
}

mod chat {
    //! The chat's model driven by the real pump, as the app does: Enter makes the spec, the
    //! pump runs it against the mock over HTTP with a SQLite limiter, and every event it
    //! reports goes through `Model::update`.

    use std::time::Instant;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use promptdeck::event::AppEvent;
    use promptdeck::limit::{LimitConfig, LimitSetting, Limiter, RateLimit};
    use promptdeck::model::{Effect, Model, Session, StartKind};
    use promptdeck::records::RequestFilter;
    use promptdeck::ui::{self, theme::Theme};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use serde_json::json;

    use super::{
        Arc, Bytes, Duration, MockResponse, MockServer, PriceTable, Pump, RetryPolicy, Step, Store,
        StoreWriter, anthropic, provider,
    };
    use pretty_assertions::assert_eq;

    pub fn overloaded() -> MockResponse {
        MockResponse::error(
            529,
            serde_json::json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        )
    }

    pub struct Chat {
        pub model: Model,
        pub pump: Pump,
        pub limiter: Limiter,
        pub writer: StoreWriter,
        _data: tempfile::TempDir,
    }

    pub async fn chat(server: &MockServer, max_requests: u32) -> Chat {
        let data = tempfile::tempdir().unwrap();
        let limits = LimitConfig {
            requests: LimitSetting::Limit(RateLimit {
                max_requests,
                window: Duration::from_secs(if max_requests == 20 { 3600 } else { 60 }),
            }),
            ..LimitConfig::default()
        };
        let limiter = Limiter::sqlite(data.path(), "test", limits).await.unwrap();
        let writer =
            StoreWriter::spawn(Store::open_in_memory().unwrap(), Box::new(|_| {})).unwrap();
        let pump = Pump {
            provider: Arc::new(provider(server)),
            policy: Arc::new(RetryPolicy {
                base_delay: Duration::from_millis(1),
                ..RetryPolicy::default()
            }),
            store: Some(writer.handle()),
            limiter: Some(limiter.clone()),
            prices: Arc::new(PriceTable::builtin()),
            shutting_down: Arc::default(),
        };
        let session = Session {
            provider: "anthropic".into(),
            provider_label: None,
            model: "claude-sonnet-4-5".into(),
            max_tokens: 100,
            temperature: None,
            system: None,
            start: StartKind::Configured,
        };
        let model = Model::new(session)
            .with_limits(limits, limiter.describe())
            .with_prices(Arc::new(PriceTable::builtin()));
        Chat {
            model,
            pump,
            limiter,
            writer,
            _data: data,
        }
    }

    impl Chat {
        /// Types `text`, presses Enter and runs the request the model starts to its end,
        /// handing every event to the model in order.
        pub async fn send(&mut self, text: &str) {
            let now = Instant::now();
            self.model.update(AppEvent::Paste(text.into()), now);
            let enter = AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
            let effects = self.model.update(enter, now);
            let Some((id, spec)) = effects.into_iter().find_map(|e| match e {
                Effect::StartRequest { id, spec } => Some((id, spec)),
                _ => None,
            }) else {
                panic!("no request started");
            };
            let mut events = Vec::new();
            let outcome = self
                .pump
                .run(*spec, |event| events.push(event), std::future::pending())
                .await;
            for event in events {
                self.model
                    .update(AppEvent::Request { id, event }, Instant::now());
            }
            let end = outcome.end;
            self.model
                .update(AppEvent::RequestEnded { id, end }, Instant::now());
        }

        /// The screen at 120x40 (the usage panel is shown) at `now`.
        pub fn screen(&mut self, now: Instant) -> String {
            self.model.update(AppEvent::Tick, now);
            let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
            terminal
                .draw(|f| ui::render(&self.model, &Theme::default(), &mut ui::View::default(), f))
                .unwrap();
            let buffer = terminal.backend().buffer().clone();
            (0..buffer.area.height)
                .map(|y| {
                    (0..buffer.area.width)
                        .map(|x| buffer[(x, y)].symbol().to_string())
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    #[tokio::test]
    async fn every_attempt_of_a_529_storm_counts_in_the_quota_the_panel_shows() {
        let server = MockServer::start().await;
        for _ in 0..3 {
            server.push(overloaded());
        }
        let mut chat = chat(&server, 20).await;
        chat.send("are you there?").await;
        let status = chat
            .limiter
            .status(promptdeck::limit::system_now_ms())
            .await
            .unwrap();
        assert_eq!(status.used, 3, "three attempts, three admissions");
        let screen = chat.screen(Instant::now());
        assert!(screen.contains("17/20 left in 1h"), "{screen}");
        assert!(!screen.contains("next slot"), "{screen}");
    }

    #[tokio::test]
    async fn next_slot_shows_only_when_the_window_is_full_and_the_quota_ages() {
        let server = MockServer::start().await;
        let mut chat = chat(&server, 2).await;
        server.push(MockResponse::sse(anthropic::reply(&["one"], 5, 1)));
        chat.send("first").await;
        let after_one = chat.screen(Instant::now());
        assert!(after_one.contains("1/2 left in 1m"), "{after_one}");
        assert!(!after_one.contains("next slot"), "{after_one}");
        server.push(MockResponse::sse(anthropic::reply(&["two"], 5, 1)));
        chat.send("second").await;
        let full = chat.screen(Instant::now());
        assert!(full.contains("0/2 left in 1m"), "{full}");
        assert!(full.contains("next slot"), "{full}");
        // A minute later both slots are free: the panel says so without asking again, as
        // the status line would.
        let later = chat.screen(Instant::now() + Duration::from_secs(61));
        assert!(later.contains("2/2 left in 1m"), "{later}");
        assert!(!later.contains("next slot"), "{later}");
    }

    #[tokio::test]
    async fn the_panel_shows_what_the_log_holds_for_a_request() {
        let server = MockServer::start().await;
        let body = anthropic::message_start("claude-sonnet-4-5-20250929", "msg_1", 12);
        let rest = anthropic::text_block(0, &["Measured ", "once."])
            + &anthropic::message_delta("end_turn", 6)
            + &anthropic::message_stop();
        server.push(MockResponse::sse_steps(vec![
            Step::Chunk(Bytes::from(body)),
            Step::Sleep(Duration::from_millis(120)),
            Step::Chunk(Bytes::from(rest)),
        ]));
        let mut chat = chat(&server, 20).await;
        chat.send("measure me").await;
        let store = chat.writer.handle();
        store.flush().wait().await.unwrap();
        let rows = store
            .recent_requests(RequestFilter::default())
            .wait()
            .await
            .unwrap();
        let row = &rows[0];
        let reply = chat.model.panel_reply().expect("a reply").clone();
        let ttft = reply.ttft().map(|d| d.as_millis() as i64);
        assert!(ttft.is_some_and(|ms| ms >= 100), "{ttft:?}");
        assert_eq!(ttft, row.time_to_first_chunk_ms);
        assert_eq!(reply.usage().output_tokens, row.gen_ai_usage_output_tokens);
        assert_eq!(reply.usage().input_tokens, row.gen_ai_usage_input_tokens);
        assert_eq!(reply.cost(), row.cost());
        assert_eq!(json!(row.gen_ai_usage_output_tokens), json!(6));
        let screen = chat.screen(Instant::now());
        let shown = promptdeck::store::report::format_ms(row.time_to_first_chunk_ms);
        assert!(
            screen.contains(&shown),
            "TTFT {shown} on the panel:\n{screen}"
        );
    }

    impl Chat {
        /// Presses Enter on `text` in a compare and runs every lane's request at once,
        /// handing their events to the model in the order they arrive; returns the order in
        /// which the requests ended.
        pub async fn send_to_lanes(&mut self, text: &str) -> Vec<promptdeck::event::RequestId> {
            let now = Instant::now();
            self.model.update(AppEvent::Paste(text.into()), now);
            let enter = AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
            let started: Vec<_> = self
                .model
                .update(enter, now)
                .into_iter()
                .filter_map(|e| match e {
                    Effect::StartRequest { id, spec } => Some((id, spec)),
                    _ => None,
                })
                .collect();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let pump = &self.pump;
            futures_util::future::join_all(started.into_iter().map(|(id, spec)| {
                let tx = tx.clone();
                async move {
                    let events = tx.clone();
                    let outcome = pump
                        .run(
                            *spec,
                            move |event| {
                                let _ = events.send(AppEvent::Request { id, event });
                            },
                            std::future::pending(),
                        )
                        .await;
                    let _ = tx.send(AppEvent::RequestEnded {
                        id,
                        end: outcome.end,
                    });
                }
            }))
            .await;
            drop(tx);
            let mut ended = Vec::new();
            while let Some(event) = rx.recv().await {
                if let AppEvent::RequestEnded { id, .. } = &event {
                    ended.push(*id);
                }
                self.model.update(event, Instant::now());
            }
            ended
        }
    }

    #[tokio::test]
    async fn lanes_run_at_once_the_fast_one_ends_first_and_a_refused_one_never_stops_the_others() {
        let server = MockServer::start().await;
        let slow = anthropic::message_start("m-slow", "msg_s", 10);
        let slow_rest = anthropic::text_block(0, &["Slow and thorough."])
            + &anthropic::message_delta("end_turn", 4)
            + &anthropic::message_stop();
        server.push_for(
            "m-slow",
            MockResponse::sse_steps(vec![
                Step::Chunk(Bytes::from(slow)),
                Step::Sleep(Duration::from_millis(400)),
                Step::Chunk(Bytes::from(slow_rest)),
            ]),
        );
        server.push_for(
            "m-fast",
            MockResponse::sse(anthropic::reply(&["Fast."], 10, 1)),
        );
        server.push_for(
            "m-third",
            MockResponse::sse(anthropic::reply(&["Third."], 10, 1)),
        );
        // Two requests a minute: one lane is refused (whichever the limiter sees last), the
        // others go.
        let mut chat = chat(&server, 2).await;
        let alt = |c| AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT));
        chat.model.lane.model = "m-slow".into();
        chat.model.update(alt('n'), Instant::now());
        chat.model.lane.model = "m-fast".into();
        chat.model.update(alt('n'), Instant::now());
        chat.model.lane.model = "m-third".into();
        let ended = chat.send_to_lanes("go").await;
        assert_eq!(ended.len(), 3);
        let lanes = chat.model.lanes();
        let outcome = |i: usize| {
            let reply = lanes[i].transcript.last_reply().expect("a reply");
            (
                reply.text().to_string(),
                reply.ttft().map(|d| d.as_millis()),
            )
        };
        let refused: Vec<usize> = (0..3)
            .filter(|i| {
                lanes[*i]
                    .transcript
                    .last_reply()
                    .is_some_and(|r| matches!(&r.state, promptdeck::model::ReplyState::Failed(e) if e.to_string().contains("rate limit")))
            })
            .collect();
        assert_eq!(refused.len(), 1, "exactly one lane is over the limit");
        let answered: Vec<(String, Option<u128>)> = (0..3)
            .filter(|i| !refused.contains(i))
            .map(outcome)
            .collect();
        assert_eq!(answered.len(), 2);
        for (text, ttft) in &answered {
            assert!(!text.is_empty() && ttft.is_some(), "{answered:?}");
        }
        // Whichever two the limiter let through, a fast lane ends before the slow one.
        if refused[0] != 0 {
            let slow_id = lanes[0].transcript.last_reply().map(|r| r.id);
            assert_eq!(ended.last().copied(), slow_id, "the slow lane ends last");
            let slow_ttft = outcome(0).1.unwrap_or(0);
            assert!(slow_ttft >= 300, "{slow_ttft}");
        }
        let screen = chat.screen(Instant::now());
        assert!(screen.contains("not sent: rate limit"), "{screen}");
        assert!(screen.contains("fastest first token"), "{screen}");
    }
}
