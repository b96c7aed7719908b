//! Tables in replies: cells are gathered while the table is read, then each column is padded
//! to its widest cell by display width and aligned as the table's delimiter row says, with a
//! rule under the header.

use pulldown_cmark::Alignment;

use super::{Builder, push_span};
use crate::text::{self, StyledSpan, Tone};

/// Between two table cells.
const CELL_SEPARATOR: &str = " │ ";

/// A table being read: cells are gathered so columns can be padded to their widest cell.
#[derive(Default)]
pub(super) struct Table {
    pub(super) alignments: Vec<Alignment>,
    pub(super) rows: Vec<Vec<Vec<StyledSpan<Tone>>>>,
    pub(super) header_rows: usize,
}

impl Builder<'_> {
    pub(super) fn end_table(&mut self) {
        self.flush();
        let Some(table) = self.table.take() else {
            return;
        };
        let cell_width = |cell: &[StyledSpan<Tone>]| -> usize {
            cell.iter().map(|s| text::width(&s.text)).sum()
        };
        let widths = text::column_widths(&table.rows, |cell| cell_width(cell));
        let columns = widths.len();
        for (r, row) in table.rows.iter().enumerate() {
            let mut spans: Vec<StyledSpan<Tone>> = Vec::new();
            for (c, width) in widths.iter().enumerate() {
                let last = c + 1 == columns;
                if c > 0 {
                    push_span(&mut spans, Tone::Muted, CELL_SEPARATOR);
                }
                let cell = row.get(c).map(Vec::as_slice).unwrap_or(&[]);
                let pad = width.saturating_sub(cell_width(cell));
                let (before, after) = match table.alignments.get(c) {
                    Some(Alignment::Right) => (pad, 0),
                    Some(Alignment::Center) => (pad / 2, pad - pad / 2),
                    _ => (0, pad),
                };
                push_span(&mut spans, Tone::Normal, &" ".repeat(before));
                for span in cell {
                    push_span(&mut spans, span.style, &span.text);
                }
                if !last {
                    push_span(&mut spans, Tone::Normal, &" ".repeat(after));
                }
            }
            self.line().spans = spans;
            self.flush();
            if r + 1 == table.header_rows {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                self.line().spans = vec![StyledSpan {
                    style: Tone::Muted,
                    text: rule.join("─┼─"),
                }];
                self.flush();
            }
        }
    }
}
