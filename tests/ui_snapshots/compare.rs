//! The compare screen: a prompt's previous commit against its working file, streaming at
//! once with their own time to first token, at 80x24 (stacked), 120x40 and 200x50 (columns);
//! a lane refused by the limiter beside answering ones; the word diff; zoom.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use promptdeck::event::{AppEvent, RequestId, ResolvePurpose};
use promptdeck::llm::{StopReason, StreamEvent, Usage};
use promptdeck::model::Effect;
use promptdeck::prompts::{GitState, LoadedPrompt, Provenance, Reference, content_hash};
use promptdeck::request::End;
use ratatui::style::{Color, Modifier};

use super::{Screen, StartKind};

const WORKING: &str = "You greet people warmly, in one sentence.";
const COMMITTED: &str = "You greet people.";

fn resolve(s: &mut Screen, reference: &str, text: &str, git: GitState) {
    let now = s.at(0);
    s.model.update(
        AppEvent::PromptResolved {
            reference: Reference::parse(reference).expect("a reference"),
            purpose: ResolvePurpose::Activate,
            result: Ok(LoadedPrompt {
                text: text.into(),
                provenance: Provenance {
                    name: "greeter".into(),
                    content_hash: content_hash(text),
                    git,
                },
            }),
        },
        now,
    );
}

fn alt(s: &mut Screen, c: char) {
    s.key(KeyCode::Char(c), KeyModifiers::ALT, 0);
}

/// Presses Enter; returns the requests started (one per lane, or per lane's first run).
fn enter(s: &mut Screen) -> Vec<RequestId> {
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    s.model
        .update(AppEvent::Key(enter), s.at(0))
        .into_iter()
        .filter_map(|e| match e {
            Effect::StartRequest { id, .. } => Some(id),
            _ => None,
        })
        .collect()
}

/// Lane 1 on the working file, lane 2 on the previous commit; one message sent to both.
fn two_lanes_sent(s: &mut Screen) -> Vec<RequestId> {
    resolve(s, "greeter", WORKING, GitState::Uncommitted);
    alt(s, 'n');
    resolve(
        s,
        "greeter@HEAD~1",
        COMMITTED,
        GitState::Commit("1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d".into()),
    );
    s.type_text("Say hi to Alice", 0);
    let ids = enter(s);
    for id in &ids {
        s.attempt(*id, 1, "claude-sonnet-4-5", 0);
    }
    ids
}

fn finish(s: &mut Screen, id: RequestId, out: u64, ms: u64) {
    s.stream(
        id,
        StreamEvent::Usage(Usage {
            input_tokens: Some(20),
            output_tokens: Some(out),
            cache_creation_input_tokens: Some(0),
            cache_read_input_tokens: Some(0),
            cache_creation_1h_input_tokens: None,
        }),
        ms,
    );
    s.stream(
        id,
        StreamEvent::Finished {
            stop_reason: StopReason::EndTurn,
        },
        ms,
    );
}

/// Lane 2 (the commit) is fast and done; lane 1 (the working file) is still streaming.
fn mid_stream(s: &mut Screen) {
    let ids = two_lanes_sent(s);
    s.stream(
        ids[1],
        StreamEvent::TextDelta("Hi Alice, nice to meet you.".into()),
        300,
    );
    finish(s, ids[1], 5, 450);
    s.stream(
        ids[0],
        StreamEvent::TextDelta("Hi Alice, it is lovely to".into()),
        900,
    );
    s.model.update(AppEvent::Tick, s.at(1000));
}

fn both_done(s: &mut Screen) {
    mid_stream(s);
    let id = s.model.lanes()[0].active.expect("lane 1 streams");
    s.stream(id, StreamEvent::TextDelta(" meet you, Alice!".into()), 1300);
    finish(s, id, 12, 1400);
}

#[test]
fn compare_mid_stream_80x24_stacked() {
    let mut s = Screen::new(StartKind::Configured);
    mid_stream(&mut s);
    insta::assert_snapshot!(s.render(80, 24));
}

#[test]
fn compare_mid_stream_120x40_columns() {
    let mut s = Screen::new(StartKind::Configured);
    mid_stream(&mut s);
    insta::assert_snapshot!(s.render(120, 40));
}

