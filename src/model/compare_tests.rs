//! Pure tests of compare: lanes opened, one message sent to every lane, events routed to
//! their own lane by request id, a failing or refused lane beside finishing ones, cancelling
//! one lane or all, and the re-run on save.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pretty_assertions::assert_eq;

use super::*;
use crate::event::{AppEvent, ResolvePurpose};
use crate::llm::retry::Progress;
use crate::llm::{LlmError, StopReason, StreamEvent, Usage};
use crate::model::lane::{self, Lane};
use crate::model::prompt::{PromptState, Tracking};
use crate::model::{Entry, ReplyState, ScrollTarget, ScrollTo};
use crate::model::{Session, StartKind};
use crate::prompts::{GitState, LoadedPrompt, Provenance, Reference, WatchEvent, content_hash};
use crate::request::verdict::verdict;
use crate::request::{End, RequestSpec};

struct Harness {
    model: Model,
    t0: Instant,
}

impl Harness {
    fn new() -> Harness {
        let session = Session {
            provider: "anthropic".into(),
            provider_label: None,
            model: "model-a".into(),
            max_tokens: 100,
            temperature: None,
            system: None,
            start: StartKind::Configured,
        };
        Harness {
            model: Model::new(session)
                .with_prompts(PromptState::new("prompts".into(), Default::default()))
                .with_compare_seed("s-".into()),
            t0: Instant::now(),
        }
    }
    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }
    fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        let now = self.at(0);
        self.model
            .update(AppEvent::Key(KeyEvent::new(code, modifiers)), now)
    }
    fn alt(&mut self, c: char) -> Vec<Effect> {
        self.key(KeyCode::Char(c), KeyModifiers::ALT)
    }
    /// Every message sent three times (Alt-R once).
    fn with_repeat(mut self) -> Harness {
        self.alt('r');
        self
    }
    /// Two lanes: the first asks model-a, the second (focused) model-b.
    fn two_lanes() -> Harness {
        let mut h = Harness::new();
        h.alt('n');
        h.model.lane.model = "model-b".into();
        h
    }
    /// Sends `text` and returns the specs started, in screen order.
    fn send(&mut self, text: &str) -> Vec<(RequestId, RequestSpec)> {
        self.model.update(AppEvent::Paste(text.into()), self.at(0));
        self.key(KeyCode::Enter, KeyModifiers::NONE)
            .into_iter()
            .filter_map(|e| match e {
                Effect::StartRequest { id, spec } => Some((id, *spec)),
                _ => None,
            })
            .collect()
    }
    fn event(&mut self, id: RequestId, event: StreamEvent, ms: u64) {
        let now = self.at(ms);
        self.model.update(AppEvent::stream(id, event, now), now);
    }
    /// Request `id` answers `text` after `ttft` ms and finishes at `end` ms.
    fn answer(&mut self, id: RequestId, text: &str, ttft: u64, end: u64, out: u64) {
        let now = self.at(0);
        let started = Progress::AttemptStarted {
            number: 1,
            model: "m".into(),
        };
        self.model.update(AppEvent::progress(id, started, now), now);
        self.event(id, StreamEvent::TextDelta(text.into()), ttft);
        self.event(
            id,
            StreamEvent::Usage(Usage {
                input_tokens: Some(10),
                output_tokens: Some(out),
                ..Usage::default()
            }),
            end,
        );
        self.event(
            id,
            StreamEvent::Finished {
                stop_reason: StopReason::EndTurn,
            },
            end,
        );
    }
    fn ended(&mut self, id: RequestId, end: End) {
        let now = self.at(50);
        self.model.update(AppEvent::RequestEnded { id, end }, now);
    }
    fn lane_texts(&self) -> Vec<String> {
        self.model
            .lanes()
            .iter()
            .map(|l| {
                l.transcript
                    .last_reply()
                    .map_or("", |r| r.text())
                    .to_string()
            })
            .collect()
    }
    fn models(&self) -> Vec<String> {
        self.model.lanes().iter().map(|l| l.model.clone()).collect()
    }
}

