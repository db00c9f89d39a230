//! Structured output for llm-rs: ask any [`Provider`] for a value of a Rust type, get the type back.
//!
//! - [`SchemaSpec`] turns a `T: JsonSchema` (schemars 1.x) or a JSON schema value into a named schema with a
//!   validator compiled once and reused.
//! - [`Strategy`] says how the call asks for it: the provider's native schema enforcement, a forced tool call,
//!   or the schema in the prompt; [`Capabilities::choose`] resolves `Auto` from what the model supports.
//! - [`generate`] runs the call, validates the reply against the caller's **original** schema (never a
//!   provider's rewritten dialect), and repairs: up to `max_attempts`, each feeding the violations back to the
//!   model. Usage and cost add up over the attempts; a final error carries every attempt's problems.
//!
//! Provider dialect rewrites (OpenAI strict mode, Anthropic's and Gemini's subsets) are wire knowledge and live
//! in each provider's encoder in llm-providers; this crate depends only on llm-core.
//!
//! ```
//! # futures_executor(async {
//! use llm_core::{ChatRequest, Message, mock::{MockProvider, MockReply}};
//! use llm_schema::{Options, Strategy, generate};
//!
//! #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
//! struct City { name: String, population: u64 }
//!
//! let mock = MockProvider::new()
//!     .with_reply(MockReply::text(r#"{"name": "Paris"}"#))                       // missing a field
//!     .with_reply(MockReply::text(r#"{"name": "Paris", "population": 2102650}"#)); // repaired
//! let request = ChatRequest::new("mock/gpt-4o", vec![Message::user("The capital of France?")]);
//! let out = generate::<City, _>(&mock, request, &Options::new(Strategy::Native)).await.unwrap();
//! assert_eq!(out.value.population, 2_102_650);
//! assert_eq!(out.attempts.len(), 2);
//! # });
//! # fn futures_executor(f: impl std::future::Future<Output = ()>) {
//! #     let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! #     rt.block_on(f);
//! # }
//! ```

mod error;
mod spec;
mod strategy;

use llm_core::{Adjustment, ChatRequest, ChatResponse, Cost, CostBreakdown, CostStatus, Provider, Usage};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::{Error, ErrorKind, ReplyProblem, Violation};
pub use spec::{SchemaSpec, sanitize_name};
pub use strategy::{Capabilities, Strategy, prepare, prompt_text, read_reply, repair_messages, strip_code_fence};

/// How [`generate`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The strategy; `Auto` is resolved with `capabilities`.
    pub strategy: Strategy,
    /// What the model supports.
    pub capabilities: Capabilities,
    /// The most calls, the first included (at least 1). Default 3.
    pub max_attempts: u32,
    /// Take JSON wrapped in a Markdown code fence instead of asking again. Default false.
    pub accept_code_fences: bool,
}

impl Options {
    /// Options with this strategy, every capability assumed, 3 attempts, code fences refused.
    pub fn new(strategy: Strategy) -> Self {
        Self { strategy, capabilities: Capabilities::new(true, true, true), max_attempts: 3, accept_code_fences: false }
    }

    /// Sets the model's capabilities.
    #[must_use]
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the most attempts (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Accepts or refuses code-fenced JSON.
    #[must_use]
    pub fn with_accept_code_fences(mut self, accept: bool) -> Self {
        self.accept_code_fences = accept;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new(Strategy::Auto)
    }
}

/// One call of a structured request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Attempt {
    /// Why its reply was rejected; `None` for the accepted one.
    pub problem: Option<ReplyProblem>,
    /// Its usage.
    pub usage: Option<Usage>,
    /// Its cost, when the response carried one.
    pub cost: Option<Cost>,
    /// The HTTP attempts its provider call retried before it answered.
    pub retries: u32,
}

/// The value a structured call produced, and what it took.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Structured<T> {
    /// The value, typed.
    pub value: T,
    /// The same value as validated JSON.
    pub json: Value,
    /// The strategy used (never `Auto`).
    pub strategy: Strategy,
    /// Every call, in order; the last one succeeded.
    pub attempts: Vec<Attempt>,
    /// Usage added up over the attempts.
    pub usage: Usage,
    /// Cost added up over the attempts, when every response carried one.
    pub cost: Option<Cost>,
    /// What was changed in the request before it was sent (the provider's schema dialect, dropped or renamed
    /// parameters), as the last attempt's response reports it.
    pub adjustments: Vec<Adjustment>,
    /// The trace id every attempt was sent with (the request's `trace_id` metadata, else a new one): a
    /// tracker records the attempts of one structured call under it.
    pub trace_id: String,
    /// The last response.
    pub response: ChatResponse,
}

