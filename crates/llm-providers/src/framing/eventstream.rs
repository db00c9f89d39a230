//! The AWS binary event-stream framing (`application/vnd.amazon.eventstream`, Bedrock's `converse-stream`).
//!
//! A message is: total length (u32 BE), headers length (u32 BE), prelude CRC-32, headers, payload, message
//! CRC-32. Frames are decoded by `aws-smithy-eventstream` (feature `bedrock`), which checks both CRCs and parses
//! header values of every type; string-valued headers are kept. This module adds what the crate leaves to its
//! caller: the byte buffer of a stream cut anywhere, and a per-message size limit checked on the prelude, before
//! the message is buffered.

#[cfg(feature = "bedrock")]
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
#[cfg(feature = "bedrock")]
use bytes::BytesMut;
#[cfg(feature = "bedrock")]
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
#[cfg(feature = "bedrock")]
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Total length, headers length, prelude CRC.
#[cfg(feature = "bedrock")]
const PRELUDE: usize = 12;

/// Incremental decoder. A message longer than its limit is refused as soon as its prelude arrives.
#[cfg(feature = "bedrock")]
#[derive(Debug)]
pub struct EventStreamDecoder {
    buf: BytesMut,
    frames: MessageFrameDecoder,
    max_message: usize,
}

#[cfg(feature = "bedrock")]
impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "bedrock")]
impl EventStreamDecoder {
    /// A decoder at the start of a stream, accepting messages of up to 16 MiB.
    pub fn new() -> Self {
        Self::with_max_message_bytes(MAX_MESSAGE)
    }

    /// A decoder accepting messages of up to `max` bytes.
    pub fn with_max_message_bytes(max: usize) -> Self {
        Self { buf: BytesMut::new(), frames: MessageFrameDecoder::new(), max_message: max }
    }

