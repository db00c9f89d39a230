//! The standard record of one logical call, modelled on LiteLLM's `StandardLoggingPayload`.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use llm_core::{Adjustment, Cost, CostStatus, Message, Retry, Usage, Usd};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Timestamp;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallStatus {
    /// The provider answered (for a stream: it was read to its end).
    Success,
    /// The call failed, or was refused before it was sent (a budget).
    Failure,
    /// A stream was dropped by the caller before its end.
    Cancelled,
}

impl CallStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
        }
    }

    /// Reads a name written by [`CallStatus::as_str`]; unknown names read as `Failure`.
    pub fn parse(s: &str) -> Self {
        match s {
            "success" => Self::Success,
            "cancelled" => Self::Cancelled,
            _ => Self::Failure,
        }
    }
}

/// What kind of call a record is (LiteLLM's `call_type`): a chat completion, an embedding request, or a
/// direct call of OpenAI's Responses API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CallType {
    /// A chat completion, streamed or not (also every record written before call types existed).
    #[default]
    Chat,
    /// An embedding request.
    Embedding,
    /// A direct `POST /responses` call (`Client::responses`; a chat bridged to that API stays a chat call).
    Responses,
}

impl CallType {
    /// The snake_case name (`chat`, `embedding`, `responses`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Embedding => "embedding",
            Self::Responses => "responses",
        }
    }

    /// The OpenTelemetry GenAI operation name (`chat`, `embeddings`; a Responses API call is a `chat`).
    pub fn operation(self) -> &'static str {
        match self {
            Self::Chat | Self::Responses => "chat",
            Self::Embedding => "embeddings",
        }
    }

    /// Whether this is [`CallType::Chat`] (records leave the default out of their JSON).
    pub fn is_chat(&self) -> bool {
        *self == Self::Chat
    }
}

/// The generation parameters a call asked for, as OpenTelemetry's `gen_ai.request.*` attributes report them;
/// absent from a record's JSON when none was set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallParams {
    /// The most output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Choices asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
}

impl CallParams {
    /// The parameters of a chat request.
    pub fn of(request: &llm_core::ChatRequest) -> Self {
        Self {
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            top_p: request.top_p,
            presence_penalty: request.presence_penalty,
            frequency_penalty: request.frequency_penalty,
            seed: request.seed,
            n: request.n,
        }
    }

