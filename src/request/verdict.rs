//! Which of several replies to the same input did best: fastest to the first token, cheapest,
//! shortest and longest. One rule for the compare screen's summary row and for the headless
//! `compare` report, so both name the same lanes.

/// One reply in the running.
#[derive(Debug, Clone, PartialEq)]
pub struct Contender {
    /// How the reply is named in the verdict ("lane 2", "lane 1 run 3").
    pub name: String,
    /// Whether it produced any text (a lane that failed before its first token is out).
    pub answered: bool,
    /// Time to first token, in ms.
    pub ttft_ms: Option<u64>,
    /// Cost in USD, when priced.
    pub cost_usd: Option<f64>,
    /// The cost as shown ("$0.0012", "<$0.0001").
    pub cost_label: String,
    /// Output tokens, when known.
    pub output_tokens: Option<u64>,
}

/// The verdict's parts, e.g. `["fastest first token: lane 2 (0.41s)", "cheapest: lane 1
/// ($0.0012)", "shortest: lane 1 (40 tok)", "longest: lane 2 (95 tok)"]`; empty when fewer
/// than two replies produced text.
pub fn verdict(contenders: &[Contender]) -> Vec<String> {
    let answered: Vec<&Contender> = contenders.iter().filter(|c| c.answered).collect();
    if answered.len() < 2 {
        return Vec::new();
    }
    let mut parts = Vec::new();
    if let Some((c, ms)) = answered
        .iter()
        .filter_map(|c| Some((*c, c.ttft_ms?)))
        .min_by_key(|(_, ms)| *ms)
    {
        parts.push(format!(
            "fastest first token: {} ({:.2}s)",
            c.name,
            ms as f64 / 1000.0
        ));
    }
    if let Some((c, _)) = answered
        .iter()
        .filter_map(|c| Some((*c, c.cost_usd?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
    {
        parts.push(format!("cheapest: {} ({})", c.name, c.cost_label));
    }
    let counted: Vec<(&Contender, u64)> = answered
        .iter()
        .filter_map(|c| Some((*c, c.output_tokens?)))
        .collect();
    if counted.len() >= 2 {
        // The first of equals wins both ways: ties never name two lanes.
        let short = counted.iter().min_by_key(|(_, n)| *n);
        let long = counted.iter().rev().max_by_key(|(_, n)| *n);
        if let (Some((s, sn)), Some((l, ln))) = (short, long) {
            parts.push(format!("shortest: {} ({sn} tok)", s.name));
            parts.push(format!("longest: {} ({ln} tok)", l.name));
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn lane(n: usize, ttft: Option<u64>, usd: Option<f64>, out: Option<u64>) -> Contender {
        Contender {
            name: format!("lane {n}"),
            answered: true,
            ttft_ms: ttft,
            cost_usd: usd,
            cost_label: usd.map_or("unknown".into(), |u| format!("${u:.4}")),
            output_tokens: out,
        }
    }

    #[test]
    fn names_the_fastest_cheapest_shortest_and_longest() {
        let lanes = [
            lane(1, Some(900), Some(0.002), Some(120)),
            lane(2, Some(410), Some(0.001), Some(40)),
            lane(3, Some(600), None, Some(300)),
        ];
        assert_eq!(
            verdict(&lanes),
            vec![
                "fastest first token: lane 2 (0.41s)".to_string(),
                "cheapest: lane 2 ($0.0010)".into(),
                "shortest: lane 2 (40 tok)".into(),
                "longest: lane 3 (300 tok)".into(),
            ]
        );
    }

    #[test]
    fn a_lane_without_text_is_out_and_one_reply_is_no_contest() {
        let mut failed = lane(1, None, None, None);
        failed.answered = false;
        assert_eq!(
            verdict(&[failed.clone(), lane(2, Some(5), Some(0.1), Some(3))]),
            Vec::<String>::new()
        );
        let parts = verdict(&[
            failed,
            lane(2, Some(5), None, None),
            lane(3, Some(9), None, Some(7)),
        ]);
        assert_eq!(
            parts,
            vec!["fastest first token: lane 2 (0.01s)".to_string()]
        );
    }
}