#[test]
fn enter_sends_one_message_to_every_lane_with_one_compare_id() {
    let mut h = Harness::two_lanes();
    assert!(h.model.is_comparing());
    assert_eq!(h.models(), vec!["model-a", "model-b"]);
    let specs = h.send("hello");
    assert_eq!(specs.len(), 2);
    let models: Vec<&str> = specs
        .iter()
        .map(|(_, s)| s.request.model.as_str())
        .collect();
    assert_eq!(models, vec!["model-a", "model-b"]);
    for (_, spec) in &specs {
        assert_eq!(spec.compare_id.as_deref(), Some("s-1"));
        assert_eq!(spec.user_text.as_deref(), Some("hello"));
        // Each lane is a conversation of its own; a refused lane still keeps the message.
        assert_eq!(spec.conversation, None);
        assert!(spec.store_even_if_refused);
    }
    assert_eq!(
        h.model.composer_text(),
        "",
        "the message left the shared composer"
    );
    for lane in h.model.lanes() {
        assert!(lane.active.is_some());
        assert!(matches!(
            lane.transcript.entries().next(),
            Some(Entry::User { text }) if text == "hello"
        ));
    }
}

#[test]
fn each_lane_streams_its_own_reply_and_the_fast_one_finishes_first() {
    let mut h = Harness::two_lanes();
    let specs = h.send("hello");
    let (slow, fast) = (specs[0].0, specs[1].0);
    h.answer(fast, "quick answer", 100, 300, 2);
    assert_eq!(h.lane_texts(), vec!["", "quick answer"]);
    assert_eq!(
        h.model.lanes()[0].active,
        Some(slow),
        "the slow lane streams on"
    );
    assert_eq!(h.model.lanes()[1].active, None, "the fast lane is done");
    assert_eq!(
        h.model.contenders(),
        vec![],
        "no verdict while a lane streams"
    );
    h.answer(slow, "a much longer and slower answer", 900, 2000, 7);
    assert_eq!(
        h.lane_texts(),
        vec!["a much longer and slower answer", "quick answer"]
    );
    assert_eq!(
        verdict(&h.model.contenders())
            .into_iter()
            .filter(|p| !p.starts_with("cheapest"))
            .collect::<Vec<_>>(),
        vec![
            "fastest first token: lane 2 (0.10s)".to_string(),
            "shortest: lane 2 (2 tok)".into(),
            "longest: lane 1 (7 tok)".into(),
        ]
    );
    // Totals are per lane.
    assert_eq!(h.model.lanes()[0].totals.output_tokens, 7);
    assert_eq!(h.model.lanes()[1].totals.output_tokens, 2);
}