    /// True when none is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Prompts and replies, kept only when the tracker was told to ([`crate::TrackerBuilder::log_content`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallContent {
    /// The request's messages.
    pub messages: Vec<Message>,
    /// The first choice's text (assembled, for a stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

/// One record per logical call: who called what, what it used and cost, how long it took and how it ended.
///
/// It never holds an API key: the key appears only as [`CallRecord::api_key_fingerprint`], a keyed hash.
/// Prompts and replies are in [`CallRecord::content`] only when the user opted in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallRecord {
    /// This call's id (unique, 32 hex digits).
    pub id: String,
    /// The trace it belongs to: the request's `trace_id` metadata, or the call id.
    pub trace_id: String,
    /// When the call started.
    pub start_time: Timestamp,
    /// When the first content arrived (streams only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_time: Option<Timestamp>,
    /// When it ended.
    pub end_time: Timestamp,
    /// End minus start, in milliseconds (with microsecond precision).
    pub latency_ms: f64,
    /// The provider that served it.
    pub provider: String,
    /// The model the caller asked for.
    pub requested_model: String,
    /// The model the provider says served it (the requested one when it did not say).
    pub model: String,
    /// What reports group a call's model by: the model group a router routed the call for (the `model_group`
    /// metadata that llm-router sets), else the catalog key of the model the caller asked for (so a call's
    /// failures and successes land in one row whatever name the provider served it under), else the requested
    /// name without the serving provider's (or the mock's) `provider/` prefix. Empty in records written before it existed (reports then use [`CallRecord::model`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model_group: String,
    /// The provider's response id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    /// Whether the call was streamed.
    pub stream: bool,
    /// The generation parameters the request set.
    #[serde(default, skip_serializing_if = "CallParams::is_empty")]
    pub params: CallParams,
    /// Why each choice stopped (`stop`, `length`, `tool_calls`, ...), in choice order; empty when the provider
    /// did not say or the call failed before an answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish_reasons: Vec<String>,
    /// What kind of call it was; absent from the JSON of a chat call.
    #[serde(default, skip_serializing_if = "CallType::is_chat")]
    pub call_type: CallType,
    /// How it ended.
    pub status: CallStatus,
    /// The error kind ([`llm_core::ErrorKind::as_str`]) when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The error message (secrets redacted) when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Normalized usage; zero when the provider reported none.
    pub usage: Usage,
    /// The priced cost (`None` for a call that never reached the provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// What the call counts for in spend and budgets: the known total, else zero (see
    /// [`CallRecord::cost_status`] for whether it is known).
    pub spend: Usd,
    /// The estimate reserved against hard budgets before the call, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved: Option<Usd>,
    /// HTTP attempts beyond the first inside this provider call: the provider client's retries
    /// ([`CallRecord::retries`]), plus any a caller counted itself in the `retry_attempts` metadata.
    pub retry_attempts: u32,
    /// Why each retried attempt failed and how long the client waited (from the provider client).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<Retry>,
    /// Which attempt of its logical call this provider call was, minus one: 0 for a first call, 1 for the
    /// first structured-output repair, ... (from the `repair_attempts` metadata that llm-schema sets). The
    /// attempts of one logical call share its [`CallRecord::trace_id`].
    pub repair_attempts: u32,
    /// What was changed in the request before it was sent (parameters dropped or renamed, schema keywords
    /// rewritten for the provider).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adjustments: Vec<Adjustment>,
    /// Tracking tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The internal user the spend is charged to (the `user` metadata, else the request's `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The team (the `team` metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The project (the `project` metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The end user (the `end_user` metadata, else the request's `user`, which the provider also receives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<String>,
    /// The fingerprint of the API key used ([`crate::Tracker::key_fingerprint`]: HMAC-SHA-256), never the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_fingerprint: Option<String>,
    /// The request's remaining tracking metadata (string values with what looks like a key redacted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Value>,
    /// Prompts and replies, only when opted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<CallContent>,
}

impl CallRecord {
    /// The cost status: the cost's own, or `unknown_model` when the call was never priced.
    pub fn cost_status(&self) -> CostStatus {
        self.cost.as_ref().map(|c| c.status.clone()).unwrap_or(CostStatus::UnknownModel)
    }

    /// True when the call counts as spend that is known (priced or provider-reported).
    pub fn cost_known(&self) -> bool {
        self.cost.as_ref().is_some_and(Cost::is_known)
    }

    /// The model name reports group this call under: [`CallRecord::model_group`], or the served model for
    /// records written before it existed.
    pub fn report_model(&self) -> &str {
        if self.model_group.is_empty() { &self.model } else { &self.model_group }
    }

    /// True for the first provider call of a logical call (not a structured-output repair).
    pub fn is_logical_call(&self) -> bool {
        self.repair_attempts == 0
    }

    /// The catalog key that priced it.
    pub fn catalog_key(&self) -> Option<&str> {
        self.cost.as_ref().and_then(|c| c.catalog_key.as_deref())
    }

    /// The catalog version that priced it.
    pub fn catalog_version(&self) -> Option<&str> {
        self.cost.as_ref().and_then(|c| c.catalog_version.as_deref())
    }

    /// The budget scopes this call is charged to: `global`, then `user:U`, `team:T`, `project:P`, `key:FP`
    /// and one `tag:X` per tag, for the values it has.
    pub fn scopes(&self) -> Vec<crate::Scope> {
        crate::budget::scopes_for(
            self.user.as_deref(),
            self.team.as_deref(),
            self.project.as_deref(),
            self.api_key_fingerprint.as_deref(),
            &self.tags,
        )
    }