#[test]
fn compare_done_with_the_verdict_200x50() {
    let mut s = Screen::new(StartKind::Configured);
    both_done(&mut s);
    let screen = s.render(200, 50);
    assert!(
        screen.contains("fastest first token: lane 2 (0.30s)"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn compare_word_diff_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    both_done(&mut s);
    alt(&mut s, 'd');
    let terminal = s.draw(120, 40);
    let buffer = terminal.backend().buffer();
    // The highlighted words of each lane, read back from the cells' style.
    let highlighted = |x0: u16, x1: u16| -> String {
        let mut words = String::new();
        for y in 0..40 {
            for x in x0..x1 {
                let cell = &buffer[(x, y)];
                if cell.modifier.contains(Modifier::REVERSED) && cell.fg == Color::Yellow {
                    words.push_str(cell.symbol());
                } else if !words.ends_with(' ') && !words.is_empty() {
                    words.push(' ');
                }
            }
        }
        words.trim().to_string()
    };
    assert_eq!(highlighted(0, 60), "it is lovely you, Alice!");
    assert_eq!(highlighted(61, 120), "nice you.");
    insta::assert_snapshot!(s.render(120, 40));
}

#[test]
fn compare_zoomed_lane_80x24() {
    let mut s = Screen::new(StartKind::Configured);
    both_done(&mut s);
    alt(&mut s, 'z');
    let screen = s.render(80, 24);
    assert!(screen.contains("▶ 2 greeter@1a2b3c4d5e6f"), "{screen}");
    assert!(
        !screen.contains(" 1 greeter"),
        "only the focused lane: {screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn a_lane_refused_by_the_limit_says_so_in_its_own_column_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    resolve(&mut s, "greeter", WORKING, GitState::Uncommitted);
    alt(&mut s, 'n');
    alt(&mut s, 'n');
    s.type_text("Say hi to Alice", 0);
    let ids = enter(&mut s);
    s.attempt(ids[0], 1, "claude-sonnet-4-5", 0);
    s.attempt(ids[1], 1, "claude-sonnet-4-5", 0);
    s.model.update(
        AppEvent::RequestEnded {
            id: ids[2],
            end: End::Refused {
                attempt: 1,
                message: "rate limit 2/1h reached — next slot in 59m".into(),
                retry_after: Duration::from_secs(3540),
            },
        },
        s.at(5),
    );
    s.stream(ids[0], StreamEvent::TextDelta("Hi Alice!".into()), 200);
    finish(&mut s, ids[0], 4, 300);
    s.stream(ids[1], StreamEvent::TextDelta("Hello Alice.".into()), 250);
    finish(&mut s, ids[1], 4, 350);
    let screen = s.render(120, 40);
    assert!(
        screen.contains("not sent: rate limit 2/1h reached"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

#[test]
fn repeats_show_how_much_each_lanes_runs_vary_120x40() {
    let mut s = Screen::new(StartKind::Configured);
    resolve(&mut s, "greeter", WORKING, GitState::Uncommitted);
    alt(&mut s, 'n');
    alt(&mut s, 'r'); // ×3
    s.type_text("Say hi to Alice", 0);
    enter(&mut s);
    let answers = [
        ["Hi Alice!", "Hi Alice!", "Hello, Alice."],
        ["Hey Alice.", "Good day, Alice!", "Hey Alice."],
    ];
    for (lane, texts) in answers.iter().enumerate() {
        let ids = s.model.lanes()[lane].streaming_ids();
        assert_eq!(ids.len(), 3);
        for (run, (id, text)) in ids.iter().zip(texts).enumerate() {
            let at = 100 * (run as u64 + 1);
            s.attempt(*id, 1, "claude-sonnet-4-5", 0);
            s.stream(*id, StreamEvent::TextDelta((*text).into()), at);
            finish(&mut s, *id, text.len() as u64 / 3, at + 50);
        }
    }
    let screen = s.render(120, 40);
    assert!(
        screen.contains("3 runs: 2 identical, 3–4 tok"),
        "lane 1's footer:\n{screen}"
    );
    assert!(screen.contains("run 3/3"), "{screen}");
    insta::assert_snapshot!(screen);
}