#[test]
fn a_failing_lane_and_a_refused_lane_never_stop_the_others() {
    let mut h = Harness::new();
    h.alt('n');
    h.alt('n');
    let specs = h.send("hello");
    let ids: Vec<RequestId> = specs.iter().map(|(id, _)| *id).collect();
    h.ended(
        ids[0],
        End::Failed(LlmError::Overloaded {
            status: 529,
            message: "overloaded".into(),
        }),
    );
    h.ended(
        ids[1],
        End::Refused {
            attempt: 1,
            message: "rate limit 2/1h reached".into(),
            retry_after: Duration::from_secs(60),
        },
    );
    assert!(h.model.lanes()[2].active.is_some(), "lane 3 goes on");
    h.answer(ids[2], "fine", 10, 20, 1);
    let states: Vec<String> = h
        .model
        .lanes()
        .iter()
        .map(
            |l| match &l.transcript.last_reply().expect("a reply").state {
                ReplyState::Failed(e) => format!("failed: {}", e.kind()),
                ReplyState::Finished(_) => "finished".into(),
                other => format!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(states[2], "finished");
    assert!(states[0].starts_with("failed"), "{states:?}");
    assert!(states[1].starts_with("failed"), "{states:?}");
    assert_ne!(states[0], states[1], "each lane says its own error");
}

#[test]
fn alt_x_cancels_the_focused_lane_and_esc_cancels_every_lane() {
    let mut h = Harness::two_lanes();
    h.model.lane.model = "model-b".into();
    h.alt('n');
    let ids: Vec<RequestId> = h.send("hi").into_iter().map(|(id, _)| id).collect();
    // Focus is on lane 3 (the last opened).
    assert_eq!(h.model.compare.focus, 2);
    let effects = h.alt('x');
    assert_eq!(effects, vec![Effect::CancelRequest { id: ids[2] }]);
    assert_eq!(h.model.streaming_lane(), Some(1), "lanes 1 and 2 stream on");
    let mut effects = h.key(KeyCode::Esc, KeyModifiers::NONE);
    effects.sort_by_key(|e| match e {
        Effect::CancelRequest { id } => id.0,
        _ => u64::MAX,
    });
    assert_eq!(
        effects,
        vec![
            Effect::CancelRequest { id: ids[0] },
            Effect::CancelRequest { id: ids[1] },
        ]
    );
    assert_eq!(h.model.streaming_lane(), None);
    // Events of cancelled requests are ignored.
    h.event(ids[0], StreamEvent::TextDelta("late".into()), 5);
    assert_eq!(h.lane_texts(), vec!["", "", ""]);
}

#[test]
fn focus_moves_without_reordering_and_closing_the_last_other_lane_ends_the_compare() {
    let mut h = Harness::new();
    h.alt('n');
    h.model.lane.model = "model-b".into();
    h.alt('n');
    h.model.lane.model = "model-c".into();
    assert_eq!(h.models(), vec!["model-a", "model-b", "model-c"]);
    h.key(KeyCode::Left, KeyModifiers::ALT);
    h.key(KeyCode::Left, KeyModifiers::ALT);
    h.key(KeyCode::Left, KeyModifiers::ALT);
    assert_eq!(h.model.compare.focus, 0);
    assert_eq!(
        h.model.lane.model, "model-a",
        "the focused lane is the one acted on"
    );
    assert_eq!(h.models(), vec!["model-a", "model-b", "model-c"]);
    h.key(KeyCode::Right, KeyModifiers::ALT);
    assert_eq!(h.model.lane.model, "model-b");
    h.alt('w');
    assert_eq!(h.models(), vec!["model-a", "model-c"]);
    assert_eq!(
        h.model.lane.model, "model-c",
        "the lane right of it takes the focus"
    );
    assert_eq!(h.model.compare.id.as_deref(), Some("s-1"));
    h.alt('w');
    assert!(!h.model.is_comparing());
    assert_eq!(h.model.compare.id, None);
    // A later compare is a new run.
    h.alt('n');
    assert_eq!(h.model.compare.id.as_deref(), Some("s-2"));
}

#[test]
fn four_lanes_at_most() {
    let mut h = Harness::new();
    for _ in 0..5 {
        h.alt('n');
    }
    assert_eq!(h.model.lanes().len(), MAX_LANES);
    let status = h.model.status.clone().expect("a message").text;
    assert!(status.contains("4 lanes at most"), "{status}");
}

#[test]
fn paging_moves_every_lane_together_or_only_the_focused_one() {
    let mut h = Harness::two_lanes();
    let transcripts: Vec<ScrollTarget> = h
        .model
        .lanes()
        .iter()
        .map(|l| ScrollTarget::Transcript(l.transcript.id()))
        .collect();
    let scrolled = |effects: Vec<Effect>| -> Vec<(ScrollTarget, ScrollTo)> {
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Scroll { target, to } => Some((target, to)),
                _ => None,
            })
            .collect()
    };
    let mut home = scrolled(h.key(KeyCode::Home, KeyModifiers::NONE));
    home.sort_by_key(|(target, _)| transcripts.iter().position(|t| t == target));
    assert_eq!(
        home,
        vec![
            (transcripts[0], ScrollTo::Top),
            (transcripts[1], ScrollTo::Top)
        ]
    );
    h.alt('s');
    let end = h.key(KeyCode::End, KeyModifiers::NONE);
    let focused = ScrollTarget::Transcript(h.model.lane.transcript.id());
    assert_eq!(scrolled(end), vec![(focused, ScrollTo::Bottom)]);
}

const V1: &str = "Greet {{name}}.";
const V2: &str = "Greet {{name}} warmly.";

fn loaded(text: &str) -> LoadedPrompt {
    LoadedPrompt {
        text: text.into(),
        provenance: Provenance {
            name: "greeter".into(),
            content_hash: content_hash(text),
            git: GitState::Uncommitted,
        },
    }
}

fn resolved(h: &mut Harness, text: &str, purpose: ResolvePurpose) -> Vec<Effect> {
    let now = h.at(0);
    h.model.update(
        AppEvent::PromptResolved {
            reference: Reference::working("greeter"),
            purpose,
            result: Ok(loaded(text)),
        },
        now,
    )
}