    /// A record with the given identity and everything else empty; for tests and custom emitters.
    pub fn new(provider: impl Into<String>, requested_model: impl Into<String>, start_time: Timestamp) -> Self {
        let id = new_id();
        let requested_model = requested_model.into();
        Self {
            trace_id: id.clone(),
            id,
            start_time,
            first_token_time: None,
            end_time: start_time,
            latency_ms: 0.0,
            provider: provider.into(),
            model: requested_model.clone(),
            model_group: requested_model.clone(),
            requested_model,
            response_id: None,
            stream: false,
            params: CallParams::default(),
            finish_reasons: Vec::new(),
            call_type: CallType::Chat,
            status: CallStatus::Success,
            error_kind: None,
            error_message: None,
            usage: Usage::default(),
            cost: None,
            spend: Usd::ZERO,
            reserved: None,
            retry_attempts: 0,
            retries: Vec::new(),
            repair_attempts: 0,
            adjustments: Vec::new(),
            tags: Vec::new(),
            user: None,
            team: None,
            project: None,
            end_user: None,
            api_key_fingerprint: None,
            metadata: BTreeMap::new(),
            content: None,
        }
    }

    /// Sets usage.
    #[must_use]
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = usage;
        self
    }

    /// Sets the cost, and the spend from it.
    #[must_use]
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.spend = cost.total().unwrap_or(Usd::ZERO);
        self.cost = Some(cost);
        self
    }

    /// Sets the user.
    #[must_use]
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the team.
    #[must_use]
    pub fn with_team(mut self, team: impl Into<String>) -> Self {
        self.team = Some(team.into());
        self
    }

    /// Adds a tag.
    #[must_use]
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the served model.
    #[must_use]
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sets the status and error.
    #[must_use]
    pub fn with_failure(mut self, kind: impl Into<String>, message: impl Into<String>) -> Self {
        self.status = CallStatus::Failure;
        self.error_kind = Some(kind.into());
        self.error_message = Some(llm_core::redact_secrets(&message.into()));
        self
    }

    /// Sets the API key fingerprint (as [`crate::Tracker::key_fingerprint`] computes it; never the key).
    #[must_use]
    pub fn with_key_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.api_key_fingerprint = Some(fingerprint.into());
        self
    }
}

/// A new id: 32 hex digits, the first 12 the microsecond clock (so ids sort roughly by time and index
/// inserts stay local), the other 20 random, unique across processes with overwhelming probability.
pub fn new_id() -> String {
    new_id_at(Timestamp::now())
}

/// [`new_id`] for a call that already read the clock.
pub(crate) fn new_id_at(now: Timestamp) -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_i64(Timestamp::now().as_micros());
        h.write_u32(std::process::id());
        h.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // splitmix64 over the seed and the counter: distinct for every n within a process.
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let time = (now.as_micros() as u64) & 0xffff_ffff_ffff;
    let a = mix(seed.wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let b = (seed ^ n.rotate_left(17) ^ mix(n)) & 0xffff;
    // 12 + 16 + 4 hex digits, written directly (`format!` costs several times more on the call's path).
    let mut id = String::with_capacity(32);
    push_hex(&mut id, time, 12);
    push_hex(&mut id, a, 16);
    push_hex(&mut id, b, 4);
    id
}

/// Appends the low `digits` hex digits of `v`, zero-padded.
fn push_hex(out: &mut String, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (i * 4)) & 0xf) as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_hex() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|i| i.len() == 32 && i.bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn ids_start_with_the_microsecond_clock_and_sort_by_time() {
        let before = Timestamp::now().as_micros() as u64 & 0xffff_ffff_ffff;
        let id = new_id();
        let after = Timestamp::now().as_micros() as u64 & 0xffff_ffff_ffff;
        let time = u64::from_str_radix(&id[..12], 16).unwrap();
        assert!((before..=after).contains(&time), "{id}: {time} not in {before}..={after}");
        let mut hex = String::new();
        push_hex(&mut hex, 0xab, 4);
        push_hex(&mut hex, u64::MAX, 3);
        assert_eq!(hex, "00abfff");
    }

    #[test]
    fn record_round_trips_through_json() {
        let r = CallRecord::new("openai", "gpt-4o", Timestamp::from_secs(1_700_000_000))
            .with_usage(Usage::new(10, 5))
            .with_user("alice")
            .with_tag("a");
        let json = serde_json::to_string(&r).unwrap();
        let back: CallRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.scopes().len(), 3);
    }
}
