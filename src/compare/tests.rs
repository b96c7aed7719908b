//! The compare report: labels, the table, the winners and the variation of repeats.

use pretty_assertions::assert_eq;

use super::*;
use crate::llm::Usage;
use crate::llm::pricing::CostView;

fn lane(lane: usize, repeat: u32, text: &str, ttft_ms: u64, out: u64, usd: f64) -> LaneOutcome {
    LaneOutcome {
        compare_id: "c1".into(),
        lane,
        repeat,
        status: exit::OK,
        reply: AskOutcome {
            text: text.into(),
            provider: "anthropic".into(),
            label: None,
            model: format!("model-{lane}"),
            response_model: None,
            response_id: None,
            request_id: None,
            usage: Usage {
                input_tokens: Some(10),
                output_tokens: Some(out),
                ..Usage::default()
            },
            usage_reported: true,
            output_estimated: false,
            cost: CostView::Known(usd),
            cost_usd: Some(usd),
            notes: Vec::new(),
            notices: Vec::new(),
            time_to_first_token_ms: Some(ttft_ms),
            total_ms: ttft_ms + 500,
            stop_reason: Some("end_turn".into()),
            error: None,
            attempts: 1,
            prompt: None,
            prompt_ref: None,
            conversation_id: Some(lane as i64),
        },
    }
}

#[test]
fn the_report_labels_each_reply_and_names_the_winners() {
    let lanes = [
        lane(1, 1, "A short reply.", 900, 4, 0.002),
        lane(
            2,
            1,
            "A much longer reply, with more to say.",
            300,
            12,
            0.001,
        ),
    ];
    let report = report(&lanes);
    assert!(
        report.starts_with("── lane 1 · no prompt · model-1 ──\nA short reply.\n"),
        "{report}"
    );
    assert!(
        report.contains("── lane 2 · no prompt · model-2 ──\n"),
        "{report}"
    );
    let last = report.lines().last().unwrap();
    assert_eq!(
        last,
        "fastest first token: lane 2 (0.30s) · cheapest: lane 2 ($0.0010) · shortest: lane 1 \
         (4 tok) · longest: lane 2 (12 tok)"
    );
    let header = report.lines().find(|l| l.starts_with("LANE")).unwrap();
    assert!(
        header.contains("FIRST TOKEN") && header.contains("COST"),
        "{header}"
    );
}

#[test]
fn repeats_say_how_much_the_replies_vary() {
    let lanes = [
        lane(1, 1, "same", 100, 5, 0.001),
        lane(1, 2, "same", 120, 5, 0.001),
        lane(1, 3, "different", 110, 9, 0.001),
    ];
    let report = report(&lanes);
    assert!(
        report.contains("── lane 1 · no prompt · model-1 · run 3 ──"),
        "{report}"
    );
    assert!(
        report.ends_with("lane 1: 3 runs, 2 identical to the first, 5–9 tok\n"),
        "{report}"
    );
}
