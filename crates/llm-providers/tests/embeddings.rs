//! Embeddings over real HTTP against the fake upstream on 127.0.0.1: every provider's route, headers and exact
//! request body (insta snapshots), its answer decoded from the documented fixtures in `test_data/` and from the
//! fake upstream's own replies, usage normalized (reported, summed, or estimated and flagged), and the typed
//! errors of unsupported providers and models.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;

use llm_core::{AdjustmentKind, ApiKey, EmbeddingRequest, EncodingFormat, ErrorKind, Provider, Usage};
use llm_fake_upstream::{FakeUpstream, RecordedRequest, Reply, wire::embeddings};
use llm_providers::ProviderClient;
use serde_json::{Value, json};

const KEY: &str = "test-key-0123456789";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/test_data/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn client(provider: &str, server: &FakeUpstream) -> ProviderClient {
    let mut b = ProviderClient::builder(provider).api_key(ApiKey::new(KEY)).api_base(server.url());
    if provider == "bedrock" {
        b = b.aws_region("us-east-1");
    }
    b.build().unwrap()
}

fn one_request(server: &FakeUpstream) -> RecordedRequest {
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    requests.into_iter().next().unwrap()
}

#[tokio::test]
async fn openai_one_text_with_every_parameter() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("openai/embeddings_response.json")));
    let req = EmbeddingRequest::many("openai/text-embedding-3-small", ["hello world", "goodbye"])
        .with_dimensions(4)
        .with_encoding_format(EncodingFormat::Float)
        .with_user("user-42")
        .with_tag("search")
        .with_metadata("team", json!("core"));
    let r = client("openai", &server).embed(&req).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(sent.header("authorization"), Some("Bearer test-key-0123456789"));
    assert_eq!(
        sent.json(),
        json!({"model": "text-embedding-3-small", "input": ["hello world", "goodbye"], "dimensions": 4,
               "encoding_format": "float", "user": "user-42"})
    );
    assert_eq!(r.model, "text-embedding-3-small");
    assert_eq!(r.provider.as_ref().map(|p| p.as_str()), Some("openai"));
    assert_eq!(r.usage, Some(Usage::new(8, 0)));
    assert!(!r.usage_estimated);
    assert_eq!(r.data.len(), 2);
    assert_eq!(r.data[0].vector, vec![-0.006_929_283_5, -0.005_336_422, -4.547_132_3e-5, -0.024_047_505]);
    assert_eq!(r.data[1].index, 1);
    assert_eq!(r.data[1].vector, vec![0.0123, -0.0456, 0.0789, 0.0012]);
    assert!(r.adjustments.is_empty());
}

#[tokio::test]
async fn openai_base64_vectors_are_decoded_and_a_single_text_is_sent_as_a_string() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(embeddings::openai_base64(&[vec![1.0, -2.5, 0.125]], 3));
    let req = EmbeddingRequest::new("text-embedding-3-large", "hi").with_encoding_format(EncodingFormat::Base64);
    let r = client("openai", &server).embed(&req).await.unwrap();
    assert_eq!(
        one_request(&server).json(),
        json!({"model": "text-embedding-3-large", "input": "hi", "encoding_format": "base64"})
    );
    assert_eq!(r.data[0].vector, vec![1.0, -2.5, 0.125]);
    assert_eq!(r.usage, Some(Usage::new(3, 0)));
}

#[tokio::test]
async fn azure_calls_the_deployment_route_with_its_key_header() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(embeddings::openai(&[vec![0.5, 0.25]], 2));
    let r = client("azure", &server).embed(&EmbeddingRequest::new("azure/my-embedder", "hi")).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/openai/deployments/my-embedder/embeddings");
    assert_eq!(sent.query, "api-version=2024-10-21");
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(r.data[0].vector, vec![0.5, 0.25]);
    assert_eq!(r.provider.as_ref().map(|p| p.as_str()), Some("azure"));
}

