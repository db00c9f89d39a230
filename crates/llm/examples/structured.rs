//! A Rust type from a model, validated and repaired, offline on the mock provider.
//!
//! `cargo run -p llm --example structured --features mock`.

use llm::Client;
use llm::core::mock::{MockProvider, MockReply};
use llm::core::{ChatRequest, Message};

/// A city.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code, reason = "printed through Debug")]
struct City {
    /// Its name.
    name: String,
    /// Inhabitants, at least 1.
    #[schemars(range(min = 1))]
    population: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockProvider::new()
        .with_reply(MockReply::text(r#"{"name": "Lisbon", "population": 0}"#))
        .with_reply(MockReply::text(r#"{"name": "Lisbon", "population": 545923}"#));
    let client = Client::builder().mock(mock).build()?;
    let out = client.structured::<City>(ChatRequest::new("gpt-4o-mini", vec![Message::user("Lisbon?")])).await?;
    println!("{:?} via {} in {} attempts", out.value, out.strategy.as_str(), out.attempts.len());
    for a in &out.attempts {
        println!("  {:?}", a.problem);
    }
    println!("usage {:?}, cost {:?}", out.usage, out.cost.and_then(|c| c.total()));
    Ok(())
}