    /// Feeds bytes and appends every complete message to `out`. A corrupt frame is a decode error.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<EventMessage>) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        while let Some(total) = self.next_length()? {
            if self.buf.len() < total {
                break;
            }
            // The whole message is buffered, so the frame decoder reads it in one call and keeps no state.
            let message = match self.frames.decode_frame(&mut self.buf) {
                Ok(DecodedFrame::Complete(m)) => m,
                Ok(DecodedFrame::Incomplete) => {
                    return Err(Error::decode("event stream: a buffered message did not decode"));
                }
                Err(e) => return Err(Error::decode(format!("event stream: {e}"))),
            };
            let headers = message
                .headers()
                .iter()
                .filter_map(|h| Some((h.name().as_str().to_owned(), h.value().as_string().ok()?.as_str().to_owned())))
                .collect();
            out.push(EventMessage { headers, payload: message.payload().to_vec() });
        }
        Ok(())
    }

    /// The total length of the next message once its prelude has arrived, after checking the prelude's CRC and
    /// the size limit.
    fn next_length(&self) -> Result<Option<usize>> {
        let Some(prelude) = self.buf.get(..PRELUDE) else {
            return Ok(None);
        };
        let word = |i: usize| prelude.get(i..i + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
        let (Some(total), Some(crc)) = (word(0), word(8)) else {
            return Ok(None);
        };
        if crc32fast::hash(&prelude[..8]) != crc {
            return Err(Error::decode("event stream: prelude checksum mismatch"));
        }
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        if total > self.max_message {
            return Err(Error::decode(format!(
                "an event-stream message of {total} bytes is larger than the limit of {} bytes (max_event_bytes)",
                self.max_message
            )));
        }
        // A length shorter than the prelude is the frame decoder's error to report, on what has arrived.
        Ok(Some(total.max(PRELUDE)))
    }

    /// True when bytes of an incomplete message are left over.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

#[cfg(all(test, feature = "bedrock"))]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
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
        assert!(err.message().contains("message checksum"), "{}", err.message());
        // A total length of 1 with a valid prelude CRC.
        let mut short = vec![0, 0, 0, 1, 0, 0, 0, 0];
        short.extend(crc32fast::hash(&short).to_be_bytes());
        let err = EventStreamDecoder::new().feed(&short, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), &llm_core::ErrorKind::Decode);
        assert_eq!(err.message(), "event stream: invalid message length");
        // Lengths too short for a prelude and a message CRC (valid prelude CRCs), padded to the stated length.
        for total in 12u32..16 {
            let mut frame = total.to_be_bytes().to_vec();
            frame.extend([0, 0, 0, 0]);
            frame.extend(crc32fast::hash(&frame).to_be_bytes());
            frame.resize(total as usize, 0);
            let err = EventStreamDecoder::new().feed(&frame, &mut Vec::new()).unwrap_err();
            assert_eq!(err.kind(), &llm_core::ErrorKind::Decode, "{total}");
            assert!(err.message().starts_with("event stream: "), "{total}: {}", err.message());
        }
        // The same prelude with a wrong CRC is refused before anything else.
        let err = EventStreamDecoder::new().feed(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], &mut Vec::new()).unwrap_err();
        assert_eq!(err.message(), "event stream: prelude checksum mismatch");
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

    /// A frame written by aws-smithy-eventstream's encoder (independent of the fake upstream's), with headers of
    /// several types; only the string ones are kept.
    fn smithy_frame(event: &str, payload: &[u8]) -> Result<Vec<u8>, aws_smithy_eventstream::error::Error> {
        let message = Message::new(payload.to_vec())
            .add_header(Header::new(":message-type", HeaderValue::String("event".into())))
            .add_header(Header::new(":event-type", HeaderValue::String(event.to_owned().into())))
            .add_header(Header::new("flag", HeaderValue::Bool(true)))
            .add_header(Header::new("n", HeaderValue::Int64(-7)))
            .add_header(Header::new("id", HeaderValue::Uuid(42)))
            .add_header(Header::new(":content-type", HeaderValue::String("application/json".into())));
        let mut out = Vec::new();
        write_message_to(&message, &mut out)?;
        Ok(out)
    }

    #[test]
    fn decodes_frames_from_the_aws_encoder() {
        let mut bytes = smithy_frame("messageStart", br#"{"role":"assistant"}"#).unwrap();
        bytes.extend(smithy_frame("contentBlockDelta", br#"{"contentBlockIndex":0,"delta":{"text":"hi"}}"#).unwrap());
        for piece in [1, 7, 12, 4096] {
            let (mut d, mut out) = (EventStreamDecoder::new(), Vec::new());
            for c in bytes.chunks(piece) {
                d.feed(c, &mut out).unwrap();
            }
            assert!(!d.has_partial());
            let headers = [
                (":message-type".to_owned(), "event".to_owned()),
                (":event-type".to_owned(), "messageStart".to_owned()),
                (":content-type".to_owned(), "application/json".to_owned()),
            ];
            assert_eq!(out.len(), 2);
            assert_eq!(
                out[0],
                EventMessage { headers: headers.to_vec(), payload: br#"{"role":"assistant"}"#.to_vec() }
            );
            assert_eq!(out[1].header(":event-type"), Some("contentBlockDelta"));
            assert_eq!(out[1].payload, br#"{"contentBlockIndex":0,"delta":{"text":"hi"}}"#);
        }
    }

    #[test]
    fn a_bad_crc_from_the_aws_encoder_is_a_decode_error_and_good_frames_before_it_are_kept() {
        let good = smithy_frame("messageStart", b"{}").unwrap();
        let mut bad = smithy_frame("contentBlockDelta", br#"{"delta":{"text":"x"}}"#).unwrap();
        let at = bad.len() - 6; // a payload byte: the message CRC no longer matches
        bad[at] ^= 0x20;
        let (mut d, mut out) = (EventStreamDecoder::new(), Vec::new());
        let err = d.feed(&[good, bad].concat(), &mut out).unwrap_err();
        assert_eq!(err.kind(), &llm_core::ErrorKind::Decode);
        assert!(err.message().starts_with("event stream: message checksum 0x"), "{}", err.message());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].header(":event-type"), Some("messageStart"));
        // A corrupt prelude (its headers length) is caught from the first 12 bytes.
        let mut bad = smithy_frame("messageStart", b"{}").unwrap();
        bad[7] ^= 1;
        let err = EventStreamDecoder::new().feed(&bad[..12], &mut Vec::new()).unwrap_err();
        assert_eq!(err.message(), "event stream: prelude checksum mismatch");
    }

    #[expect(clippy::panic, reason = "a missing fixture fails the test")]
    fn vector(name: &str) -> Vec<u8> {
        let path = format!("{}/test_data/eventstream/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Decodes `bytes` whole, then cut at every position into two pieces, then one byte at a time: the same
    /// messages each way.
    #[expect(clippy::unwrap_used, reason = "a decode error fails the test")]
    fn decode_every_way(bytes: &[u8]) -> Vec<EventMessage> {
        let mut whole = Vec::new();
        EventStreamDecoder::new().feed(bytes, &mut whole).unwrap();
        for cut in 0..=bytes.len() {
            let (mut d, mut out) = (EventStreamDecoder::new(), Vec::new());
            d.feed(&bytes[..cut], &mut out).unwrap();
            d.feed(&bytes[cut..], &mut out).unwrap();
            assert!(!d.has_partial(), "cut at {cut}");
            assert_eq!(out, whole, "cut at {cut}");
        }
        let (mut d, mut out) = (EventStreamDecoder::new(), Vec::new());
        for b in bytes {
            d.feed(std::slice::from_ref(b), &mut out).unwrap();
        }
        assert_eq!(out, whole, "byte by byte");
        whole
    }

    /// AWS's own example messages (the C runtime's deserializer tests, `awslabs/aws-c-event-stream`
    /// `tests/message_deserializer_test.c`) and the frames of aws-smithy-eventstream's test data, one after the
    /// other, cut anywhere.
    #[test]
    fn decodes_aws_example_frames_cut_anywhere() {
        let crt_no_headers: &[u8] = &[
            0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x52, 0x8c, 0x5a, 0x7b, 0x27, 0x66, 0x6f, 0x6f, 0x27,
            0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0xc3, 0x65, 0x39, 0x36,
        ];
        let mut crt_one_header: Vec<u8> =
            vec![0x00, 0x00, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x20, 0x07, 0xFD, 0x83, 0x96, 0x0C];
        crt_one_header.extend(b"content-type");
        crt_one_header.extend([0x07, 0x00, 0x10]);
        crt_one_header.extend(b"application/json{'foo':'bar'}");
        crt_one_header.extend([0x8D, 0x9C, 0x08, 0xB1]);
        let mut bytes = crt_no_headers.to_vec();
        bytes.extend(&crt_one_header);
        for name in ["valid_with_all_headers_and_payload", "valid_no_headers", "valid_empty_payload"] {
            bytes.extend(vector(name));
        }
        let out = decode_every_way(&bytes);
        assert_eq!(out.len(), 5);
        assert_eq!(out[0], EventMessage { headers: vec![], payload: b"{'foo':'bar'}".to_vec() });
        assert_eq!(
            out[1],
            EventMessage {
                headers: vec![("content-type".into(), "application/json".into())],
                payload: b"{'foo':'bar'}".to_vec()
            }
        );
        // Ten header types; the string one is kept.
        assert_eq!(
            out[2],
            EventMessage { headers: vec![("str".into(), "some str".into())], payload: b"some payload".to_vec() }
        );
        assert_eq!(out[3], EventMessage { headers: vec![], payload: b"another test payload".to_vec() });
        // An int32 header and no payload.
        assert_eq!(out[4], EventMessage { headers: vec![], payload: vec![] });
    }

    /// Damaged frames of aws-smithy-eventstream's test data: a typed decode error, whole or cut anywhere, with
    /// the good frame before them kept.
    #[test]
    fn damaged_aws_frames_are_decode_errors() {
        let cases = [
            ("invalid_prelude_checksum", Some("event stream: prelude checksum mismatch")),
            ("invalid_message_checksum", Some("event stream: message checksum 0x")),
            ("invalid_header_string_value_length", None),
            ("invalid_header_string_length_cut_off", None),
            ("invalid_header_value_type", None),
            ("invalid_header_name_length", None),
            ("invalid_headers_length", None),
            ("invalid_header_name_length_too_long", None),
        ];
        let good = vector("valid_no_headers");
        for (name, message) in cases {
            let bytes = [good.clone(), vector(name)].concat();
            let mut errors = Vec::new();
            for cut in [0, 1, 11, 12, 13, good.len(), good.len() + 5, good.len() + 12, bytes.len()] {
                let (mut d, mut out) = (EventStreamDecoder::new(), Vec::new());
                let r = d.feed(&bytes[..cut], &mut out).and_then(|()| d.feed(&bytes[cut..], &mut out));
                let e = r.expect_err(name);
                assert_eq!(e.kind(), &llm_core::ErrorKind::Decode, "{name}");
                assert_eq!(out.len(), 1, "{name}: the good frame before it is kept");
                errors.push(e.message().to_owned());
            }
            assert!(errors.windows(2).all(|w| w[0] == w[1]), "{name}: {errors:?}");
            let msg = &errors[0];
            assert!(msg.starts_with("event stream: "), "{name}: {msg}");
            if let Some(m) = message {
                assert!(msg.starts_with(m), "{name}: {msg}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]

        /// AWS-encoded frames with a corrupted byte or a cut, fed in arbitrary pieces: never a panic, and the
        /// same messages (or the same error) whole and in pieces.
        #[test]
        fn damaged_frames_never_panic_and_pieces_change_nothing(
            payloads in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 1..4),
            flip in proptest::option::of((proptest::prelude::any::<proptest::sample::Index>(), 1u8..=255)),
            cut in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
            piece in 1usize..40,
        ) {
            let mut bytes = Vec::new();
            for (i, p) in payloads.iter().enumerate() {
                bytes.extend(smithy_frame(&format!("e{i}"), p).unwrap());
            }
            if let Some((at, mask)) = flip {
                let at = at.index(bytes.len());
                bytes[at] ^= mask;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let ra = EventStreamDecoder::with_max_message_bytes(4096).feed(&bytes, &mut a);
            let mut d = EventStreamDecoder::with_max_message_bytes(4096);
            let rb = bytes.chunks(piece).try_for_each(|c| d.feed(c, &mut b));
            proptest::prop_assert_eq!(ra.is_ok(), rb.is_ok());
            if let (Err(ea), Err(eb)) = (&ra, &rb) {
                proptest::prop_assert_eq!(ea.kind(), &llm_core::ErrorKind::Decode);
                proptest::prop_assert_eq!(ea.message(), eb.message());
            }
            proptest::prop_assert_eq!(&a, &b);
            if flip.is_none() && cut.is_none() {
                proptest::prop_assert_eq!(a.len(), payloads.len());
                for (m, p) in a.iter().zip(&payloads) {
                    proptest::prop_assert_eq!(&m.payload, p);
                }
            }
        }
    }
}