#[tokio::test]
async fn mistral_renames_dimensions_and_drops_user() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("mistral/embeddings_response.json")));
    let req = EmbeddingRequest::many("mistral/codestral-embed", ["a", "b"]).with_dimensions(3).with_user("u");
    let r = client("mistral", &server).embed(&req).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(sent.json(), json!({"model": "codestral-embed", "input": ["a", "b"], "output_dimension": 3}));
    assert_eq!(r.usage, Some(Usage::new(15, 0)));
    assert_eq!(r.model, "mistral-embed");
    let kinds: Vec<(AdjustmentKind, Option<String>)> =
        r.adjustments.iter().map(|a| (a.kind.clone(), a.param.clone())).collect();
    assert_eq!(
        kinds,
        vec![
            (AdjustmentKind::ParamRenamed, Some("dimensions".to_owned())),
            (AdjustmentKind::ParamDropped, Some("user".to_owned()))
        ]
    );
}

#[tokio::test]
async fn the_compatible_family_uses_openai_s_route_under_each_base() {
    for (provider, model, path) in [
        ("together_ai", "together_ai/BAAI/bge-large-en-v1.5", "/v1/embeddings"),
        ("fireworks_ai", "fireworks_ai/nomic-ai/nomic-embed-text-v1.5", "/inference/v1/embeddings"),
        ("deepinfra", "deepinfra/BAAI/bge-m3", "/v1/openai/embeddings"),
        ("hosted_vllm", "hosted_vllm/intfloat/e5-mistral-7b-instruct", "/v1/embeddings"),
    ] {
        let server = FakeUpstream::start().await.unwrap();
        server.push(embeddings::openai(&[vec![0.1, 0.2]], 5));
        let r = client(provider, &server).embed(&EmbeddingRequest::new(model, "hi")).await.unwrap();
        let sent = one_request(&server);
        assert_eq!(sent.path, path, "{provider}");
        assert_eq!(sent.json()["model"], model.split_once('/').unwrap().1, "{provider}");
        assert_eq!(r.usage, Some(Usage::new(5, 0)), "{provider}");
    }
}

#[tokio::test]
async fn a_compatible_server_without_usage_gets_an_estimate_flagged_as_such() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json_value(
        200,
        &json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}], "model": "m"}),
    ));
    let r =
        client("hosted_vllm", &server).embed(&EmbeddingRequest::new("hosted_vllm/m", "twelve chars")).await.unwrap();
    assert_eq!(r.usage, Some(Usage::new(3, 0)));
    assert!(r.usage_estimated);
}

#[tokio::test]
async fn gemini_one_text_is_embed_content_with_output_dimensionality() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("gemini/embed_content_response.json")));
    let req = EmbeddingRequest::new("gemini/gemini-embedding-001", "What is the meaning of life?")
        .with_dimensions(5)
        .with_extra("taskType", json!("RETRIEVAL_QUERY"));
    let r = client("gemini", &server).embed(&req).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/v1beta/models/gemini-embedding-001:embedContent");
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        sent.json(),
        json!({"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "What is the meaning of life?"}]},
               "outputDimensionality": 5, "taskType": "RETRIEVAL_QUERY"})
    );
    assert_eq!(r.data[0].vector, vec![0.013_168_523, -0.008_711_934, -0.046_782_676, 0.000_699_689_84, -0.009_518_191]);
    // Gemini counts no tokens: 28 characters estimate to 7 tokens, and the response says it is an estimate.
    assert_eq!(r.usage, Some(Usage::new(7, 0)));
    assert!(r.usage_estimated);
}

