//! The AWS binary event-stream framing (`application/vnd.amazon.eventstream`, Bedrock's `converse-stream`).
//!
//! A message is: total length (u32 BE), headers length (u32 BE), prelude CRC-32, headers, payload, message
//! CRC-32. Both CRCs are checked. Header values of every type are skipped correctly; string values are kept.

use llm_core::{Error, Result};

/// One decoded message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventMessage {
    /// The string-valued headers (`:message-type`, `:event-type`, `:exception-type`, `:content-type`, ...).
    pub headers: Vec<(String, String)>,
    /// The payload bytes (JSON for Bedrock).
    pub payload: Vec<u8>,
}

impl EventMessage {
    /// A header's string value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The largest message accepted by default (the AWS limit is 16 MB).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Incremental decoder. A message longer than its limit is refused as soon as its prelude arrives.
#[derive(Debug)]
pub struct EventStreamDecoder {
    buf: Vec<u8>,
    max_message: usize,
}

impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStreamDecoder {
    /// A decoder at the start of a stream, accepting messages of up to 16 MiB.
    pub fn new() -> Self {
        Self::with_max_message_bytes(MAX_MESSAGE)
    }

    /// A decoder accepting messages of up to `max` bytes.
    pub fn with_max_message_bytes(max: usize) -> Self {
        Self { buf: Vec::new(), max_message: max }
    }

    /// Feeds bytes and appends every complete message to `out`. A corrupt frame is a decode error.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<EventMessage>) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            let rest = &self.buf[start..];
            if rest.len() < 12 {
                break;
            }
            let total = be32(&rest[0..4]) as usize;
            let headers_len = be32(&rest[4..8]) as usize;
            if total < 16 || headers_len > total - 16 {
                return Err(Error::decode(format!("event stream: bad frame lengths {total}/{headers_len}")));
            }
            if crc32(&rest[0..8]) != be32(&rest[8..12]) {
                return Err(Error::decode("event stream: prelude checksum mismatch"));
            }
            if total > self.max_message {
                return Err(Error::decode(format!(
                    "an event-stream message of {total} bytes is larger than the limit of {} bytes (max_event_bytes)",
                    self.max_message
                )));
            }
            if rest.len() < total {
                break;
            }
            if crc32(&rest[..total - 4]) != be32(&rest[total - 4..total]) {
                return Err(Error::decode("event stream: message checksum mismatch"));
            }
            let headers = parse_headers(&rest[12..12 + headers_len])?;
            let payload = rest[12 + headers_len..total - 4].to_vec();
            out.push(EventMessage { headers, payload });
            start += total;
        }
        self.buf.drain(..start);
        Ok(())
    }

    /// True when bytes of an incomplete message are left over.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_headers(mut b: &[u8]) -> Result<Vec<(String, String)>> {
    let bad = || Error::decode("event stream: malformed headers");
    let mut out = Vec::new();
    while !b.is_empty() {
        let name_len = usize::from(b[0]);
        let name = b.get(1..1 + name_len).ok_or_else(bad)?;
        let name = String::from_utf8_lossy(name).into_owned();
        b = &b[1 + name_len..];
        let (&kind, rest) = b.split_first().ok_or_else(bad)?;
        b = rest;
        let fixed = match kind {
            0 | 1 => Some(0),
            2 => Some(1),
            3 => Some(2),
            4 => Some(4),
            5 | 8 => Some(8),
            9 => Some(16),
            6 | 7 => None,
            _ => return Err(bad()),
        };
        match fixed {
            Some(n) => b = b.get(n..).ok_or_else(bad)?,
            None => {
                let len = b.get(0..2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))).ok_or_else(bad)?;
                let value = b.get(2..2 + len).ok_or_else(bad)?;
                if kind == 7 {
                    out.push((name, String::from_utf8_lossy(value).into_owned()));
                }
                b = &b[2 + len..];
            }
        }
    }
    Ok(out)
}

/// CRC-32 (IEEE 802.3).
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_fake_upstream::wire::bedrock;

    #[test]
    fn decodes_messages_split_anywhere() {
        let mut bytes = bedrock::event("messageStart", &serde_json::json!({"role": "assistant"}));
        bytes.extend(bedrock::exception("throttlingException", "slow down"));
        for piece in [1, 5, 13, 1000] {
            let mut d = EventStreamDecoder::new();
            let mut out = Vec::new();
            for c in bytes.chunks(piece) {
                d.feed(c, &mut out).unwrap();
            }
            assert!(!d.has_partial());
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].header(":event-type"), Some("messageStart"));
            assert_eq!(out[0].payload, br#"{"role":"assistant"}"#);
            assert_eq!(out[1].header(":message-type"), Some("exception"));
            assert_eq!(out[1].header(":exception-type"), Some("throttlingException"));
        }
    }

    #[test]
    fn corrupt_frames_are_decode_errors() {
        let mut bytes = bedrock::event("messageStart", &serde_json::json!({}));
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let err = EventStreamDecoder::new().feed(&bytes, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), &llm_core::ErrorKind::Decode);
        let err = EventStreamDecoder::new().feed(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), &llm_core::ErrorKind::Decode);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_message_over_the_limit_is_refused_from_its_prelude() {
        let bytes = bedrock::event("contentBlockDelta", &serde_json::json!({"delta": {"text": "x".repeat(200)}}));
        let mut d = EventStreamDecoder::with_max_message_bytes(128);
        let err = d.feed(&bytes[..12], &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), &llm_core::ErrorKind::Decode);
        assert_eq!(
            err.message(),
            format!(
                "an event-stream message of {} bytes is larger than the limit of 128 bytes (max_event_bytes)",
                bytes.len()
            )
        );
        let mut out = Vec::new();
        EventStreamDecoder::with_max_message_bytes(bytes.len()).feed(&bytes, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }
}
