//! Live tests against the real OpenAI, Anthropic and Gemini APIs. They always compile; each runs only when
//! its key is in the environment (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`) and otherwise
//! returns at once. The model can be changed with `LLM_LIVE_OPENAI_MODEL`, `LLM_LIVE_ANTHROPIC_MODEL`,
//! `LLM_LIVE_GEMINI_MODEL`. Each makes two tiny calls (one plain, one streamed).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use llm_core::{ChatRequest, FinishReason, Message, Provider, collect_stream};
use llm_providers::ProviderClient;

async fn live(provider: &str, key_var: &str, model_var: &str, default_model: &str) {
    if std::env::var(key_var).map_or(true, |k| k.trim().is_empty()) {
        eprintln!("skipped: {key_var} is not set");
        return;
    }
    let model = std::env::var(model_var).unwrap_or_else(|_| default_model.to_owned());
    let client = ProviderClient::builder(provider).build().unwrap();
    let req =
        ChatRequest::new(model.as_str(), vec![Message::user("Reply with the single word: pong")]).with_max_tokens(32);

    let r = client.chat(&req).await.unwrap_or_else(|e| panic!("{provider}: {e}"));
    assert!(r.text().to_lowercase().contains("pong"), "{provider}: {:?}", r.text());
    let u = r.usage.expect("usage");
    assert!(u.prompt_tokens > 0 && u.completion_tokens > 0, "{u:?}");
    assert!(u.check().is_ok(), "{u:?}");
    assert!(matches!(r.finish_reason(), Some(FinishReason::Stop | FinishReason::Length)));

    let s = collect_stream(client.stream(&req).await.unwrap()).await.unwrap_or_else(|e| panic!("{provider}: {e}"));
    assert!(s.text().to_lowercase().contains("pong"), "{provider}: {:?}", s.text());
    let su = s.usage.expect("streamed usage");
    assert_eq!(su.prompt_tokens, u.prompt_tokens, "{provider}: same prompt, same prompt tokens");
}

#[tokio::test]
async fn live_openai() {
    live("openai", "OPENAI_API_KEY", "LLM_LIVE_OPENAI_MODEL", "gpt-4o-mini").await;
}

#[tokio::test]
async fn live_anthropic() {
    live("anthropic", "ANTHROPIC_API_KEY", "LLM_LIVE_ANTHROPIC_MODEL", "claude-haiku-4-5").await;
}

#[tokio::test]
async fn live_gemini() {
    live("gemini", "GEMINI_API_KEY", "LLM_LIVE_GEMINI_MODEL", "gemini-2.5-flash").await;
}