#[tokio::test]
async fn gemini_many_texts_are_one_batch_embed_contents_call() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("gemini/batch_embed_contents_response.json")));
    let req = EmbeddingRequest::many("gemini/text-embedding-004", ["a", "bb", "ccccc"]).with_user("dropped");
    let r = client("gemini", &server).embed(&req).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/v1beta/models/text-embedding-004:batchEmbedContents");
    assert_eq!(sent.json()["requests"].as_array().map(Vec::len), Some(3));
    assert_eq!(sent.json()["requests"][2]["content"]["parts"][0]["text"], "ccccc");
    assert_eq!(r.data.iter().map(|e| e.index).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(r.data[1].vector, vec![-0.007_700_903_3, 0.020_623_1, -0.010_948_788]);
    assert_eq!(r.usage, Some(Usage::new(4, 0)));
    assert_eq!(r.adjustments.len(), 1);
    assert_eq!(r.adjustments[0].param.as_deref(), Some("user"));
}

#[tokio::test]
async fn ollama_api_embed_reports_prompt_eval_count() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("ollama/embed_response.json")));
    let req = EmbeddingRequest::many("ollama/all-minilm", ["Why is the sky blue?", "Why is the grass green?"])
        .with_extra("truncate", json!(true));
    let r = client("ollama", &server).embed(&req).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/api/embed");
    assert_eq!(
        sent.json(),
        json!({"model": "all-minilm", "input": ["Why is the sky blue?", "Why is the grass green?"], "truncate": true})
    );
    assert_eq!(r.usage, Some(Usage::new(8, 0)));
    assert!(!r.usage_estimated);
    assert_eq!(r.data[1].vector[0], -0.009_802_707_5);
    assert_eq!(r.data[0].vector.len(), 10);
}

#[tokio::test]
async fn bedrock_titan_takes_one_text_per_call_and_sums_the_counts() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("bedrock/titan_embed_text_v2_response.json")));
    server.push(embeddings::titan(&[0.5, 0.5, 0.5, 0.5], 4));
    let req = EmbeddingRequest::many("bedrock/amazon.titan-embed-text-v2:0", ["first text", "second"])
        .with_dimensions(256)
        .with_extra("normalize", json!(true));
    let r = client("bedrock", &server).embed(&req).await.unwrap();
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    for s in &sent {
        assert_eq!(s.path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
        assert_eq!(s.header("authorization"), Some("Bearer test-key-0123456789"));
    }
    assert_eq!(sent[0].json(), json!({"inputText": "first text", "dimensions": 256, "normalize": true}));
    assert_eq!(sent[1].json()["inputText"], "second");
    assert_eq!(r.data[0].vector, vec![-0.070_312_5, 0.026_733_398, 0.021_118_164, -0.048_583_984]);
    assert_eq!(r.data[1].vector, vec![0.5; 4]);
    assert_eq!(r.usage, Some(Usage::new(10, 0)));
}

#[tokio::test]
async fn bedrock_cohere_counts_come_from_the_invoke_header() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(
        Reply::json(200, fixture("bedrock/cohere_embed_response.json")).header("x-amzn-bedrock-input-token-count", "4"),
    );
    let req = EmbeddingRequest::many("bedrock/cohere.embed-english-v3", ["hello world", "goodbye world"]);
    let r = client("bedrock", &server).embed(&req).await.unwrap();
    let sent = one_request(&server);
    assert_eq!(sent.path, "/model/cohere.embed-english-v3/invoke");
    assert_eq!(sent.json(), json!({"texts": ["hello world", "goodbye world"], "input_type": "search_document"}));
    assert_eq!(r.usage, Some(Usage::new(4, 0)));
    assert!(!r.usage_estimated);
    assert_eq!(r.data[1].vector, vec![-0.035_278_32, 0.014_282_227, -0.023_315_43]);

    // v4 answers by type; without the header the usage is estimated.
    let server = FakeUpstream::start().await.unwrap();
    server.push(Reply::json(200, fixture("bedrock/cohere_embed_v4_by_type_response.json")));
    let req = EmbeddingRequest::many("bedrock/us.cohere.embed-v4:0", ["hello world", "goodbye world"])
        .with_dimensions(256)
        .with_extra("input_type", json!("search_query"));
    let r = client("bedrock", &server).embed(&req).await.unwrap();
    assert_eq!(
        one_request(&server).json(),
        json!({"texts": ["hello world", "goodbye world"], "input_type": "search_query", "output_dimension": 256})
    );
    assert_eq!(r.data[1].vector, vec![0.0789, 0.0012]);
    assert_eq!(r.usage, Some(Usage::new(7, 0)));
    assert!(r.usage_estimated);
}

