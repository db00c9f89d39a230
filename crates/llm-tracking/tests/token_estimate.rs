//! Budget reservations count an OpenAI model's prompt with its tokenizer (llm-tokens), other models by
//! characters. The token counts were computed with LiteLLM 1.110.2's `token_counter` and Python tiktoken.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use llm_core::mock::MockProvider;
use llm_core::{ChatRequest, JsonSchemaFormat, Message, Provider, ResponseFormat};
use llm_tracking::{
    Budget, Period, Scope, TokenEstimate, Tracker, estimate_prompt_tokens, estimate_prompt_tokens_with,
};
use serde_json::json;

/// 280 CJK characters: LiteLLM's token_counter says 167 prompt tokens for gpt-4o, 247 for gpt-4.
fn cjk() -> String {
    "漢字の文章を書いてください。".repeat(20)
}

#[test]
fn openai_prompts_are_counted_with_their_tokenizer() {
    llm_tokens::Encoding::Cl100kBase.preload();
    llm_tokens::Encoding::O200kBase.preload();
    let gpt4o = ChatRequest::new("mock/gpt-4o", vec![Message::user(cjk())]);
    assert_eq!(estimate_prompt_tokens(&gpt4o), 167);
    assert_eq!(estimate_prompt_tokens(&ChatRequest::new("gpt-4", vec![Message::user(cjk())])), 247);
    assert_eq!(estimate_prompt_tokens(&ChatRequest::new("gpt-4o", vec![Message::user("Hello there")])), 9);
    // The characters estimate: one token per CJK character, 4 per message, 3 for the reply.
    assert_eq!(estimate_prompt_tokens_with(&gpt4o, TokenEstimate::Characters, None), 287);
    // A model whose tokenizer is not compiled in is estimated by characters, and so is an OpenAI model name
    // served by another host.
    let claude = ChatRequest::new("claude-sonnet-4-5", vec![Message::user(cjk())]);
    assert_eq!(estimate_prompt_tokens(&claude), 287);
    assert_eq!(estimate_prompt_tokens_with(&gpt4o, TokenEstimate::Tokenizer, Some(&"groq".into())), 287);
    assert_eq!(estimate_prompt_tokens_with(&gpt4o, TokenEstimate::Tokenizer, Some(&"openai".into())), 167);
    // A response schema is part of the prompt: its compact JSON is 19 o200k_base tokens.
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]});
    let with_schema = ChatRequest::new("gpt-4o", vec![Message::user("Hello there")])
        .with_response_format(ResponseFormat::JsonSchema(JsonSchemaFormat::new("answer", schema)));
    assert_eq!(estimate_prompt_tokens(&with_schema), 9 + 19);
}

/// The reservation of a budgeted call is its exact prompt tokens plus its `max_tokens`, at the model's rates;
/// `TokenEstimate::Characters` keeps the old estimate.
#[tokio::test]
async fn reservations_use_the_token_count() {
    for (estimate, reserved) in [(TokenEstimate::Tokenizer, "0.000187"), (TokenEstimate::Characters, "0.000307")] {
        let tracker = Tracker::builder().pricer(pricer()).token_estimate(estimate).build().unwrap();
        tracker.set_budget(&Budget::new(Scope::Global, Period::Total).with_max(usd("1"))).await.unwrap();
        let req = ChatRequest::new("mock/gpt-4o", vec![Message::user(cjk())]).with_max_tokens(10);
        tracker.wrap(MockProvider::new()).chat(&req).await.unwrap();
        tracker.flush().await.unwrap();
        let record = tracker.store().records(None, None, 10).await.unwrap().remove(0);
        // 167 (or 287) input tokens at $1/M, 10 output tokens at $2/M.
        assert_eq!(record.reserved, Some(usd(reserved)), "{estimate:?}");
    }
}
