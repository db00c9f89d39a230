//! `llm demo`: the main job, an offline tour on the mock provider.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use futures_util::StreamExt;
use llm::core::mock::{MockProvider, MockReply};
use llm::core::{ChatRequest, Message, Provider, StreamAssembler, StreamEvent, Usage};

/// Options of `llm demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The model name the mock provider stands in for.
    #[arg(long, default_value = "gpt-4o-mini")]
    pub model: String,
}

fn usage_line(u: Option<&Usage>) -> String {
    match u {
        Some(u) => {
            format!("{} prompt + {} completion = {} tokens", u.prompt_tokens, u.completion_tokens, u.total_tokens)
        }
        None => "not reported".to_owned(),
    }
}

/// Runs the tour, writing progress and results to `out`.
pub async fn run(args: &DemoArgs, out: &mut impl Write) -> Result<ExitCode> {
    let started = Instant::now();
    writeln!(out, "llm demo: an offline tour on the mock provider (no keys, no network)")?;
    writeln!(out)?;

    let mock = MockProvider::new()
        .with_id("mock")
        .with_reply(MockReply::text("Paris is the capital of France."))
        .with_reply(MockReply::text(
            "Rust gives you speed and safety: no garbage collector, no data races, and a compiler that catches mistakes early.",
        ));
    let model = format!("mock/{}", args.model);

    writeln!(out, "[1/2] chat on {model}")?;
    let question = "What is the capital of France?";
    let req =
        ChatRequest::new(model.as_str(), vec![Message::system("Answer in one sentence."), Message::user(question)]);
    let resp = mock.chat(&req).await?;
    writeln!(out, "  > {question}")?;
    writeln!(out, "  < {}", resp.text())?;
    writeln!(out, "  usage: {}", usage_line(resp.usage.as_ref()))?;
    writeln!(out)?;

    writeln!(out, "[2/2] streamed chat on {model}")?;
    let question = "Why Rust, in one sentence?";
    let req = ChatRequest::new(model.as_str(), vec![Message::user(question)]);
    writeln!(out, "  > {question}")?;
    write!(out, "  < ")?;
    let mut stream = mock.stream(&req).await?;
    let mut assembler = StreamAssembler::for_provider(mock.id().clone());
    let mut chunks = 0u32;
    while let Some(event) = stream.next().await {
        let event = event?;
        if let StreamEvent::TextDelta { text, .. } = &event {
            write!(out, "{text}")?;
            out.flush()?;
            chunks += 1;
        }
        assembler.push(event);
    }
    let streamed = assembler.finish();
    writeln!(out)?;
    writeln!(out, "  {chunks} chunks; usage: {}", usage_line(streamed.usage.as_ref()))?;
    writeln!(out)?;
    writeln!(out, "done in {} ms", started.elapsed().as_millis())?;
    Ok(ExitCode::SUCCESS)
}