#[tokio::test]
async fn bedrock_cohere_batches_of_96() {
    let server = FakeUpstream::start().await.unwrap();
    let texts: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    server.push(embeddings::cohere(&vec![vec![1.0]; 96], &[], Some(96)));
    server.push(embeddings::cohere(&vec![vec![2.0]; 4], &[], Some(4)));
    let r = client("bedrock", &server)
        .embed(&EmbeddingRequest::many("bedrock/cohere.embed-multilingual-v3", texts))
        .await
        .unwrap();
    let sent = server.requests();
    assert_eq!(sent.iter().map(|s| s.json()["texts"].as_array().unwrap().len()).collect::<Vec<_>>(), vec![96, 4]);
    assert_eq!(sent[1].json()["texts"][0], "t96");
    assert_eq!(r.data.len(), 100);
    assert_eq!(r.data[99].index, 99);
    assert_eq!(r.data[99].vector, vec![2.0]);
    assert_eq!(r.usage, Some(Usage::new(100, 0)));
}

#[cfg(feature = "bedrock")]
#[tokio::test]
async fn bedrock_sigv4_signs_every_invoke_call() {
    let server = FakeUpstream::start().await.unwrap();
    server.push(embeddings::titan(&[0.5], 1));
    let creds = llm_providers::bedrock::AwsCredentials::new(
        "AKIDEXAMPLE",
        ApiKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        None,
    );
    let c = ProviderClient::builder("bedrock")
        .aws_region("eu-west-1")
        .aws_credentials(creds)
        .api_base(server.url())
        .build()
        .unwrap();
    c.embed(&EmbeddingRequest::new("bedrock/amazon.titan-embed-text-v1", "x")).await.unwrap();
    let sent = one_request(&server);
    let auth = sent.header("authorization").unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{auth}");
    assert!(auth.contains("/eu-west-1/bedrock/aws4_request"), "{auth}");
    assert!(sent.header("x-amz-date").is_some());
}

