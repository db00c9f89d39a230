//! An incremental server-sent-events parser (PROVIDERS.md §2).
//!
//! It accepts LF, CRLF and lone CR line endings, skips `:` comments, strips one space after the colon, joins
//! several `data:` lines with `\n`, and ends an event at a blank line. Lines that are not SSE fields (Gemini
//! sends a JSON error object, possibly over several lines, without `data:`) are kept as a *stray* block and
//! handed over at the next blank line or at the end of the body.

/// One parsed event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, when one was sent.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, when one was sent.
    pub id: Option<String>,
    /// Lines that were not SSE fields, joined with `\n` (see the module docs). When this is non-empty the
    /// other fields are empty.
    pub stray: String,
}

/// The default [`SseParser`] event limit (16 MiB, [`crate::config::Limits::max_event_bytes`]).
const DEFAULT_MAX_EVENT: usize = 16 << 20;

/// Incremental SSE parser: feed it bytes as they arrive, take events as they complete.
///
/// The work is linear in the input: each byte is searched for a line ending once, however the body is cut into
/// chunks, and consumed bytes are dropped from the buffer once they are at least half of it. One event (the
/// line being read plus the `data:` and stray lines collected so far) may not exceed the event limit.
#[derive(Debug)]
pub struct SseParser {
    buf: Vec<u8>,
    /// The start of the line being read.
    pos: usize,
    /// Where the search for the next line ending resumes (`pos..scanned` has none).
    scanned: usize,
    current: SseEvent,
    has_data: bool,
    skip_lf: bool,
    max_event: usize,
    /// Bytes searched for a line ending so far (tests check the parser is linear).
    #[cfg(test)]
    examined: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser at the start of a stream, with the default event limit of 16 MiB.
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT)
    }

    /// A parser whose events may not exceed `max` bytes.
    pub fn with_max_event_bytes(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            pos: 0,
            scanned: 0,
            current: SseEvent::default(),
            has_data: false,
            skip_lf: false,
            max_event: max,
            #[cfg(test)]
            examined: 0,
        }
    }

    fn too_large(&self) -> llm_core::Error {
        llm_core::Error::decode(format!(
            "a server-sent event is larger than the limit of {} bytes (max_event_bytes)",
            self.max_event
        ))
    }

    /// The bytes of the event being read: the partial line and what was collected.
    fn event_bytes(&self) -> usize {
        (self.buf.len() - self.pos) + self.current.data.len() + self.current.stray.len()
    }

    /// Feeds bytes and appends every completed event to `out`. An event over the limit is an
    /// [`llm_core::ErrorKind::Decode`] error (the parser is then unusable).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> llm_core::Result<()> {
        // Drop consumed bytes once they are at least half the buffer: each byte is moved at most once more.
        if self.pos > 0 && self.pos >= self.buf.len() - self.pos {
            self.buf.drain(..self.pos);
            self.scanned -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
        loop {
            if self.skip_lf {
                let Some(&next) = self.buf.get(self.pos) else {
                    break;
                };
                if next == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
                self.scanned = self.scanned.max(self.pos);
                continue;
            }
            let from = self.scanned.max(self.pos);
            let rest = &self.buf[from..];
            #[cfg(test)]
            {
                self.examined += rest.iter().position(|&b| b == b'\n' || b == b'\r').map_or(rest.len(), |i| i + 1);
            }
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.scanned = self.buf.len();
                if self.event_bytes() > self.max_event {
                    return Err(self.too_large());
                }
                break;
            };
            let line_end = from + end;
            if self.buf[line_end] == b'\r' {
                self.skip_lf = true;
            }
            let line = String::from_utf8_lossy(&self.buf[self.pos..line_end]).into_owned();
            self.pos = line_end + 1;
            self.scanned = self.pos;
            self.line(&line, out);
            if self.event_bytes() > self.max_event {
                return Err(self.too_large());
            }
        }
        Ok(())
    }

    /// Ends the stream: a last event without its blank line is still delivered.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if self.pos < self.buf.len() {
            let line = String::from_utf8_lossy(&self.buf[self.pos..]).into_owned();
            self.buf.clear();
            self.pos = 0;
            self.scanned = 0;
            self.line(&line, out);
        }
        self.dispatch(out);
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.current.event = Some(value.to_owned()),
            "id" => self.current.id = Some(value.to_owned()),
            "retry" => {}
            _ => {
                if !self.current.stray.is_empty() {
                    self.current.stray.push('\n');
                }
                self.current.stray.push_str(line);
            }
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let ev = std::mem::take(&mut self.current);
        let had_data = std::mem::take(&mut self.has_data);
        if !ev.stray.is_empty() {
            out.push(SseEvent { stray: ev.stray, ..SseEvent::default() });
            if had_data {
                out.push(SseEvent { stray: String::new(), ..ev });
            }
        } else if had_data {
            out.push(ev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(text: &str, piece: usize) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in text.as_bytes().chunks(piece) {
            p.feed(chunk, &mut out).unwrap();
        }
        p.finish(&mut out);
        out
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn comments_multiline_data_and_line_endings() {
        let text = ": OPENROUTER PROCESSING\n\nevent: message_start\ndata: {\"a\":\ndata: 1}\n\n: keep-alive\r\ndata:x\r\n\r\ndata: y\rid: 7\r\rdata: [DONE]\n\n";
        for piece in [1, 2, 3, 7, 1000] {
            let events = parse_in_pieces(text, piece);
            assert_eq!(data(&events), vec!["{\"a\":\n1}", "x", "y", "[DONE]"], "piece {piece}");
            assert_eq!(events[0].event.as_deref(), Some("message_start"));
            assert_eq!(events[2].id.as_deref(), Some("7"));
        }
    }

    #[test]
    fn event_without_trailing_blank_line_is_flushed_at_the_end() {
        assert_eq!(data(&parse_in_pieces("data: a\n\ndata: b", 4)), vec!["a", "b"]);
        assert_eq!(data(&parse_in_pieces("data: a\n", 4)), vec!["a"]);
    }

    #[test]
    fn stray_json_lines_are_kept_together() {
        let text = "data: {\"x\":1}\n\n{\n  \"error\": {\"code\": 500}\n}\n";
        let events = parse_in_pieces(text, 5);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, "{\"x\":1}");
        assert_eq!(events[1].stray, "{\n  \"error\": {\"code\": 500}\n}");
    }

    #[test]
    fn empty_data_line_is_an_event_and_utf8_split_across_chunks_survives() {
        let events = parse_in_pieces("data:\n\ndata: 21 °C\n\n", 1);
        assert_eq!(data(&events), vec!["", "21 °C"]);
    }

    #[test]
    fn a_long_line_in_small_chunks_is_searched_once() {
        // An 8 MiB data line in 1 KiB chunks: every byte is searched for a line ending once (a parser that
        // searched the whole partial line again per chunk would examine about 32 GiB).
        let mut line = b"data: ".to_vec();
        line.resize(8 << 20, b'x');
        line.extend_from_slice(b"\n\ndata: after\n\n");
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for chunk in line.chunks(1024) {
            p.feed(chunk, &mut out).unwrap();
        }
        p.finish(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data.len(), (8 << 20) - 6);
        assert_eq!(out[1].data, "after");
        assert_eq!(p.examined, line.len());
    }

    #[test]
    fn an_event_over_the_limit_is_a_decode_error_naming_it() {
        // One long line.
        let mut p = SseParser::with_max_event_bytes(1024);
        let mut out = Vec::new();
        let chunk = [b'x'; 100];
        p.feed(b"data: ", &mut out).unwrap();
        let e = (0..20).find_map(|_| p.feed(&chunk, &mut out).err()).expect("over the limit");
        assert_eq!(e.kind(), &llm_core::ErrorKind::Decode);
        assert_eq!(e.message(), "a server-sent event is larger than the limit of 1024 bytes (max_event_bytes)");
        // Many short data lines of one event.
        let mut p = SseParser::with_max_event_bytes(1024);
        let lines = "data: 0123456789\n".repeat(100);
        let e = p.feed(lines.as_bytes(), &mut out).unwrap_err();
        assert_eq!(e.kind(), &llm_core::ErrorKind::Decode);
        // Many events, each under the limit, are fine whatever their total.
        let mut p = SseParser::with_max_event_bytes(1024);
        let mut out = Vec::new();
        for _ in 0..1000 {
            p.feed("data: 0123456789\n\n".as_bytes(), &mut out).unwrap();
        }
        assert_eq!(out.len(), 1000);
        // 64 MiB in one line stops at the default 16 MiB limit.
        let mut p = SseParser::new();
        let chunk = vec![b'y'; 1 << 20];
        p.feed(b"data: ", &mut out).unwrap();
        let fed = (0..64).take_while(|_| p.feed(&chunk, &mut out).is_ok()).count();
        assert_eq!(fed, 15, "the 16th MiB goes over 16 MiB with the 6-byte field name");
    }
}
