//! A pure, incremental Server-Sent-Events decoder.
//!
//! Both providers stream their replies as `text/event-stream`, and the network cuts that byte
//! stream wherever it likes: in the middle of a line, between the CR and LF of one line end,
//! or inside a multi-byte UTF-8 character. This module turns arbitrary chunks into whole
//! [`SseEvent`]s, following the WHATWG "event stream interpretation" rules, so that the
//! protocol parsers above it never see framing. It does no IO and keeps no clock, so every
//! edge case is a plain unit test (and a property test: any chunking yields the same events).
//!
//! Cost: every byte is scanned once. The decoder remembers where its scan for a line end
//! stopped, so a line of several megabytes arriving in thousands of small chunks costs linear,
//! not quadratic, time. Bytes are decoded as UTF-8 per complete line (invalid sequences become
//! U+FFFD; the decoder never panics on input).
//!
//! One deliberate deviation from the spec, at end of input ([`SseDecoder::finish`]): an event
//! whose lines all arrived complete but which lacks the final blank line is dispatched (some
//! servers forget it), while an unterminated last line is discarded as truncated.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The last event id seen on the stream so far (`id:` fields persist across events).
    pub id: Option<String>,
}

impl SseEvent {
    /// The event type, with the spec's default `message`.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Where the decoder stands with the optional byte order mark at the start of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// Fewer than three bytes seen; a BOM may still be arriving.
    Undecided,
    /// The BOM was stripped, or the stream does not start with one.
    Done,
}

/// What ended the last line that was consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LastLineEnd {
    /// A CR at the very end of the buffered input: an LF arriving next belongs to it.
    TrailingCr,
    /// Anything else.
    Other,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest line (and the largest event data) a decoder accepts: a hostile or broken
