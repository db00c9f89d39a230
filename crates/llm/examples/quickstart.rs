//! A priced chat and a stream, offline on the mock provider.
//!
//! `cargo run -p llm --example quickstart --features mock`. With a real key, drop `.mock(...)` and name any
//! model: `OPENAI_API_KEY=... ` for `gpt-4o-mini`, `ANTHROPIC_API_KEY=...` for `claude-sonnet-4-5`, ...

use futures_util::StreamExt;
use llm::Client;
use llm::core::mock::{MockProvider, MockReply};
use llm::core::{ChatRequest, Message, StreamEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder()
        .mock(MockProvider::new().with_default_reply(MockReply::text("Paris is the capital of France.")))
        .build()?;

    let request = ChatRequest::new("gpt-4o-mini", vec![Message::user("What is the capital of France?")]);
    let response = client.chat(request.clone()).await?;
    let cost = response.cost.as_ref().ok_or("unpriced")?;
    println!("{}", response.text());
    println!("usage: {:?}", response.usage);
    let total = cost.total().map(|t| t.to_string()).unwrap_or_else(|| "unknown".into());
    println!("cost:  ${total} ({}, {:?})", cost.status, cost.catalog_key);

    let mut stream = client.stream(request).await?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text, .. } = event? {
            print!("{text}");
        }
    }
    println!();
    Ok(())
}
