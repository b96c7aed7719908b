//! The request log as people and scripts read it: `promptdeck log` and `log --json`.
//!
//! The table is plain text for a terminal: every value that came from outside (prompt names,
//! model names, error types) is stripped of control sequences, and a missing number is `-`,
//! never 0. The JSON form is the rows themselves, serialised with the OpenTelemetry-style
//! field names of the `requests` table, so scripts see the same names as SQL users.

use crate::text;

use super::{RequestRow, RequestStatus, StoreError};

/// Formats log rows as an aligned table (time in UTC, prompt version, model, tokens, time to
/// first chunk, latency, cost, status), one request attempt per line.
pub fn format_log_table(rows: &[RequestRow]) -> String {
    if rows.is_empty() {
        return "no requests logged yet\n".to_string();
    }
    let header = [
        "ID",
        "TIME (UTC)",
        "PROMPT",
        "MODEL",
        "TOKENS in/out (cache r/w)",
        "TTFT",
        "LATENCY",
        "COST",
        "PRICED BY",
        "STATUS",
    ];
    let mut table: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for row in rows {
        table.push(vec![
            row.id.0.to_string(),
            format_utc_ms(row.started_at_ms),
            row.prompt
                .as_ref()
                .map_or("-".to_string(), |p| p.reference()),
            row.model().to_string(),
            format_tokens(row),
            format_ms(row.time_to_first_chunk_ms),
            format_ms(row.duration_ms),
            match row.cost_kind {
                None => "-".to_string(),
                Some(_) => row.cost().to_string(),
            },
            row.cost_source.clone().unwrap_or_else(|| "-".to_string()),
            match (&row.status, &row.error_type) {
                (RequestStatus::Error, Some(kind)) => format!("error: {kind}"),
                (status, _) => status.as_str().to_string(),
            },
        ]);
    }
    let table: Vec<Vec<String>> = table
        .into_iter()
        .map(|r| r.into_iter().map(|c| one_line(&c)).collect())
        .collect();
    text::columns(&table)
}

/// The rows as one JSON array (`promptdeck log --json`).
pub fn log_json(rows: &[RequestRow]) -> Result<String, StoreError> {
    Ok(text::json_terminal_safe(serde_json::to_string_pretty(
        rows,
    )?))
}

fn one_line(s: &str) -> String {
    text::sanitize(s).replace('\n', " ")
}

fn opt(n: Option<u64>) -> String {
    n.map_or("-".to_string(), |n| n.to_string())
}

/// `in/out (cache read/write)` token counts of a row, `-` where not reported.
pub fn format_tokens(row: &RequestRow) -> String {
    let mut s = format!(
        "{}/{}",
        opt(row.gen_ai_usage_input_tokens),
        format_output(row)
    );
    let read = row.gen_ai_usage_cache_read_input_tokens.unwrap_or(0);
    let write = row.gen_ai_usage_cache_creation_input_tokens.unwrap_or(0);
    if read > 0 || write > 0 {
        s.push_str(&format!(" ({read}/{write})"));
    }
    s
}

/// The output count of a row: `-` when not reported, `~N` when it is promptdeck's estimate
/// (a reply cut before the provider sent its count).
pub fn format_output(row: &RequestRow) -> String {
    match row.gen_ai_usage_output_tokens {
        Some(n) if row.output_estimated => format!("~{n}"),
        n => opt(n),
    }
}

/// `0.84s`, or `-` when unknown.
pub fn format_ms(ms: Option<i64>) -> String {
    ms.map_or("-".to_string(), |ms| format!("{:.2}s", ms as f64 / 1000.0))
}

/// `2026-11-26 23:44:12` (UTC) for ms since the Unix epoch.
pub fn format_utc_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc_ms(0), "1970-01-01 00:00:00");
        assert_eq!(format_utc_ms(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(format_utc_ms(1_796_341_452_123), "2026-12-03 23:44:12");
    }

    #[test]
    fn durations() {
        assert_eq!(format_ms(Some(840)), "0.84s");
        assert_eq!(format_ms(None), "-");
    }
}
