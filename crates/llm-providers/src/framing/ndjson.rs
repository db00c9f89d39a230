//! Newline-delimited JSON framing (Ollama's native stream): one JSON value per line.

/// Incremental line splitter: feed bytes, take complete non-blank lines (without their line ending).
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and appends every completed, non-blank line to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Vec<u8>>) {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(i) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let line = trim(&self.buf[start..start + i]);
            if !line.is_empty() {
                out.push(line.to_vec());
            }
            start += i + 1;
        }
        self.buf.drain(..start);
    }

    /// Ends the stream: a last line without its newline is still delivered.
    pub fn finish(&mut self, out: &mut Vec<Vec<u8>>) {
        let line = trim(&self.buf);
        if !line.is_empty() {
            out.push(line.to_vec());
        }
        self.buf.clear();
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
            s.feed(c, &mut out);
        }
        s.feed(b":2}", &mut out);
        s.finish(&mut out);
        assert_eq!(out, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
    }
}
