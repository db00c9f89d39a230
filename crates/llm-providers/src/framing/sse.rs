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

/// Incremental SSE parser: feed it bytes as they arrive, take events as they complete.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    pos: usize,
    current: SseEvent,
    has_data: bool,
    skip_lf: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and appends every completed event to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        self.buf.extend_from_slice(bytes);
        loop {
            let rest = &self.buf[self.pos..];
            if self.skip_lf {
                if rest.is_empty() {
                    break;
                }
                if rest[0] == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
                continue;
            }
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                break;
            };
            let line_end = self.pos + end;
            if self.buf[line_end] == b'\r' {
                self.skip_lf = true;
            }
            let line = String::from_utf8_lossy(&self.buf[self.pos..line_end]).into_owned();
            self.pos = line_end + 1;
            self.line(&line, out);
        }
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos > 64 * 1024) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    /// Ends the stream: a last event without its blank line is still delivered.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if self.pos < self.buf.len() {
            let line = String::from_utf8_lossy(&self.buf[self.pos..]).into_owned();
            self.buf.clear();
            self.pos = 0;
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
            p.feed(chunk, &mut out);
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
}