/// server sending one endless line must not take the memory with it.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// An incremental SSE decoder: feed it chunks, collect events.
#[derive(Debug, Clone)]
pub struct SseDecoder {
    /// Bytes not yet consumed as complete lines (the current partial line).
    buf: Vec<u8>,
    /// How far into `buf` the search for a line end has already looked.
    scanned: usize,
    last_line_end: LastLineEnd,
    bom: BomState,
    /// The data buffer of the event being assembled (each line followed by `\n`).
    data: String,
    /// Whether any `data` field was seen for the event being assembled.
    has_data: bool,
    event_type: Option<String>,
    last_event_id: Option<String>,
    /// The longest line or event data accepted.
    max_line: usize,
    /// A line or an event's data grew past `max_line`: nothing more is decoded.
    overflowed: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new()
    }
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> SseDecoder {
        SseDecoder {
            buf: Vec::new(),
            scanned: 0,
            last_line_end: LastLineEnd::Other,
            bom: BomState::Undecided,
            data: String::new(),
            has_data: false,
            event_type: None,
            last_event_id: None,
            max_line: MAX_LINE_BYTES,
            overflowed: false,
        }
    }

    /// A decoder that gives up on lines or event data longer than `max_line` bytes.
    pub fn with_max_line(max_line: usize) -> SseDecoder {
        SseDecoder {
            max_line,
            ..SseDecoder::new()
        }
    }

    /// True once a line or an event's data grew past the limit: the stream must be failed
    /// ("line too long"); the decoder ignores everything after it and holds no more memory.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Decodes one chunk of the body and returns the events it completed, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out);
        out
    }

    /// Like [`SseDecoder::feed`], pushing completed events into `out`.
    pub fn feed_into(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) {
        if self.overflowed {
            return;
        }
        if bytes.is_empty() {
            return;
        }
        if self.last_line_end == LastLineEnd::TrailingCr && self.buf.is_empty() {
            // The CR that ended the previous chunk's last line and this LF are one line end.
            self.last_line_end = LastLineEnd::Other;
            if bytes[0] == b'\n' {
                bytes = &bytes[1..];
            }
            if bytes.is_empty() {
                return;
            }
        }
        self.buf.extend_from_slice(bytes);
        if self.bom == BomState::Undecided {
            let n = self.buf.len().min(BOM.len());
            if self.buf[..n] != BOM[..n] {
                self.bom = BomState::Done;
            } else if n == BOM.len() {
                self.buf.drain(..BOM.len());
                self.bom = BomState::Done;
            } else {
                return; // still a possible BOM prefix: wait for more bytes
            }
        }
        self.consume_lines(out);
    }

    /// Signals the end of the body and returns the last events, if any (see the module docs).
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        // An unterminated last line (or an incomplete BOM) is discarded as truncated.
        self.buf.clear();
        self.scanned = 0;
        self.dispatch(&mut out);
        self.last_line_end = LastLineEnd::Other;
        out
    }

    fn consume_lines(&mut self, out: &mut Vec<SseEvent>) {
        let mut start = 0;
        let mut pos = self.scanned;
        while let Some(offset) = self.buf[pos..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            let end = pos + offset;
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.last_line_end = LastLineEnd::TrailingCr,
                }
            }
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            self.process_line(&line, out);
            start = next;
            pos = next;
            if pos >= self.buf.len() {
                break;
            }
        }
        // Only the unconsumed tail (within the newest chunk) is moved: linear overall.
        if start > 0 {
            self.buf.drain(..start.min(self.buf.len()));
        }
        self.scanned = self.buf.len();
        if self.buf.len() > self.max_line || self.data.len() > self.max_line {
            self.give_up();
        }
    }

    /// Drops what was buffered and stops decoding.
    fn give_up(&mut self) {
        self.overflowed = true;
        self.buf = Vec::new();
        self.data = String::new();
        self.scanned = 0;
    }

    fn process_line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if self.overflowed {
            return;
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return; // comment
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event_type = (!value.is_empty()).then(|| value.to_string()),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => {
                self.last_event_id = (!value.is_empty()).then(|| value.to_string());
            }
            _ => {} // `retry` and unknown fields are ignored
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let event = self.event_type.take();
        if !self.has_data {
            self.data.clear();
            return;
        }
        self.has_data = false;
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        out.push(SseEvent {
            event,
            data,
            id: self.last_event_id.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use proptest::prelude::*;

    use super::*;

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
            id: None,
        }
    }

    fn whole(input: &[u8]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out = d.feed(input);
        out.extend(d.finish());
        out
    }

    fn chunked(input: &[u8], sizes: &[usize]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = if sizes.is_empty() {
                1
            } else {
                sizes[i % sizes.len()].clamp(1, rest.len())
            };
            i += 1;
            let (a, b) = rest.split_at(n.min(rest.len()));
            d.feed_into(a, &mut out);
            rest = b;
        }
        out.extend(d.finish());
        out
    }

    #[test]
    fn lf_crlf_and_cr_line_endings_are_equivalent() {
        let expected = vec![ev(Some("a"), "1"), ev(None, "2")];
        assert_eq!(whole(b"event: a\ndata: 1\n\ndata: 2\n\n"), expected);
        assert_eq!(
            whole(b"event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n"),
            expected
        );
        assert_eq!(whole(b"event: a\rdata: 1\r\rdata: 2\r\r"), expected);
        assert_eq!(whole(b"event: a\r\ndata: 1\r\rdata: 2\n\r\n"), expected);
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_line_end() {
        let mut d = SseDecoder::new();
        assert_eq!(d.feed(b"data: x\r"), vec![]);
        // If the LF were a second line end, this would dispatch "x" early and then "y" alone.
        assert_eq!(d.feed(b"\ndata: y\r"), vec![]);
        assert_eq!(d.feed(b"\n"), vec![]);
        assert_eq!(d.feed(b"\r"), vec![ev(None, "x\ny")]);
        assert_eq!(d.feed(b"\n"), vec![]);
        assert_eq!(d.feed(b"data: z\n\n"), vec![ev(None, "z")]);
    }

    #[test]
    fn cr_then_empty_chunk_then_lf_is_still_one_line_end() {
        let mut d = SseDecoder::new();
        assert_eq!(d.feed(b"data: x\r"), vec![]);
        assert_eq!(d.feed(b""), vec![]);
        assert_eq!(d.feed(b"\n\n"), vec![ev(None, "x")]);
        // CR | LF | LF: the second LF is a blank line of its own.
        let mut d = SseDecoder::new();
        assert_eq!(d.feed(b"data: y\r"), vec![]);
        assert_eq!(d.feed(b"\n"), vec![]);
        assert_eq!(d.feed(b"\n"), vec![ev(None, "y")]);
    }

    #[test]
    fn comments_are_ignored() {
        assert_eq!(
            whole(b": keep-alive\n:\ndata: a\n: inside\ndata: b\n\n"),
            vec![ev(None, "a\nb")]
        );
    }

    #[test]
    fn one_leading_space_is_stripped_from_values() {
        assert_eq!(
            whole(b"data:x\n\ndata: x\n\ndata:  x\n\nevent:e\ndata:1\n\n"),
            vec![
                ev(None, "x"),
                ev(None, "x"),
                ev(None, " x"),
                ev(Some("e"), "1")
            ]
        );
    }

    #[test]
    fn multi_line_data_is_joined_with_newlines() {
        assert_eq!(
            whole(b"data: one\ndata:\ndata: three\n\n"),
            vec![ev(None, "one\n\nthree")]
        );
    }

    #[test]
    fn events_without_data_are_not_dispatched_and_reset_the_type() {
        assert_eq!(
            whole(b"event: ping\n\nevent: x\nid: 1\n\ndata: d\n\n"),
            vec![SseEvent {
                event: None,
                data: "d".into(),
                id: Some("1".into())
            }]
        );
    }

    #[test]
    fn a_field_without_colon_has_an_empty_value() {
        // `data` alone is a data line with an empty value: the event is dispatched with "".
        assert_eq!(whole(b"data\n\n"), vec![ev(None, "")]);
    }

    #[test]
    fn ids_persist_and_nul_ids_are_ignored() {
        let out = whole(b"id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n");
        let ids: Vec<_> = out.iter().map(|e| e.id.clone()).collect();
        assert_eq!(
            ids,
            vec![Some("7".into()), Some("7".into()), Some("7".into()), None]
        );
    }

    #[test]
    fn unknown_fields_and_retry_are_ignored() {
        assert_eq!(
            whole(b"retry: 100\nfoo: bar\ndata: a\n\n"),
            vec![ev(None, "a")]
        );
    }

    #[test]
    fn utf8_split_across_chunks_is_reassembled() {
        let text = "data: héllo 🦀 世界\n\n".as_bytes();
        for cut in 0..text.len() {
            let mut d = SseDecoder::new();
            let mut out = d.feed(&text[..cut]);
            out.extend(d.feed(&text[cut..]));
            assert_eq!(out, vec![ev(None, "héllo 🦀 世界")], "cut at {cut}");
        }
        assert_eq!(chunked(text, &[1]), vec![ev(None, "héllo 🦀 世界")]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        assert_eq!(
            whole(b"data: a\xFF\xC3b\n\n"),
            vec![ev(None, "a\u{FFFD}\u{FFFD}b")]
        );
    }

    #[test]
    fn a_leading_bom_is_stripped_even_when_split() {
        let input = b"\xEF\xBB\xBFdata: a\n\n";
        assert_eq!(whole(input), vec![ev(None, "a")]);
        assert_eq!(chunked(input, &[1]), vec![ev(None, "a")]);
        // Only one BOM, and only at the start.
        assert_eq!(whole(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), vec![]);
        assert_eq!(
            whole(b"data: \xEF\xBB\xBFa\n\n"),
            vec![ev(None, "\u{FEFF}a")]
        );
        // A stream that merely starts like a BOM keeps its bytes.
        assert_eq!(whole(b"\xEF\xBBdata: a\n\n"), vec![]);
    }

    #[test]
    fn finish_dispatches_a_complete_event_missing_its_blank_line() {
        assert_eq!(whole(b"data: a\n"), vec![ev(None, "a")]);
        assert_eq!(whole(b"data: a\r"), vec![ev(None, "a")]);
    }

    #[test]
    fn finish_discards_a_truncated_last_line() {
        assert_eq!(whole(b"data: a\n\ndata: {\"trunc"), vec![ev(None, "a")]);
        assert_eq!(whole(b"data: a\ndata: {\"trunc"), vec![ev(None, "a")]);
    }

    #[test]
    fn a_megabyte_line_in_small_chunks_is_decoded() {
        let payload = "x".repeat(4 << 20);
        let input = format!("data: {payload}\n\n");
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for piece in input.as_bytes().chunks(1024) {
            d.feed_into(piece, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data.len(), payload.len());
    }

    #[test]
    fn a_line_past_the_limit_stops_the_decoder_and_frees_its_buffer() {
        let mut d = SseDecoder::with_max_line(1024);
        let mut out = Vec::new();
        d.feed_into(b"data: kept\n\n", &mut out);
        for _ in 0..10 {
            d.feed_into(&[b'x'; 300], &mut out);
        }
        assert!(d.overflowed());
        assert_eq!(out, vec![ev(None, "kept")], "what came before is kept");
        assert_eq!(d.buf.capacity(), 0, "the long line is not held");
        d.feed_into(b"\ndata: after\n\n", &mut out);
        assert_eq!(out.len(), 1, "nothing is decoded after it");
    }

    #[test]
    fn an_event_whose_data_lines_add_up_past_the_limit_stops_the_decoder() {
        let mut d = SseDecoder::with_max_line(1024);
        let line = format!("data: {}\n", "y".repeat(100));
        let mut out = Vec::new();
        for _ in 0..20 {
            d.feed_into(line.as_bytes(), &mut out);
        }
        assert!(d.overflowed());
        assert!(out.is_empty());
    }

    /// One piece of a generated stream: a line body and its ending.
    fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
        let body = prop_oneof![
            Just(String::new()),
            Just(": comment é".to_string()),
            Just("event: delta".to_string()),
            Just("id: 42".to_string()),
            Just("data".to_string()),
            "[a-z🦀世界é \\{\\}\":]{0,12}".prop_map(|s| format!("data: {s}")),
            "[a-z🦀é]{0,6}".prop_map(|s| format!("data:{s}")),
        ];
        let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
        (body, ending).prop_map(|(b, e)| format!("{b}{e}").into_bytes())
    }

    fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::bool::ANY,
            proptest::collection::vec(line_strategy(), 0..40),
        )
            .prop_map(|(bom, lines)| {
                let mut out = if bom { BOM.to_vec() } else { Vec::new() };
                for l in lines {
                    out.extend(l);
                }
                out
            })
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_events(
            input in stream_strategy(),
            sizes in proptest::collection::vec(1usize..9, 1..6),
        ) {
            prop_assert_eq!(chunked(&input, &sizes), whole(&input));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_chunking_is_irrelevant(
            input in proptest::collection::vec(any::<u8>(), 0..200),
            sizes in proptest::collection::vec(1usize..7, 1..4),
        ) {
            prop_assert_eq!(chunked(&input, &sizes), whole(&input));
        }
    }
}
