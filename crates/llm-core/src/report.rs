//! What the stack did to a call on its way: the changes made to the request before it was sent
//! ([`Adjustment`]) and the attempts that failed before the one that answered ([`Retry`]). Both travel on the
//! [`crate::ChatResponse`], on [`crate::Error`] (retries), and in a stream's [`crate::StreamEvent::Call`].

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;
use crate::vocab::string_enum;

string_enum! {
    /// What kind of change an [`Adjustment`] is.
    pub enum AdjustmentKind {
        /// A parameter the provider or model does not take was left out (the drop-params policy).
        ParamDropped = "param_dropped",
        /// A parameter was sent under the provider's own name (`max_tokens` as `max_completion_tokens`).
        ParamRenamed = "param_renamed",
        /// A schema keyword the provider rejects was removed (validation still enforces it on our side).
        SchemaKeywordDropped = "schema_keyword_dropped",
        /// A schema constraint was removed and written into the description instead.
        SchemaMovedToDescription = "schema_moved_to_description",
        /// `additionalProperties: false` was set on an object (strict modes require it).
        SchemaObjectClosed = "schema_object_closed",
        /// An optional property was made required and nullable (OpenAI strict mode).
        SchemaMadeRequiredNullable = "schema_made_required_nullable",
        /// A schema keyword was replaced by an equivalent one (`oneOf` as `anyOf`, `const` as `enum`).
        SchemaKeywordReplaced = "schema_keyword_replaced",
        /// A `$ref` was replaced by the schema it points to.
        SchemaRefInlined = "schema_ref_inlined",
        /// A recursive reference could not be expressed and was cut.
        SchemaRecursionCut = "schema_recursion_cut",
        /// A chat request was sent to OpenAI's Responses API (the model exists only there) and its answer
        /// translated back.
        ResponsesApiBridge = "responses_api_bridge",
    }
}

/// One change made to a request before it was sent: a parameter dropped or renamed for the provider, or a
/// schema keyword rewritten by the provider's dialect.
///
/// Parameter changes name the parameter in [`Adjustment::param`]; schema changes say which schema
/// ([`Adjustment::schema`]: `response_format`, or `tools/NAME` for a tool's parameters) and where in it
/// ([`Adjustment::pointer`], a JSON pointer into the caller's original schema).
///
/// ```
/// use llm_core::{Adjustment, AdjustmentKind};
/// let a = Adjustment::param_dropped("seed", "anthropic does not take it");
/// assert_eq!(a.kind, AdjustmentKind::ParamDropped);
/// assert_eq!(
///     serde_json::to_value(&a).unwrap(),
///     serde_json::json!({"kind": "param_dropped", "param": "seed", "detail": "anthropic does not take it"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Adjustment {
    /// What was done.
    pub kind: AdjustmentKind,
    /// The parameter concerned, for parameter changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Which schema, for schema changes: `response_format` or `tools/NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Where in that schema (a JSON pointer into the original), for schema changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The keyword concerned, for schema changes that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// What was done, in words (the dropped value, the new name, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Adjustment {
    /// A change of this kind with nothing else set.
    pub fn new(kind: AdjustmentKind) -> Self {
        Self { kind, param: None, schema: None, pointer: None, keyword: None, detail: String::new() }
    }

    /// A parameter left out of the request.
    pub fn param_dropped(param: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { param: Some(param.into()), detail: detail.into(), ..Self::new(AdjustmentKind::ParamDropped) }
    }

    /// A parameter sent under another name.
    pub fn param_renamed(param: impl Into<String>, to: &str) -> Self {
        Self { param: Some(param.into()), detail: format!("sent as {to}"), ..Self::new(AdjustmentKind::ParamRenamed) }
    }

    /// A schema change at `pointer` in `schema`.
    pub fn schema_change(kind: AdjustmentKind, schema: impl Into<String>, pointer: impl Into<String>) -> Self {
        Self { schema: Some(schema.into()), pointer: Some(pointer.into()), ..Self::new(kind) }
    }

    /// Sets the keyword.
    #[must_use]
    pub fn with_keyword(mut self, keyword: impl Into<String>) -> Self {
        self.keyword = Some(keyword.into());
        self
    }

    /// Sets the detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The parameter name or the JSON pointer this change concerns.
    pub fn target(&self) -> &str {
        self.param.as_deref().or(self.pointer.as_deref()).unwrap_or_default()
    }
}

