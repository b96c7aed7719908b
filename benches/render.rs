//! Rendering cost benchmark: `cargo bench --bench render`.
//!
//! Measures (1) the cost of one frame of the chat screen with 10 and with 10,000 messages in
//! the transcript — the layout cache and visible-rows-only drawing should make them about
//! equal — and (2) the cost of streaming a 2,000-token reply through `Model::update` and
//! drawing a frame after every 16 tokens, against the 16.7 ms frame budget. Results are
//! printed as medians and as ratios; timings on a shared machine are noisy, so the README
//! reports ratios.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use promptdeck::event::{AppEvent, RequestId};
use promptdeck::llm::retry::Progress;
use promptdeck::llm::{StopReason, StreamEvent};
use promptdeck::model::{Effect, Model, Session, StartKind};
use promptdeck::ui::{self, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn model_with(messages: usize) -> Model {
    let mut model = Model::new(Session {
        provider: "anthropic".into(),
        provider_label: None,
        model: "bench".into(),
        max_tokens: 1024,
        temperature: None,
        system: None,
        start: StartKind::Configured,
    });
    let now = Instant::now();
    for i in 0..messages / 2 {
        send(
            &mut model,
            &format!("question number {i} about **markdown** and `code`"),
            now,
        );
        let id = RequestId(i as u64 + 1);
        model.update(
            AppEvent::stream(
                id,
                StreamEvent::TextDelta(
                    "An answer with a list:\n\n- one\n- two\n\n```rust\nfn main() {}\n```\n".into(),
                ),
                now,
            ),
            now,
        );
        model.update(
            AppEvent::stream(
                id,
                StreamEvent::Finished {
                    stop_reason: StopReason::EndTurn,
                },
                now,
            ),
            now,
        );
    }
    model
}

fn send(model: &mut Model, text: &str, now: Instant) -> Option<RequestId> {
    model.update(AppEvent::Paste(text.into()), now);
    let effects = model.update(
        AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        now,
    );
    let id = effects.into_iter().find_map(|e| match e {
        Effect::StartRequest { id, .. } => Some(id),
        _ => None,
    })?;
    let started = Progress::AttemptStarted {
        number: 1,
        model: "claude-sonnet-4-5".into(),
    };
    model.update(AppEvent::progress(id, started, now), now);
    Some(id)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median frame of the chat screen at 10 and at 10,000 messages. Frames of the two are
/// drawn alternately (200 of each), so that the machine's slow and fast moments fall on both
/// alike and their ratio holds even when the times themselves move.
fn frame_costs() -> (Duration, Duration) {
    let theme = Theme::default();
    let mut setups = [10, 10_000].map(|messages| {
        let model = model_with(messages);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        let mut view = ui::View::default();
        // Warm the layout cache as the first real frame would.
        terminal
            .draw(|f| ui::render(&model, &theme, &mut view, f))
            .expect("draw");
        (model, terminal, view, Vec::with_capacity(200))
    });
    for _ in 0..200 {
        for (model, terminal, view, samples) in &mut setups {
            let start = Instant::now();
            terminal
                .draw(|f| ui::render(model, &theme, view, f))
                .expect("draw");
            samples.push(start.elapsed());
        }
    }
    let [small, large] = setups.map(|(_, _, _, samples)| median(samples));
    (small, large)
}

fn streaming_cost() -> (Duration, Duration) {
    let mut model = model_with(20);
    let theme = Theme::default();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let mut view = ui::View::default();
    let now = Instant::now();
    let id = send(&mut model, "write a long answer", now).expect("sent");
    let mut frames = Vec::new();
    let start = Instant::now();
    for i in 0..2000 {
        let token = if i % 40 == 39 { "word\n\n" } else { "word " };
        model.update(
            AppEvent::stream(id, StreamEvent::TextDelta(token.into()), now),
            now,
        );
        if i % 16 == 15 {
            let f = Instant::now();
            terminal
                .draw(|f| ui::render(&model, &theme, &mut view, f))
                .expect("draw");
            frames.push(f.elapsed());
        }
    }
    let total = start.elapsed();
    let worst = frames.iter().max().copied().unwrap_or_default();
    (total, worst.max(median(frames)))
}

fn main() {
    let (small, large) = frame_costs();
    println!("frame at 10 messages:      median {small:?}");
    println!("frame at 10,000 messages:  median {large:?}");
    println!(
        "ratio 10,000 / 10:         {:.2}",
        large.as_secs_f64() / small.as_secs_f64()
    );
    let (total, worst_frame) = streaming_cost();
    println!("2,000-token reply, update + a frame per 16 tokens: total {total:?}");
    println!(
        "worst frame while streaming: {worst_frame:?} ({:.1}% of the 16.7 ms frame budget)",
        worst_frame.as_secs_f64() / 0.016_667 * 100.0
    );
}