#[tokio::test]
async fn refusals_are_typed_and_send_nothing() {
    let server = FakeUpstream::start().await.unwrap();
    let anthropic =
        client("anthropic", &server).embed(&EmbeddingRequest::new("claude-sonnet-4-5", "x")).await.unwrap_err();
    assert_eq!(anthropic.kind(), &ErrorKind::Unsupported);
    assert_eq!(anthropic.provider().map(|p| p.as_str()), Some("anthropic"));
    let bedrock = client("bedrock", &server);
    let chat_model = bedrock.embed(&EmbeddingRequest::new("bedrock/anthropic.claude-3-haiku-20240307-v1:0", "x")).await;
    assert_eq!(chat_model.unwrap_err().kind(), &ErrorKind::Unsupported);
    let v1_dims =
        bedrock.embed(&EmbeddingRequest::new("bedrock/amazon.titan-embed-text-v1", "x").with_dimensions(256)).await;
    assert_eq!(v1_dims.unwrap_err().kind(), &ErrorKind::InvalidRequest);
    let empty =
        client("openai", &server).embed(&EmbeddingRequest::many("text-embedding-3-small", Vec::<String>::new())).await;
    assert_eq!(empty.unwrap_err().kind(), &ErrorKind::InvalidRequest);
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn malformed_and_short_answers_are_decode_errors_and_http_errors_keep_their_kind() {
    let server = FakeUpstream::start().await.unwrap();
    let c = client("openai", &server);
    let req = EmbeddingRequest::many("text-embedding-3-small", ["a", "b"]);
    server.push(embeddings::openai(&[vec![0.5]], 1));
    assert_eq!(c.embed(&req).await.unwrap_err().kind(), &ErrorKind::Decode);
    server.push(Reply::json(200, r#"{"object": "list", "data": [{"embedding": "!!"}]}"#));
    assert_eq!(c.embed(&req).await.unwrap_err().kind(), &ErrorKind::Decode);
    server.push(Reply::json(200, "{not json"));
    assert_eq!(c.embed(&req).await.unwrap_err().kind(), &ErrorKind::Decode);
    server.push(llm_fake_upstream::wire::openai::error(
        401,
        "invalid_request_error",
        Some("invalid_api_key"),
        "bad key",
    ));
    let auth = c.embed(&req).await.unwrap_err();
    assert_eq!(auth.kind(), &ErrorKind::Auth);
    assert_eq!(auth.status(), Some(401));
}

#[tokio::test]
async fn retried_answers_are_reported() {
    let server = FakeUpstream::start().await.unwrap();
    server
        .push(llm_fake_upstream::wire::openai::error(503, "server_error", None, "busy").header("retry-after-ms", "1"));
    server.push(embeddings::openai(&[vec![0.5]], 1));
    let r = client("openai", &server).embed(&EmbeddingRequest::new("text-embedding-3-small", "a")).await.unwrap();
    assert_eq!(r.retries.len(), 1);
    assert_eq!(r.retries[0].status, Some(503));
    assert_eq!(server.request_count(), 2);
}

/// The exact request body of every provider for the same request (two texts, 256 dimensions where the model
/// takes them), as sent over HTTP.
#[tokio::test]
async fn request_body_snapshots() {
    let texts = ["The food was delicious.", "The waiter was friendly."];
    let cases: [(&str, &str, Option<u32>, Reply); 9] = [
        ("openai", "openai/text-embedding-3-small", Some(256), embeddings::openai(&[vec![0.0], vec![0.0]], 1)),
        ("azure", "azure/emb-deployment", Some(256), embeddings::openai(&[vec![0.0], vec![0.0]], 1)),
        ("mistral", "mistral/mistral-embed", None, embeddings::openai(&[vec![0.0], vec![0.0]], 1)),
        ("together_ai", "together_ai/BAAI/bge-base-en-v1.5", None, embeddings::openai(&[vec![0.0], vec![0.0]], 1)),
        ("gemini", "gemini/gemini-embedding-001", Some(256), embeddings::gemini_batch(&[vec![0.0], vec![0.0]])),
        ("ollama", "ollama/nomic-embed-text", Some(256), embeddings::ollama(&[vec![0.0], vec![0.0]], 1)),
        ("bedrock", "bedrock/amazon.titan-embed-text-v2:0", Some(256), embeddings::titan(&[0.0], 1)),
        ("bedrock", "bedrock/amazon.titan-embed-text-v1", None, embeddings::titan(&[0.0], 1)),
        (
            "bedrock",
            "bedrock/cohere.embed-english-v3",
            None,
            embeddings::cohere(&[vec![0.0], vec![0.0]], &texts, Some(1)),
        ),
    ];
    let mut bodies = BTreeMap::new();
    for (provider, model, dims, reply) in cases {
        let server = FakeUpstream::start().await.unwrap();
        server.set_default(reply);
        let mut req = EmbeddingRequest::many(model, texts).with_user("end-user-7");
        req.dimensions = dims;
        client(provider, &server).embed(&req).await.unwrap_or_else(|e| panic!("{model}: {e}"));
        let sent: Vec<Value> = server
            .requests()
            .iter()
            .map(|s| {
                let url = if s.query.is_empty() { s.path.clone() } else { format!("{}?{}", s.path, s.query) };
                json!({"url": url, "body": s.json()})
            })
            .collect();
        bodies.insert(model.to_owned(), sent);
    }
    insta::assert_json_snapshot!(bodies);
}