/// One failed attempt that was retried: why it failed and how long the client waited before the next.
///
/// ```
/// use llm_core::{ErrorKind, Retry};
/// let r = Retry::new(1, ErrorKind::RateLimited, Some(429), 500, "slow down");
/// assert_eq!(serde_json::to_value(&r).unwrap()["kind"], "rate_limited");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Retry {
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// Its error kind.
    #[serde(with = "kind_name")]
    pub kind: ErrorKind,
    /// Its HTTP status, when it got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long the client waited before the next attempt, in milliseconds.
    pub wait_ms: u64,
    /// The error message (secrets redacted).
    pub message: String,
}

impl Retry {
    /// A retried attempt.
    pub fn new(attempt: u32, kind: ErrorKind, status: Option<u16>, wait_ms: u64, message: impl Into<String>) -> Self {
        Self { attempt, kind, status, wait_ms, message: message.into() }
    }
}

/// One attempt a router made for a call: which deployment of which model group, and how it ended.
///
/// ```
/// use llm_core::{ErrorKind, RouteAttempt};
/// let a = RouteAttempt::failed("gpt-4o", "gpt-4o/0", "openai/gpt-4o", ErrorKind::Server, Some(500), "boom");
/// assert_eq!(serde_json::to_value(&a).unwrap()["outcome"], "server");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RouteAttempt {
    /// The model group the attempt was made for (the requested one, or a fallback group).
    pub model_group: String,
    /// The deployment's id (its `model_info.id`, else `GROUP/INDEX`).
    pub deployment: String,
    /// The deployment's provider-side model (`litellm_params.model`).
    pub model: String,
    /// `success`, `cache_hit`, or the error kind ([`ErrorKind::as_str`]) it failed with.
    pub outcome: String,
    /// The HTTP status of a failure, when it got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error message of a failure (secrets redacted); empty on success.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// What the attempt cost: the priced response of a success, zero for a cache hit, and `None` for a failure
    /// that returned no usage (nothing billed that anyone reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::cost::Cost>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
}

impl RouteAttempt {
    /// A successful attempt.
    pub fn succeeded(model_group: &str, deployment: &str, model: &str, cost: Option<crate::cost::Cost>) -> Self {
        Self {
            model_group: model_group.to_owned(),
            deployment: deployment.to_owned(),
            model: model.to_owned(),
            outcome: "success".to_owned(),
            status: None,
            message: String::new(),
            cost,
            latency_ms: 0,
        }
    }

    /// A failed attempt.
    pub fn failed(
        model_group: &str,
        deployment: &str,
        model: &str,
        kind: ErrorKind,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            outcome: kind.as_str().to_owned(),
            status,
            message: message.into(),
            ..Self::succeeded(model_group, deployment, model, None)
        }
    }

    /// Sets the latency.
    #[must_use]
    pub fn with_latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// True when the attempt answered (from the provider or from the cache).
    pub fn is_success(&self) -> bool {
        matches!(self.outcome.as_str(), "success" | "cache_hit")
    }
}

/// How a router served a call: the group asked for, the deployment that answered, every attempt on the way
/// (failed ones included, with their error), the fallback groups tried, and whether the answer came from the
/// response cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Routing {
    /// The model group the caller asked for.
    pub model_group: String,
    /// The group that answered (the requested one, or a fallback).
    pub served_group: String,
    /// The deployment that answered (empty when none did).
    pub deployment: String,
    /// Every attempt, in order; the last one answered when the call succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<RouteAttempt>,
    /// The fallback groups tried, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    /// True when the answer came from the response cache (no upstream request, cost zero).
    #[serde(default)]
    pub cache_hit: bool,
}

impl Routing {
    /// A routing report for a call to `model_group`, with nothing tried yet.
    pub fn new(model_group: impl Into<String>) -> Self {
        Self { model_group: model_group.into(), ..Self::default() }
    }
}

mod kind_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::error::ErrorKind;

    pub(super) fn serialize<S: Serializer>(k: &ErrorKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorKind, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorKind::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_adjustments_serialize_flat() {
        let a = Adjustment::schema_change(AdjustmentKind::SchemaKeywordDropped, "response_format", "/properties/age")
            .with_keyword("format")
            .with_detail("\"uint8\"");
        assert_eq!(a.target(), "/properties/age");
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "schema_keyword_dropped", "schema": "response_format",
                "pointer": "/properties/age", "keyword": "format", "detail": "\"uint8\""})
        );
        let back: Adjustment = serde_json::from_value(v).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn retries_round_trip() {
        let r = Retry::new(2, ErrorKind::Overloaded, Some(529), 1000, "overloaded");
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"attempt":2,"kind":"overloaded","status":529,"wait_ms":1000,"message":"overloaded"}"#);
        assert_eq!(serde_json::from_str::<Retry>(&text).unwrap(), r);
    }
}