/// Adds costs up: the buckets add, and the status is the weakest of the parts (unknown beats reported beats
/// priced). `None` when no part had a cost.
pub fn sum_costs<'a>(costs: impl IntoIterator<Item = Option<&'a Cost>>) -> Option<Cost> {
    let mut breakdown = CostBreakdown::default();
    let mut status: Option<CostStatus> = None;
    let mut key = None;
    let mut version = None;
    for c in costs {
        let Some(c) = c else {
            status = Some(CostStatus::Unpriced);
            continue;
        };
        breakdown.accumulate(&c.breakdown);
        let rank = |s: &CostStatus| match s {
            CostStatus::Priced => 0,
            CostStatus::ProviderReported => 1,
            _ => 2,
        };
        status = match status {
            Some(s) if rank(&s) >= rank(&c.status) => Some(s),
            _ => Some(c.status.clone()),
        };
        key = c.catalog_key.clone().or(key);
        version = c.catalog_version.clone().or(version);
    }
    let mut cost = Cost::new(status?, breakdown);
    cost.catalog_key = key;
    cost.catalog_version = version;
    Some(cost)
}

/// Asks for a `T` and returns it validated, repairing up to `options.max_attempts` calls.
pub async fn generate<T, P>(provider: &P, request: ChatRequest, options: &Options) -> Result<Structured<T>, Error>
where
    T: JsonSchema + DeserializeOwned + 'static,
    P: Provider + ?Sized,
{
    let spec = SchemaSpec::of::<T>()?;
    let out = generate_value(provider, request, &spec, options).await?;
    // Validation passed, so a failure here is a schema/type mismatch inside the crate's own derive: report it as
    // an exhausted call with the reason rather than panicking.
    match serde_json::from_value::<T>(out.json.clone()) {
        Ok(value) => Ok(Structured {
            value,
            json: out.json,
            strategy: out.strategy,
            attempts: out.attempts,
            usage: out.usage,
            cost: out.cost,
            adjustments: out.adjustments,
            trace_id: out.trace_id,
            response: out.response,
        }),
        Err(e) => Err(Error::exhausted(vec![ReplyProblem::Invalid {
            violations: vec![Violation {
                pointer: String::new(),
                schema_path: String::new(),
                message: format!("valid json that does not deserialize into the rust type: {e}"),
            }],
        }])
        .with_spend(Some(out.usage), out.cost)),
    }
}

/// Like [`generate`], for a schema given as a [`SchemaSpec`]; the value stays JSON.
pub async fn generate_value<P>(
    provider: &P,
    request: ChatRequest,
    spec: &SchemaSpec,
    options: &Options,
) -> Result<Structured<Value>, Error>
where
    P: Provider + ?Sized,
{
    let strategy = options.capabilities.choose(options.strategy);
    let mut request = prepare(request, spec, strategy, &options.capabilities);
    // Every attempt is a provider call of its own (and billed): they share one trace id and say which attempt
    // they are, so a tracker's records of one structured call can be told apart and put back together.
    let trace_id = match request.metadata.get("trace_id") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => {
            let id = new_trace_id();
            request.metadata.insert("trace_id".into(), Value::String(id.clone()));
            id
        }
    };
    let mut attempts: Vec<Attempt> = Vec::new();
    let mut usage = Usage::default();
    let max = options.max_attempts.max(1);
    loop {
        request.metadata.insert("repair_attempts".into(), Value::from(attempts.len()));
        let response = match provider.chat(&request).await {
            Ok(r) => r,
            Err(e) => {
                let problems = attempts.iter().filter_map(|a| a.problem.clone()).collect();
                let cost = sum_costs(attempts.iter().map(|a| a.cost.as_ref()));
                let spent = (!attempts.is_empty()).then_some(usage);
                return Err(Error::provider(e, problems).with_spend(spent, cost));
            }
        };
        if let Some(u) = &response.usage {
            usage.accumulate(u);
        }
        let outcome = read_reply(&response, spec, strategy, options.accept_code_fences).and_then(|value| {
            spec.validate(&value).map(|()| value).map_err(|violations| ReplyProblem::Invalid { violations })
        });
        match outcome {
            Ok(json) => {
                attempts.push(Attempt {
                    problem: None,
                    usage: response.usage,
                    cost: response.cost.clone(),
                    retries: retry_count(&response),
                });
                let cost = sum_costs(attempts.iter().map(|a| a.cost.as_ref()));
                let adjustments = response.adjustments.clone();
                return Ok(Structured {
                    value: json.clone(),
                    json,
                    strategy,
                    attempts,
                    usage,
                    cost,
                    adjustments,
                    trace_id,
                    response,
                });
            }
            Err(problem) => {
                attempts.push(Attempt {
                    problem: Some(problem.clone()),
                    usage: response.usage,
                    cost: response.cost.clone(),
                    retries: retry_count(&response),
                });
                if attempts.len() >= max as usize {
                    let problems = attempts.iter().filter_map(|a| a.problem.clone()).collect();
                    let cost = sum_costs(attempts.iter().map(|a| a.cost.as_ref()));
                    return Err(Error::exhausted(problems).with_spend(Some(usage), cost));
                }
                request.messages.extend(repair_messages(&response, strategy, &problem));
            }
        }
    }
}

/// A new trace id: 32 hex digits from the clock, the process id, a per-process counter and std's random
/// hasher keys (unique within a process, and across processes with overwhelming probability).
fn new_trace_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let a = h.finish();
    h.write_u8(0x5a);
    let b = h.finish();
    format!("{a:016x}{b:016x}")
}

fn retry_count(response: &ChatResponse) -> u32 {
    u32::try_from(response.retries.len()).unwrap_or(u32::MAX)
}
