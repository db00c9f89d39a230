//! Stream framings: server-sent events, NDJSON and the AWS binary event stream.

pub mod eventstream;
pub mod ndjson;
pub mod sse;

pub use eventstream::EventMessage;
#[cfg(feature = "bedrock")]
pub use eventstream::EventStreamDecoder;
pub use ndjson::LineSplitter;
pub use sse::{SseEvent, SseParser};

/// One framed unit of a streamed body, as handed to a provider's stream decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A server-sent event.
    Sse(SseEvent),
    /// One NDJSON line.
    Line(Vec<u8>),
    /// One event-stream message.
    Message(EventMessage),
}

/// Which framing a provider's stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`.
    Sse,
    /// `application/x-ndjson`.
    Ndjson,
    /// `application/vnd.amazon.eventstream`.
    AwsEventStream,
}

/// A framer for one stream: bytes in, frames out.
#[derive(Debug)]
pub(crate) enum Framer {
    Sse(SseParser, Vec<SseEvent>),
    Ndjson(LineSplitter, Vec<Vec<u8>>),
    #[cfg(feature = "bedrock")]
    Aws(EventStreamDecoder, Vec<EventMessage>),
    /// The AWS event stream without the `bedrock` feature: every byte is an error.
    #[cfg(not(feature = "bedrock"))]
    NoAws,
}

impl Framer {
    /// A framer whose events may not exceed `max_event_bytes` ([`crate::config::Limits::max_event_bytes`]).
    pub(crate) fn new(framing: Framing, max_event_bytes: usize) -> Self {
        match framing {
            Framing::Sse => Self::Sse(SseParser::with_max_event_bytes(max_event_bytes), Vec::new()),
            Framing::Ndjson => Self::Ndjson(LineSplitter::with_max_line_bytes(max_event_bytes), Vec::new()),
            #[cfg(feature = "bedrock")]
            Framing::AwsEventStream => {
                Self::Aws(EventStreamDecoder::with_max_message_bytes(max_event_bytes), Vec::new())
            }
            #[cfg(not(feature = "bedrock"))]
            Framing::AwsEventStream => Self::NoAws,
        }
    }

    /// Feeds bytes (or, with `None`, ends the body) and appends the frames now complete.
    pub(crate) fn feed(&mut self, bytes: Option<&[u8]>, out: &mut Vec<Frame>) -> llm_core::Result<()> {
        match self {
            Self::Sse(p, buf) => {
                match bytes {
                    Some(b) => p.feed(b, buf)?,
                    None => p.finish(buf),
                }
                out.extend(buf.drain(..).map(Frame::Sse));
            }
            Self::Ndjson(p, buf) => {
                match bytes {
                    Some(b) => p.feed(b, buf)?,
                    None => p.finish(buf),
                }
                out.extend(buf.drain(..).map(Frame::Line));
            }
            #[cfg(not(feature = "bedrock"))]
            Self::NoAws => return Err(no_event_stream()),
            #[cfg(feature = "bedrock")]
            Self::Aws(p, buf) => {
                match bytes {
                    Some(b) => p.feed(b, buf)?,
                    None if p.has_partial() => {
                        return Err(llm_core::Error::new(
                            llm_core::ErrorKind::Network,
                            "event stream ended in the middle of a message",
                        ));
                    }
                    None => {}
                }
                out.extend(buf.drain(..).map(Frame::Message));
            }
        }
        Ok(())
    }
}

/// Decoding the AWS event stream needs the `bedrock` feature.
#[cfg(not(feature = "bedrock"))]
pub(crate) fn no_event_stream() -> llm_core::Error {
    llm_core::Error::config(
        "streaming from bedrock needs the `bedrock` feature of llm-providers (its event-stream decoder)",
    )
}
