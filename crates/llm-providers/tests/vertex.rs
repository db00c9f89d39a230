//! Vertex AI end to end over HTTP on 127.0.0.1: a fake OAuth token endpoint that verifies the service
//! account's RS256 assertion with the test-only key's public key, Vertex routes that take only the tokens it
//! issued, Gemini and Claude calls streamed and not, token caching, refresh and single flight, and errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::time::Duration;

use llm_core::{ChatRequest, ErrorKind, Message, Provider, collect_stream};
use llm_fake_upstream::wire::{self, google};
use llm_fake_upstream::{FakeUpstream, RecordedRequest};
use llm_providers::vertex::auth::ServiceAccountKey;
use llm_providers::{ProviderClient, RetryPolicy};

const ROUTES: &str = "/v1/projects/";

struct Setup {
    server: FakeUpstream,
    tokens: google::TokenEndpoint,
    client: ProviderClient,
}

/// A fake upstream with the token endpoint at `/token` (the key file's `token_uri`) and the Vertex routes
/// behind it, and a client with the test-only service account (project from the key file).
async fn setup(location: &str) -> Setup {
    let server = FakeUpstream::start().await.unwrap();
    let token_uri = format!("{}/token", server.url());
    let tokens = google::TokenEndpoint::new(&token_uri);
    tokens.install(&server, "/token");
    tokens.protect(&server, ROUTES);
    let key = ServiceAccountKey::from_json(&google::service_account_json(&token_uri)).unwrap();
    let client = ProviderClient::builder("vertex_ai")
        .vertex_credentials(key)
        .vertex_location(location)
        .api_base(server.url())
        .retry(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap();
    Setup { server, tokens, client }
}

fn vertex_calls(server: &FakeUpstream) -> Vec<RecordedRequest> {
    server.requests().into_iter().filter(|r| r.path.starts_with(ROUTES)).collect()
}

fn request(model: &str) -> ChatRequest {
    ChatRequest::new(model, vec![Message::system("Be brief."), Message::user("Capital of France?")])
        .with_temperature(0.2)
        .with_max_tokens(64)
}

/// What a snapshot shows of a call: the URL without the ephemeral host, the auth header's shape, the body.
fn wire_view(r: &RecordedRequest) -> serde_json::Value {
    let target = if r.query.is_empty() { r.path.clone() } else { format!("{}?{}", r.path, r.query) };
    let auth = r.header("authorization").map(|a| a.split_once(' ').map_or("?", |(scheme, _)| scheme).to_owned());
    serde_json::json!({"method": r.method, "url": target, "authorization": auth, "body": r.json()})
}

#[tokio::test]
async fn gemini_on_vertex_one_token_for_many_calls() {
    let s = setup("us-central1").await;
    for _ in 0..3 {
        s.server.push(wire::gemini::generate("Paris.", 12, 2));
    }
    for _ in 0..3 {
        let r = s.client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap();
        assert_eq!(r.text(), "Paris.");
        assert_eq!(r.provider.as_ref().map(|p| p.as_str()), Some("vertex_ai"));
        assert_eq!(r.usage.map(|u| (u.prompt_tokens, u.completion_tokens)), Some((12, 2)));
    }
    assert_eq!(s.tokens.tokens_issued(), 1, "one token request for three calls");
    assert_eq!(s.tokens.rejections(), Vec::<String>::new());
    assert_eq!(s.tokens.unauthorized(), Vec::<String>::new());
    let claims = &s.tokens.claims()[0];
    assert_eq!(claims["iss"], google::TEST_CLIENT_EMAIL);
    assert_eq!(claims["aud"], format!("{}/token", s.server.url()));
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    let calls = vertex_calls(&s.server);
    assert_eq!(calls.len(), 3);
    let token = format!("Bearer {}", s.tokens.tokens()[0]);
    assert!(calls.iter().all(|c| c.header("authorization") == Some(token.as_str())));
    insta::assert_json_snapshot!("gemini_generate", wire_view(&calls[0]));
}

#[tokio::test]
async fn gemini_on_vertex_streams_on_the_global_endpoint_path() {
    let s = setup("global").await;
    s.server.push(wire::gemini::stream(&["Pa", "ris."], 12, 2));
    let stream = s.client.stream(&request("vertex_ai/gemini-2.5-pro")).await.unwrap();
    let r = collect_stream(stream).await.unwrap();
    assert_eq!(r.text(), "Paris.");
    assert_eq!(r.usage.map(|u| (u.prompt_tokens, u.completion_tokens)), Some((12, 2)));
    let calls = vertex_calls(&s.server);
    assert_eq!(calls.len(), 1);
    insta::assert_json_snapshot!("gemini_stream", wire_view(&calls[0]));
}

#[tokio::test]
async fn claude_on_vertex_raw_predict_and_stream() {
    let s = setup("us-east5").await;
    s.server.push(wire::anthropic::message("Paris.", 20, 3));
    s.server.push(wire::anthropic::stream(&["Pa", "ris."], 20, 3));
    let model = "vertex_ai/claude-3-5-sonnet@20240620";
    let plain = s.client.chat(&request(model)).await.unwrap();
    let streamed = collect_stream(s.client.stream(&request(model)).await.unwrap()).await.unwrap();
    for r in [&plain, &streamed] {
        assert_eq!(r.text(), "Paris.");
        assert_eq!(r.location.as_deref(), Some("us-east5"), "the location is priced (regional uplift)");
        assert_eq!(r.usage.map(|u| (u.prompt_tokens, u.completion_tokens)), Some((20, 3)));
    }
    assert_eq!(s.tokens.tokens_issued(), 1);
    let calls = vertex_calls(&s.server);
    assert_eq!(calls.len(), 2);
    for c in &calls {
        let body = c.json();
        assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
        assert!(body.get("model").is_none(), "the model is in the url, not the body");
        assert_eq!(c.header("anthropic-version"), None);
    }
    insta::assert_json_snapshot!("claude_raw_predict", wire_view(&calls[0]));
    insta::assert_json_snapshot!("claude_stream_raw_predict", wire_view(&calls[1]));
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_request() {
    let s = setup("us-central1").await;
    s.tokens.delay_answers(Duration::from_millis(200));
    for _ in 0..8 {
        s.server.push(wire::gemini::generate("ok", 1, 1));
    }
    let calls = (0..8).map(|_| {
        let c = s.client.clone();
        tokio::spawn(async move { c.chat(&request("vertex_ai/gemini-2.5-flash")).await })
    });
    for h in calls.collect::<Vec<_>>() {
        assert_eq!(h.await.unwrap().unwrap().text(), "ok");
    }
    assert_eq!(s.tokens.tokens_issued(), 1, "one refresh at a time, shared by every waiting call");
    assert_eq!(vertex_calls(&s.server).len(), 8);
}

#[tokio::test]
async fn a_token_near_its_expiry_is_refreshed() {
    let s = setup("us-central1").await;
    // The first token lives 4 s, so it is refreshed after 2 s (half its lifetime); the next ones live an hour.
    s.tokens.push_expires_in(4);
    for _ in 0..4 {
        s.server.push(wire::gemini::generate("ok", 1, 1));
    }
    let req = request("vertex_ai/gemini-2.5-flash");
    s.client.chat(&req).await.unwrap();
    s.client.chat(&req).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    s.client.chat(&req).await.unwrap();
    s.client.chat(&req).await.unwrap();
    let issued = s.tokens.tokens();
    assert_eq!(issued.len(), 2);
    let used: Vec<String> = vertex_calls(&s.server)
        .iter()
        .map(|c| c.header("authorization").unwrap().trim_start_matches("Bearer ").to_owned())
        .collect();
    assert_eq!(used, [0, 0, 1, 1].map(|i| issued[i].clone()));
}

#[tokio::test]
async fn a_refused_assertion_is_an_auth_error_naming_the_token_uri() {
    let server = FakeUpstream::start().await.unwrap();
    let token_uri = format!("{}/token", server.url());
    // The endpoint expects another audience, so it refuses the assertion as Google does (invalid_grant).
    let tokens = google::TokenEndpoint::new("https://oauth2.googleapis.com/token");
    tokens.install(&server, "/token");
    let key = ServiceAccountKey::from_json(&google::service_account_json(&token_uri)).unwrap();
    let client = ProviderClient::builder("vertex_ai")
        .vertex_credentials(key)
        .api_base(server.url())
        .retry(RetryPolicy::default().with_max_retries(0))
        .build()
        .unwrap();
    let e = client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Auth);
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.provider().map(|p| p.as_str()), Some("vertex_ai"));
    assert!(e.message().contains(&token_uri), "{}", e.message());
    assert!(e.message().contains("invalid_grant: claim aud is"), "{}", e.message());
    let shown = format!("{e:?} {e}");
    let assertion = form_assertion(&server.requests()[0]);
    assert!(!shown.contains(&assertion) && !shown.contains("PRIVATE KEY"), "{shown}");
    assert!(vertex_calls(&server).is_empty(), "nothing is sent to vertex without a token");
}