/// A chat on the greeter's working file (name=Alice) with one finished turn.
fn greeter_with_one_turn() -> Harness {
    let mut h = Harness::new();
    h.model.lane.vars.insert("name".into(), "Alice".into());
    resolved(&mut h, V1, ResolvePurpose::Activate);
    let id = h.model.next_request_id();
    let reply = h.model.new_reply(&h.model.lane, id, None, h.at(0));
    h.model.lane.transcript.push(Entry::User {
        text: "hello".into(),
    });
    h.model.lane.transcript.push(Entry::Reply(Box::new(reply)));
    h.model.lane.active = Some(id);
    h.answer(id, "Hi Alice.", 5, 10, 3);
    h
}

#[test]
fn with_rerun_on_save_a_save_reruns_the_last_message_in_a_new_lane_beside_the_old_reply() {
    let mut h = greeter_with_one_turn();
    h.alt('a');
    let now = h.at(0);
    let effects = h.model.update(
        AppEvent::PromptsChanged(WatchEvent::Changed(vec!["greeter".into()])),
        now,
    );
    assert!(effects.contains(&Effect::ResolvePrompt {
        reference: Reference::working("greeter"),
        purpose: ResolvePurpose::Reload
    }));
    let effects = resolved(&mut h, V2, ResolvePurpose::Reload);
    let specs: Vec<&RequestSpec> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartRequest { spec, .. } => Some(spec.as_ref()),
            _ => None,
        })
        .collect();
    assert_eq!(specs.len(), 1, "{effects:?}");
    let spec = specs[0];
    assert_eq!(spec.request.system.as_deref(), Some("Greet Alice warmly."));
    assert_eq!(spec.request.messages.len(), 1);
    assert_eq!(spec.request.messages[0].content, "hello");
    assert_eq!(spec.user_text.as_deref(), Some("hello"));
    assert!(spec.compare_id.is_some());
    let lanes = h.model.lanes();
    assert_eq!(lanes.len(), 2);
    let old = lanes[0].prompt.as_ref().expect("a prompt");
    assert_eq!(old.provenance.content_hash, content_hash(V1));
    assert_eq!(
        old.tracking,
        Tracking::Pinned,
        "the old lane keeps its version"
    );
    assert_eq!(
        lanes[0].transcript.last_reply().map(|r| r.text()),
        Some("Hi Alice.")
    );
    let new = lanes[1].prompt.as_ref().expect("a prompt");
    assert_eq!(new.provenance.content_hash, content_hash(V2));
    assert_eq!(new.tracking, Tracking::WorkingTree);
    assert!(lanes[1].active.is_some());
}

#[test]
fn without_rerun_on_save_following_lanes_take_the_save_and_pinned_lanes_stay() {
    let mut h = greeter_with_one_turn();
    // Lane 2 follows the file too; lane 1 is pinned (as an older commit would be).
    h.alt('n');
    if let Some(p) = h.model.others[0].prompt.as_mut() {
        p.tracking = Tracking::Pinned;
    }
    let effects = resolved(&mut h, V2, ResolvePurpose::Reload);
    assert_eq!(effects, vec![]);
    let hashes: Vec<_> = h
        .model
        .lanes()
        .iter()
        .map(|l| l.prompt.as_ref().map(|p| p.provenance.content_hash.clone()))
        .collect();
    assert_eq!(
        hashes,
        vec![Some(content_hash(V1)), Some(content_hash(V2))],
        "the pinned lane is the baseline"
    );
}

fn runs_of(lane: &Lane) -> Vec<(u32, u32, bool)> {
    lane.transcript
        .entries()
        .filter_map(|e| match e {
            Entry::Reply(r) => r.run.map(|run| (run.number, run.of, r.superseded)),
            _ => None,
        })
        .collect()
}

