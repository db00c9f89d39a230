//! Bedrock's SigV4 signature checked on the server side: the fake upstream's verifier
//! (`llm_fake_upstream::sigv4`, written from AWS's documented steps, independent of the `aws-sigv4` crate the
//! client signs with) first reproduces AWS's published test-suite vectors, then recomputes the signature of
//! Bedrock calls received over HTTP and compares it with the one sent.

#![cfg(feature = "bedrock")]
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{ApiKey, ChatRequest, Message, Provider, collect_stream};
use llm_fake_upstream::sigv4::{self, Authorization};
use llm_fake_upstream::{FakeUpstream, RecordedRequest, wire};
use llm_providers::ProviderClient;
use llm_providers::bedrock::AwsCredentials;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// The vendored cases of AWS's test suite (`test_data/aws-sigv4/README.md`): every directory there.
fn vectors() -> Vec<String> {
    let dir = format!("{}/test_data/aws-sigv4", env!("CARGO_MANIFEST_DIR"));
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 10, "{cases:?}");
    cases
}

fn read(case: &str, file: &str) -> String {
    let path = format!("{}/test_data/aws-sigv4/{case}/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The signed request of a vector (`header-signed-request.txt`) as the server would record it.
fn signed_request(case: &str) -> RecordedRequest {
    let text = read(case, "header-signed-request.txt");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let mut first = lines.next().unwrap().split(' ');
    let (method, target) = (first.next().unwrap(), first.next().unwrap());
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    RecordedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.trim_end_matches('\n').as_bytes().to_vec(),
    }
}

#[test]
fn the_verifier_reproduces_the_aws_test_suite() {
    for case in &vectors() {
        let req = signed_request(case);
        let (auth, got) = sigv4::recompute(&req, SECRET).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(auth.scope(), "20150830/us-east-1/service/aws4_request", "{case}");
        assert_eq!(got.canonical_request, read(case, "header-canonical-request.txt"), "{case}");
        assert_eq!(got.string_to_sign, read(case, "header-string-to-sign.txt"), "{case}");
        assert_eq!(got.signature, read(case, "header-signature.txt").trim(), "{case}");
        assert_eq!(got.signature, auth.signature, "{case}");
    }
    // Changing what was signed changes the signature.
    let mut req = signed_request("post-header-key-sort");
    req.headers.iter_mut().find(|(k, _)| k == "my-header1").unwrap().1 = "value2".into();
    let (auth, got) = sigv4::recompute(&req, SECRET).unwrap();
    assert_ne!(got.signature, auth.signature);
}

fn bedrock_client(server: &FakeUpstream, token: Option<&str>) -> ProviderClient {
    ProviderClient::builder("bedrock")
        .api_base(server.url())
        .aws_region("us-east-1")
        .aws_credentials(AwsCredentials::new("AKIDEXAMPLE", ApiKey::new(SECRET), token.map(ApiKey::new)))
        .build()
        .unwrap()
}

/// The server recomputes the signature of what it received and finds the one the client sent.
fn assert_signed(req: &RecordedRequest, token: Option<&str>) -> Authorization {
    let (auth, got) = sigv4::recompute(req, SECRET).unwrap();
    assert_eq!(got.signature, auth.signature, "canonical request:\n{}", got.canonical_request);
    assert_eq!(
        (auth.access_key_id.as_str(), auth.region.as_str(), auth.service.as_str()),
        ("AKIDEXAMPLE", "us-east-1", "bedrock")
    );
    let signed: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    for h in ["content-type", "host", "x-amz-date"] {
        assert!(signed.contains(&h), "{h} is signed: {signed:?}");
    }
    assert_eq!(signed.contains(&"x-amz-security-token"), token.is_some());
    assert_eq!(req.header("x-amz-security-token"), token);
    // Non-S3 services encode the path twice: the model id's `%3A` is `%253A` in the canonical request.
    let second_line = got.canonical_request.lines().nth(1).unwrap();
    assert!(second_line.contains("%253A"), "{second_line}");
    auth
}

#[tokio::test]
async fn a_signed_bedrock_call_verifies_on_the_server() {
    let model = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    for token in [None, Some("SESSIONTOKENEXAMPLE")] {
        let server = FakeUpstream::start().await.unwrap();
        let client = bedrock_client(&server, token);
        let req = ChatRequest::new(model, vec![Message::user("Weather in Lisbon?")]);

        server.push(wire::bedrock::converse("Sunny.", 12, 3));
        assert_eq!(client.chat(&req).await.unwrap().text(), "Sunny.");
        let sent = server.last_request().unwrap();
        assert_eq!(sent.path, "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse");
        let auth = assert_signed(&sent, token);
        assert_eq!(sent.header("x-amz-date").map(|d| &d[..8]), Some(auth.date.as_str()));

        server.push(wire::bedrock::stream(&["Sun", "ny."], 12, 3));
        let r = collect_stream(client.stream(&req).await.unwrap()).await.unwrap();
        assert_eq!(r.text(), "Sunny.");
        let sent = server.last_request().unwrap();
        assert!(sent.path.ends_with("/converse-stream"));
        assert_signed(&sent, token);

        // The same request with another body does not verify: the signature covers the payload.
        let mut tampered = sent.clone();
        tampered.body.extend_from_slice(b" ");
        let (auth, got) = sigv4::recompute(&tampered, SECRET).unwrap();
        assert_ne!(got.signature, auth.signature);
        // Nor with another secret.
        let (auth, got) = sigv4::recompute(&sent, "another-secret").unwrap();
        assert_ne!(got.signature, auth.signature);
    }
}

/// A ConverseStream body written by aws-smithy-eventstream's encoder (not the fake upstream's), sent over
/// HTTP in pieces cut inside preludes, headers and payloads: the client reads the same answer.
#[tokio::test]
async fn a_stream_of_frames_from_the_aws_encoder_over_http() {
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message as Frame};
    let frame = |event: &str, payload: serde_json::Value| {
        let m = Frame::new(payload.to_string().into_bytes())
            .add_header(Header::new(":event-type", HeaderValue::String(event.to_owned().into())))
            .add_header(Header::new(":content-type", HeaderValue::String("application/json".into())))
            .add_header(Header::new(":message-type", HeaderValue::String("event".into())));
        let mut out = Vec::new();
        write_message_to(&m, &mut out).unwrap();
        out
    };
    let body: Vec<u8> = [
        frame("messageStart", serde_json::json!({"role": "assistant"})),
        frame("contentBlockDelta", serde_json::json!({"contentBlockIndex": 0, "delta": {"text": "Sun"}})),
        frame("contentBlockDelta", serde_json::json!({"contentBlockIndex": 0, "delta": {"text": "ny."}})),
        frame("contentBlockStop", serde_json::json!({"contentBlockIndex": 0})),
        frame("messageStop", serde_json::json!({"stopReason": "end_turn"})),
        frame(
            "metadata",
            serde_json::json!({"usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15}, "metrics": {"latencyMs": 80}}),
        ),
    ]
    .concat();
    let chunks: Vec<Vec<u8>> = body.chunks(7).map(<[u8]>::to_vec).collect();
    let server = FakeUpstream::start().await.unwrap();
    server.push(llm_fake_upstream::Reply::stream("application/vnd.amazon.eventstream", chunks));
    let client = bedrock_client(&server, None);
    let req = ChatRequest::new("bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", vec![Message::user("Hi")]);
    let r = collect_stream(client.stream(&req).await.unwrap()).await.unwrap();
    assert_eq!(r.text(), "Sunny.");
    assert_eq!(r.finish_reason(), Some(&llm_core::FinishReason::Stop));
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.completion_tokens, u.total_tokens), (12, 3, 15));
}