fn form_assertion(r: &RecordedRequest) -> String {
    let body = r.body_text();
    body.split('&').find_map(|kv| kv.strip_prefix("assertion=")).unwrap().to_owned()
}

#[tokio::test]
async fn a_token_vertex_refuses_is_replaced_on_the_next_call() {
    let s = setup("us-central1").await;
    s.server.push(google::error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."));
    s.server.push(wire::gemini::generate("ok", 1, 1));
    let e = s.client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (&ErrorKind::Auth, Some(401)));
    assert_eq!(s.client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap().text(), "ok");
    assert_eq!(s.tokens.tokens_issued(), 2);
}

#[tokio::test]
async fn google_errors_map_like_gemini() {
    let s = setup("us-central1").await;
    s.server.push(google::error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for aiplatform.googleapis.com"));
    s.server.push(google::error(
        400,
        "INVALID_ARGUMENT",
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
    ));
    let e = s.client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap_err();
    assert_eq!((e.kind(), e.status()), (&ErrorKind::RateLimited, Some(429)));
    assert_eq!(e.provider().map(|p| p.as_str()), Some("vertex_ai"));
    let e = s.client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ContextLength);
}

#[tokio::test]
async fn an_access_token_given_as_the_key_needs_no_service_account() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(wire::gemini::generate("ok", 1, 1));
    let client = ProviderClient::builder("vertex_ai")
        .api_key(llm_core::ApiKey::new("ya29.caller-supplied-token"))
        .vertex_project("proj-1")
        .vertex_location("europe-west4")
        .api_base(server.url())
        .build()
        .unwrap();
    assert_eq!(client.chat(&request("vertex_ai/gemini-2.5-flash")).await.unwrap().text(), "ok");
    let sent = server.last_request().unwrap();
    assert_eq!(
        sent.path,
        "/v1/projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(sent.header("authorization"), Some("Bearer ya29.caller-supplied-token"));
}

#[test]
fn models_of_other_publishers_are_refused_before_sending() {
    let client = ProviderClient::builder("vertex_ai")
        .api_key(llm_core::ApiKey::new("ya29.caller-supplied-token"))
        .vertex_project("p")
        .build()
        .unwrap();
    let e = client.prepare(&request("vertex_ai/mistral-large@2407"), false).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Config);
    assert!(e.message().contains("only Gemini (gemini-*) and Anthropic (claude-*)"), "{}", e.message());
}
