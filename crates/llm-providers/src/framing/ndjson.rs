//! Newline-delimited JSON framing (Ollama's native stream): one JSON value per line.

/// The default [`LineSplitter`] line limit (16 MiB, [`crate::config::Limits::max_event_bytes`]).
const DEFAULT_MAX_LINE: usize = 16 << 20;

/// Incremental line splitter: feed bytes, take complete non-blank lines (without their line ending).
///
/// Linear in the input: each byte is searched for a newline once, however the body is cut into chunks. A line
/// may not exceed the line limit.
#[derive(Debug)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// `buf[..scanned]` has no newline.
    scanned: usize,
    max_line: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl LineSplitter {
    /// A splitter at the start of a stream, with the default line limit of 16 MiB.
    pub fn new() -> Self {
        Self::with_max_line_bytes(DEFAULT_MAX_LINE)
    }

    /// A splitter whose lines may not exceed `max` bytes.
    pub fn with_max_line_bytes(max: usize) -> Self {
        Self { buf: Vec::new(), scanned: 0, max_line: max }
    }

    /// Feeds bytes and appends every completed, non-blank line to `out`. A line over the limit is an
    /// [`llm_core::ErrorKind::Decode`] error (the splitter is then unusable).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) -> llm_core::Result<()> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        let mut from = self.scanned;
        while let Some(i) = self.buf[from..].iter().position(|&b| b == b'\n') {
            let end = from + i;
            if end - start > self.max_line {
                return Err(self.too_large());
            }
            let line = trim(&self.buf[start..end]);
            if !line.is_empty() {
                out.push(line.to_vec());
            }
            start = end + 1;
            from = start;
        }
        // Only the bytes of the partial line that arrived with this chunk are moved.
        self.buf.drain(..start);
        self.scanned = self.buf.len();
        if self.buf.len() > self.max_line {
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> llm_core::Error {
        llm_core::Error::decode(format!(
            "an NDJSON line is larger than the limit of {} bytes (max_event_bytes)",
            self.max_line
        ))
    }

    /// Ends the stream: a last line without its newline is still delivered.
    pub fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        let line = trim(&self.buf);
        if !line.is_empty() {
            out.push(line.to_vec());
        }
        self.buf.clear();
        self.scanned = 0;
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(line.len());
    let end = line.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &line[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_chunks() {
        let mut s = LineSplitter::new();
        let mut out = Vec::new();
        for c in b"{\"a\":1}\r\n\n{\"b\"".chunks(3) {
            s.feed(c, &mut out).unwrap();
        }
        s.feed(b":2}", &mut out).unwrap();
        s.finish(&mut out);
        assert_eq!(out, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
    }

    #[test]
    fn a_line_over_the_limit_is_a_decode_error() {
        let mut s = LineSplitter::with_max_line_bytes(16);
        let mut out = Vec::new();
        s.feed(b"{\"a\":1}\n{\"b\":", &mut out).unwrap();
        let e = s.feed(b"\"0123456789\"}", &mut out).unwrap_err();
        assert_eq!(e.kind(), &llm_core::ErrorKind::Decode);
        assert_eq!(e.message(), "an NDJSON line is larger than the limit of 16 bytes (max_event_bytes)");
        let e = LineSplitter::with_max_line_bytes(4).feed(b"123456\n", &mut out).unwrap_err();
        assert_eq!(e.kind(), &llm_core::ErrorKind::Decode);
        assert_eq!(out, vec![b"{\"a\":1}".to_vec()]);
    }
}