#[test]
fn alt_r_sends_each_message_three_times_per_lane_and_later_runs_join_the_first_ones_conversation() {
    let mut h = Harness::two_lanes();
    h.alt('r');
    assert_eq!(h.model.compare.repeat, 3);
    let firsts = h.send("hi");
    assert_eq!(firsts.len(), 2, "one request per lane starts at once");
    for lane in h.model.lanes() {
        // Every run has its slot; only the last continues the conversation.
        assert_eq!(
            runs_of(lane),
            vec![(1, 3, true), (2, 3, true), (3, 3, false)]
        );
        assert_eq!(lane.runs.len(), 2);
    }
    // Lane 1's first run stored the message: its other runs append to that conversation.
    let now = h.at(1);
    let effects = h.model.update(
        AppEvent::Request {
            id: firsts[0].0,
            event: crate::request::PumpEvent::Stored {
                conversation: crate::records::ConversationId(7),
            },
        },
        now,
    );
    let runs: Vec<(Option<i64>, Option<String>, Option<&str>)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartRequest { spec, .. } => Some((
                spec.conversation.map(|c| c.0),
                spec.user_text.clone(),
                spec.compare_id.as_deref(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        runs,
        vec![(Some(7), None, Some("s-1")), (Some(7), None, Some("s-1"))],
        "stored once, answered three times"
    );
    // Lane 2 has no database behind it: its first attempt starts, and so do the others.
    let started = Progress::AttemptStarted {
        number: 1,
        model: "model-b".into(),
    };
    let effects = h
        .model
        .update(AppEvent::progress(firsts[1].0, started, now), now);
    let starts = effects
        .iter()
        .filter(|e| matches!(e, Effect::StartRequest { .. }))
        .count();
    assert_eq!(starts, 2);
}

#[test]
fn the_runs_variation_is_counted_and_the_last_run_continues_the_conversation() {
    let mut h = Harness::new().with_repeat();
    let first = h.send("hi");
    assert_eq!(first.len(), 1, "one lane, one request at first");
    let ids: Vec<RequestId> = {
        let lane = &h.model.lane;
        lane.streaming_ids()
    };
    assert_eq!(ids.len(), 3);
    h.answer(ids[0], "Same answer.", 10, 20, 3);
    h.answer(ids[1], "Same answer.", 10, 20, 3);
    assert_eq!(
        h.model.lane.variation().map(|v| (v.runs, v.identical)),
        Some((2, 2))
    );
    h.answer(ids[2], "A different, longer answer.", 10, 20, 6);
    assert_eq!(
        h.model.lane.variation(),
        Some(lane::Variation {
            runs: 3,
            identical: 2,
            shortest: 3,
            longest: 6,
        })
    );
    assert!(!h.model.lane.is_streaming());
    let next = h.send("and?");
    let contents: Vec<&str> = next[0]
        .1
        .request
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(
        contents,
        vec!["hi", "A different, longer answer.", "and?"],
        "the last run is the history"
    );
}

#[test]
fn runs_that_never_started_fail_with_the_first_and_esc_cancels_every_run() {
    let mut h = Harness::new().with_repeat();
    let first = h.send("hi")[0].0;
    h.ended(
        first,
        End::Refused {
            attempt: 1,
            message: "rate limit 1/1h reached".into(),
            retry_after: Duration::from_secs(60),
        },
    );
    assert!(!h.model.lane.is_streaming());
    let errors: Vec<String> = h
        .model
        .lane
        .transcript
        .entries()
        .filter_map(|e| match e {
            Entry::Reply(r) => match &r.state {
                ReplyState::Failed(e) => Some(e.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[1].contains("run 1 ended before the message was stored"),
        "{errors:?}"
    );

    let ids = {
        h.send("again");
        h.model.lane.streaming_ids()
    };
    assert_eq!(ids.len(), 3);
    let mut cancelled: Vec<RequestId> = h
        .key(KeyCode::Esc, KeyModifiers::NONE)
        .into_iter()
        .filter_map(|e| match e {
            Effect::CancelRequest { id } => Some(id),
            _ => None,
        })
        .collect();
    cancelled.sort_by_key(|id| id.0);
    assert_eq!(cancelled, ids);
    assert!(!h.model.lane.is_streaming());
}

#[test]
fn alt_t_gives_the_focused_lane_its_own_temperature() {
    let mut h = Harness::new();
    h.alt('n');
    h.alt('t');
    h.alt('t');
    let temperatures: Vec<Option<f32>> = h
        .send("hi")
        .iter()
        .map(|(_, spec)| spec.request.temperature)
        .collect();
    assert_eq!(temperatures, vec![None, Some(0.5)]);
    let status = h.model.status.clone().map(|s| s.text).unwrap_or_default();
    assert!(status.is_empty(), "sending clears the message: {status}");
}
