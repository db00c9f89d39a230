//! JSON-schema dialects: the rewrites each provider needs before it accepts a caller's schema, each reporting
//! what it dropped or changed. Validation always runs against the caller's original schema (llm-schema), so a
//! constraint dropped here is still enforced on our side.
//!
//! - [`openai_strict`]: OpenAI `json_schema` with `strict: true` (and strict tools): every object closed, every
//!   property required with optional ones made nullable, `oneOf` as `anyOf`, `$ref` siblings inlined, keywords
//!   and formats outside the strict subset dropped.
//! - [`anthropic`]: Anthropic structured outputs: objects closed, `oneOf` as `anyOf`, unsupported constraints
//!   moved into the description (as LiteLLM's `filter_anthropic_output_schema` and the SDK's `transform_schema`).
//! - [`gemini_json_schema`]: Gemini `responseJsonSchema` (2.x and later): the honoured subset, `const` as `enum`.
//! - [`gemini_openapi`]: Gemini `responseSchema` (older models): the OpenAPI 3.0 subset, refs inlined,
//!   `nullable` instead of `null` types, upper-case type names, `propertyOrdering`.

use llm_core::{Adjustment, AdjustmentKind, ChatRequest, ResponseFormat, Tool};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// One change a dialect rewrite made, at a JSON pointer into the original schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DialectChange {
    /// Where in the schema.
    pub pointer: String,
    /// What was done.
    #[serde(flatten)]
    pub kind: ChangeKind,
}

/// What a rewrite did at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// A keyword the provider rejects was removed.
    Dropped {
        /// The keyword.
        keyword: String,
        /// Its value, as JSON text.
        value: String,
    },
    /// A constraint was removed and written into the description instead.
    MovedToDescription {
        /// The keyword.
        keyword: String,
        /// Its value, as JSON text.
        value: String,
    },
    /// `additionalProperties: false` was set on an object.
    Closed,
    /// An optional property was made required and nullable.
    MadeRequiredNullable {
        /// The property.
        property: String,
    },
    /// A keyword was replaced by an equivalent one.
    Replaced {
        /// The keyword removed.
        from: String,
        /// The keyword written.
        to: String,
    },
    /// A `$ref` was replaced by the schema it points to.
    InlinedRef {
        /// The reference.
        reference: String,
    },
    /// A recursive reference could not be expressed and was cut.
    CutRecursion {
        /// The reference.
        reference: String,
    },
}

/// A rewritten schema and what the rewrite changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Rewritten {
    /// The schema to send.
    pub schema: Value,
    /// Every change, in walk order.
    pub changes: Vec<DialectChange>,
}

impl DialectChange {
    /// This change as an [`Adjustment`] of the schema named `schema` (`response_format` or `tools/NAME`).
    pub fn to_adjustment(&self, schema: &str) -> Adjustment {
        let at = |kind| Adjustment::schema_change(kind, schema, self.pointer.as_str());
        match &self.kind {
            ChangeKind::Dropped { keyword, value } => {
                at(AdjustmentKind::SchemaKeywordDropped).with_keyword(keyword.as_str()).with_detail(value.as_str())
            }
            ChangeKind::MovedToDescription { keyword, value } => {
                at(AdjustmentKind::SchemaMovedToDescription).with_keyword(keyword.as_str()).with_detail(value.as_str())
            }
            ChangeKind::Closed => {
                at(AdjustmentKind::SchemaObjectClosed).with_keyword("additionalProperties").with_detail("set to false")
            }
            ChangeKind::MadeRequiredNullable { property } => {
                at(AdjustmentKind::SchemaMadeRequiredNullable).with_detail(property.as_str())
            }
            ChangeKind::Replaced { from, to } => {
                at(AdjustmentKind::SchemaKeywordReplaced).with_keyword(from.as_str()).with_detail(format!("as {to}"))
            }
            ChangeKind::InlinedRef { reference } => {
                at(AdjustmentKind::SchemaRefInlined).with_keyword("$ref").with_detail(reference.as_str())
            }
            ChangeKind::CutRecursion { reference } => {
                at(AdjustmentKind::SchemaRecursionCut).with_keyword("$ref").with_detail(reference.as_str())
            }
        }
    }
}

/// The adjustments a dialect makes to a request's schemas: the JSON-schema response format through
/// `response_format`, and each tool's parameters through `tool` (`None` to leave a tool as it is). The
/// adapters' encoders apply the same rewrites; this reports them.
pub fn request_adjustments(
    request: &ChatRequest,
    response_format: Option<NodeRewrite>,
    tool: impl Fn(&Tool) -> Option<NodeRewrite>,
) -> Vec<Adjustment> {
    let mut out = Vec::new();
    if let (Some(f), Some(ResponseFormat::JsonSchema(s))) = (response_format, &request.response_format) {
        out.extend(f(&s.schema).changes.iter().map(|c| c.to_adjustment("response_format")));
    }
    for t in &request.tools {
        if let Some(f) = tool(t) {
            let name = format!("tools/{}", t.name);
            out.extend(f(&t.parameters).changes.iter().map(|c| c.to_adjustment(&name)));
        }
    }
    out
}

/// A whole-schema rewrite: [`openai_strict`], [`anthropic`], [`gemini_json_schema`] or [`gemini_openapi`].
pub type NodeRewrite = fn(&Value) -> Rewritten;

/// Walks a whole schema with one dialect's node rewrite.
fn rewrite(schema: &Value, f: NodeFn) -> Rewritten {
    let mut w = Walker { root: schema, changes: Vec::new() };
    let out = f(&mut w, schema, "", true);
    Rewritten { schema: out, changes: w.changes }
}

fn text(v: &Value) -> String {
    v.to_string()
}

struct Walker<'a> {
    root: &'a Value,
    changes: Vec<DialectChange>,
}

impl Walker<'_> {
    fn change(&mut self, pointer: &str, kind: ChangeKind) {
        self.changes.push(DialectChange { pointer: pointer.to_owned(), kind });
    }

    /// Rewrites `oneOf` as `anyOf` (what every provider here accepts).
    fn one_of_to_any_of(&mut self, o: &mut Map<String, Value>, pointer: &str) {
        if let Some(one) = o.remove("oneOf") {
            self.change(pointer, ChangeKind::Replaced { from: "oneOf".into(), to: "anyOf".into() });
            o.insert("anyOf".into(), one);
        }
    }

    /// Rewrites `const` as a one-value `enum`.
    fn const_to_enum(&mut self, o: &mut Map<String, Value>, pointer: &str) {
        if let Some(c) = o.remove("const") {
            self.change(pointer, ChangeKind::Replaced { from: "const".into(), to: "enum".into() });
            o.insert("enum".into(), json!([c]));
        }
    }

    /// Drops the root's `$schema` dialect URI.
    fn drop_schema_uri(&mut self, o: &mut Map<String, Value>, pointer: &str, is_root: bool) {
        if is_root && o.remove("$schema").is_some() {
            self.change(pointer, ChangeKind::Dropped { keyword: "$schema".into(), value: "(dialect uri)".into() });
        }
    }

    /// Rewrites every property's schema with `f`.
    fn properties(&mut self, o: &mut Map<String, Value>, pointer: &str, f: NodeFn) {
        if let Some(Value::Object(props)) = o.get("properties").cloned() {
            let base = child(pointer, "properties");
            let out: Map<String, Value> =
                props.iter().map(|(n, p)| (n.clone(), f(self, p, &child(&base, n), false))).collect();
            o.insert("properties".into(), Value::Object(out));
        }
    }

    /// Resolves a local `#/$defs/X` (or `#/definitions/X`, or `#`) reference against the root.
    fn resolve(&self, reference: &str) -> Option<Value> {
        let path = reference.strip_prefix('#')?;
        if path.is_empty() {
            return Some(self.root.clone());
        }
        self.root.pointer(path).cloned()
    }
}

fn is_object_schema(o: &Map<String, Value>) -> bool {
    match o.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
        _ => o.contains_key("properties"),
    }
}

fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Merges `extra` keys into `base` (keys of `extra` win).
fn merge(base: Value, extra: &Map<String, Value>) -> Value {
    let mut base = match base {
        Value::Object(o) => o,
        other => return other,
    };
    for (k, v) in extra {
        base.insert(k.clone(), v.clone());
    }
    Value::Object(base)
}

fn make_nullable(schema: Value) -> Value {
    match schema {
        Value::Object(mut o) => {
            let has_null = |v: &Value| v == "null";
            match o.get_mut("type") {
                Some(Value::String(t)) if t != "null" => {
                    let t = std::mem::take(t);
                    o.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(e)) = o.get_mut("enum")
                        && !e.iter().any(Value::is_null)
                    {
                        e.push(Value::Null);
                    }
                    Value::Object(o)
                }
                Some(Value::Array(ts)) => {
                    if !ts.iter().any(has_null) {
                        ts.push("null".into());
                    }
                    Value::Object(o)
                }
                _ => json!({"anyOf": [Value::Object(o), {"type": "null"}]}),
            }
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------------------
// OpenAI strict

const OPENAI_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

const OPENAI_FORMATS: &[&str] = &["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"];

/// Rewrites a schema for OpenAI's strict mode (PROVIDERS.md §3.6).
///
/// ```
/// use serde_json::json;
/// let r = llm_providers::dialect::openai_strict(&json!({
///     "type": "object",
///     "properties": {"name": {"type": "string"}, "age": {"type": "integer", "format": "uint8"}},
///     "required": ["name"]
/// }));
/// assert_eq!(r.schema["required"], json!(["name", "age"])); // every property, in the schema's order
/// assert_eq!(r.schema["properties"]["age"]["type"], json!(["integer", "null"]));
/// assert_eq!(r.schema["additionalProperties"], json!(false));
/// assert_eq!(r.changes.len(), 3); // closed, made age required+nullable, dropped format uint8
/// ```
pub fn openai_strict(schema: &Value) -> Rewritten {
    rewrite(schema, openai_node)
}

fn openai_node(w: &mut Walker<'_>, node: &Value, ptr: &str, is_root: bool) -> Value {
    let Value::Object(o) = node else { return node.clone() };
    let mut o = o.clone();
    // A $ref with siblings is inlined (siblings win); a bare $ref stays.
    if let Some(Value::String(r)) = o.get("$ref").cloned() {
        let siblings: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| k.as_str() != "$ref" && k.as_str() != "$defs")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !siblings.is_empty()
            && let Some(target) = w.resolve(&r)
        {
            w.change(ptr, ChangeKind::InlinedRef { reference: r.clone() });
            let defs = o.remove("$defs");
            let mut merged = merge(target, &siblings);
            if let (Some(d), Value::Object(m)) = (defs, &mut merged) {
                m.insert("$defs".into(), d);
            }
            return openai_node(w, &merged, ptr, is_root);
        }
    }
    // A single-element allOf collapses into its parent.
    if let Some(Value::Array(all)) = o.get("allOf").cloned()
        && all.len() == 1
    {
        o.remove("allOf");
        w.change(ptr, ChangeKind::Replaced { from: "allOf".into(), to: "(merged)".into() });
        if let Value::Object(inner) = &all[0] {
            for (k, v) in inner {
                o.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    w.one_of_to_any_of(&mut o, ptr);
    w.drop_schema_uri(&mut o, ptr, is_root);
    if let Some(Value::String(f)) = o.get("format")
        && !OPENAI_FORMATS.contains(&f.as_str())
    {
        let f = f.clone();
        o.remove("format");
        w.change(ptr, ChangeKind::Dropped { keyword: "format".into(), value: text(&Value::String(f)) });
    }
    let keys: Vec<String> = o.keys().cloned().collect();
    for k in keys {
        if !OPENAI_KEYWORDS.contains(&k.as_str())
            && let Some(v) = o.remove(&k)
        {
            w.change(ptr, ChangeKind::Dropped { keyword: k, value: text(&v) });
        }
    }
    if is_object_schema(&o) {
        if o.get("additionalProperties") != Some(&Value::Bool(false)) {
            o.insert("additionalProperties".into(), Value::Bool(false));
            w.change(ptr, ChangeKind::Closed);
        }
        let required: Vec<String> = o
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some(Value::Object(props)) = o.get("properties").cloned() {
            let mut new_props = Map::new();
            let mut all = Vec::new();
            for (name, p) in &props {
                let pp = child(&child(ptr, "properties"), name);
                let mut rewritten = openai_node(w, p, &pp, false);
                if !required.contains(name) {
                    rewritten = make_nullable(rewritten);
                    w.change(&pp, ChangeKind::MadeRequiredNullable { property: name.clone() });
                }
                all.push(Value::String(name.clone()));
                new_props.insert(name.clone(), rewritten);
            }
            o.insert("properties".into(), Value::Object(new_props));
            o.insert("required".into(), Value::Array(all));
        } else {
            o.insert("properties".into(), json!({}));
            o.insert("required".into(), json!([]));
        }
    }
    recurse_common(w, &mut o, ptr, openai_node);
    Value::Object(o)
}

type NodeFn = fn(&mut Walker<'_>, &Value, &str, bool) -> Value;

fn recurse_common(w: &mut Walker<'_>, o: &mut Map<String, Value>, ptr: &str, f: NodeFn) {
    if let Some(items) = o.get("items").cloned()
        && items.is_object()
    {
        o.insert("items".into(), f(w, &items, &child(ptr, "items"), false));
    }
    for key in ["anyOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(xs)) = o.get(key).cloned() {
            let base = child(ptr, key);
            let out: Vec<Value> =
                xs.iter().enumerate().map(|(i, x)| f(w, x, &child(&base, &i.to_string()), false)).collect();
            o.insert(key.into(), Value::Array(out));
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = o.get(key).cloned() {
            let base = child(ptr, key);
            let out: Map<String, Value> =
                defs.iter().map(|(n, d)| (n.clone(), f(w, d, &child(&base, n), false))).collect();
            o.insert(key.into(), Value::Object(out));
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Anthropic

const ANTHROPIC_FORMATS: &[&str] =
    &["date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"];

const ANTHROPIC_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "format",
    "pattern",
    "minItems",
];

/// Rewrites a schema for Anthropic structured outputs and strict tools (PROVIDERS.md §5.6).
pub fn anthropic(schema: &Value) -> Rewritten {
    rewrite(schema, anthropic_node)
}

fn anthropic_node(w: &mut Walker<'_>, node: &Value, ptr: &str, is_root: bool) -> Value {
    let Value::Object(o) = node else { return node.clone() };
    let mut o = o.clone();
    w.one_of_to_any_of(&mut o, ptr);
    w.drop_schema_uri(&mut o, ptr, is_root);
    let mut notes = Vec::new();
    if let Some(Value::String(f)) = o.get("format")
        && !ANTHROPIC_FORMATS.contains(&f.as_str())
    {
        let v = o.remove("format").unwrap_or(Value::Null);
        // Formats that merely describe number widths carry no meaning for the model: drop them silently.
        w.change(ptr, ChangeKind::Dropped { keyword: "format".into(), value: text(&v) });
    }
    if let Some(n) = o.get("minItems").and_then(Value::as_u64)
        && n > 1
    {
        let v = o.remove("minItems").unwrap_or(Value::Null);
        notes.push(("minItems".to_owned(), v));
    }
    let keys: Vec<String> = o.keys().cloned().collect();
    for k in keys {
        if !ANTHROPIC_KEYWORDS.contains(&k.as_str())
            && let Some(v) = o.remove(&k)
        {
            notes.push((k, v));
        }
    }
    if !notes.is_empty() {
        let mut desc = o.get("description").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut note = Map::new();
        for (k, v) in notes {
            w.change(ptr, ChangeKind::MovedToDescription { keyword: k.clone(), value: text(&v) });
            note.insert(k, v);
        }
        if !desc.is_empty() {
            desc.push(' ');
        }
        desc.push_str(&Value::Object(note).to_string());
        o.insert("description".into(), Value::String(desc));
    }
    if is_object_schema(&o) && o.get("additionalProperties") != Some(&Value::Bool(false)) {
        o.insert("additionalProperties".into(), Value::Bool(false));
        w.change(ptr, ChangeKind::Closed);
    }
    w.properties(&mut o, ptr, anthropic_node);
    recurse_common(w, &mut o, ptr, anthropic_node);
    Value::Object(o)
}

// ---------------------------------------------------------------------------------------------------------
// Gemini

const GEMINI_JSON_KEYWORDS: &[&str] = &[
    "$id",
    "$defs",
    "$ref",
    "$anchor",
    "type",
    "format",
    "title",
    "description",
    "enum",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "anyOf",
    "oneOf",
    "properties",
    "additionalProperties",
    "required",
    "propertyOrdering",
];

/// Rewrites a schema for Gemini's `responseJsonSchema` (Gemini 2.x and later; PROVIDERS.md §6.6): the keys it
/// honours, `const` as a one-value `enum`, and `$ref` without sibling keys.
pub fn gemini_json_schema(schema: &Value) -> Rewritten {
    rewrite(schema, gemini_json_node)
}

fn gemini_json_node(w: &mut Walker<'_>, node: &Value, ptr: &str, _is_root: bool) -> Value {
    let Value::Object(o) = node else { return node.clone() };
    let mut o = o.clone();
    w.const_to_enum(&mut o, ptr);
    let has_ref = o.contains_key("$ref");
    let keys: Vec<String> = o.keys().cloned().collect();
    for k in keys {
        let keep = if has_ref { k.starts_with('$') } else { GEMINI_JSON_KEYWORDS.contains(&k.as_str()) };
        if !keep && let Some(v) = o.remove(&k) {
            w.change(ptr, ChangeKind::Dropped { keyword: k, value: text(&v) });
        }
    }
    w.properties(&mut o, ptr, gemini_json_node);
    for key in ["oneOf"] {
        if let Some(Value::Array(xs)) = o.get(key).cloned() {
            let base = child(ptr, key);
            let out: Vec<Value> = xs
                .iter()
                .enumerate()
                .map(|(i, x)| gemini_json_node(w, x, &child(&base, &i.to_string()), false))
                .collect();
            o.insert(key.into(), Value::Array(out));
        }
    }
    recurse_common(w, &mut o, ptr, gemini_json_node);
    Value::Object(o)
}

const GEMINI_OPENAPI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "propertyOrdering",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "anyOf",
    "default",
    "example",
];

/// The formats Gemini's OpenAPI schema takes.
const GEMINI_OPENAPI_FORMATS: &[&str] = &["int32", "int64", "float", "double", "enum", "date-time"];

/// How deep a recursive `$ref` is unrolled for Gemini's OpenAPI schema before it is cut.
pub const GEMINI_MAX_REF_DEPTH: usize = 3;

/// Rewrites a schema for Gemini's `responseSchema` (the OpenAPI 3.0 subset older models take): refs inlined
/// (recursion unrolled [`GEMINI_MAX_REF_DEPTH`] levels, then cut), `null` in `type` or `anyOf` as
/// `nullable: true`, upper-case type names, `const` as `enum`, and `propertyOrdering` from the property order.
pub fn gemini_openapi(schema: &Value) -> Rewritten {
    let mut w = Walker { root: schema, changes: Vec::new() };
    let out = gemini_openapi_node(&mut w, schema, "", 0).unwrap_or_else(|| json!({"type": "OBJECT"}));
    Rewritten { schema: out, changes: w.changes }
}

fn gemini_openapi_node(w: &mut Walker<'_>, node: &Value, ptr: &str, depth: usize) -> Option<Value> {
    let Value::Object(o) = node else { return Some(node.clone()) };
    let mut o = o.clone();
    if let Some(Value::String(r)) = o.get("$ref").cloned() {
        if depth >= GEMINI_MAX_REF_DEPTH {
            w.change(ptr, ChangeKind::CutRecursion { reference: r });
            return None;
        }
        let target = w.resolve(&r)?;
        w.change(ptr, ChangeKind::InlinedRef { reference: r });
        let siblings: Map<String, Value> =
            o.iter().filter(|(k, _)| k.as_str() != "$ref").map(|(k, v)| (k.clone(), v.clone())).collect();
        return gemini_openapi_node(w, &merge(target, &siblings), ptr, depth + 1);
    }
    for k in ["$defs", "definitions", "$schema"] {
        if o.remove(k).is_some() && k != "$schema" {
            w.change(ptr, ChangeKind::Dropped { keyword: k.into(), value: "(inlined)".into() });
        }
    }
    w.one_of_to_any_of(&mut o, ptr);
    w.const_to_enum(&mut o, ptr);
    // null in a type list or an anyOf becomes `nullable`.
    if let Some(Value::Array(ts)) = o.get("type").cloned() {
        let non_null: Vec<Value> = ts.iter().filter(|t| *t != "null").cloned().collect();
        if non_null.len() < ts.len() {
            o.insert("nullable".into(), Value::Bool(true));
            w.change(ptr, ChangeKind::Replaced { from: "type null".into(), to: "nullable".into() });
        }
        match non_null.as_slice() {
            [one] => {
                o.insert("type".into(), one.clone());
            }
            many => {
                o.remove("type");
                o.insert("anyOf".into(), Value::Array(many.iter().map(|t| json!({"type": t})).collect()));
            }
        }
    }
    if let Some(Value::Array(any)) = o.get("anyOf").cloned() {
        let non_null: Vec<Value> = any.iter().filter(|s| s.get("type") != Some(&json!("null"))).cloned().collect();
        if non_null.len() < any.len() {
            o.insert("nullable".into(), Value::Bool(true));
            w.change(ptr, ChangeKind::Replaced { from: "anyOf null".into(), to: "nullable".into() });
            if let [one] = non_null.as_slice() {
                o.remove("anyOf");
                let inner = gemini_openapi_node(w, one, &child(ptr, "anyOf"), depth)?;
                if let Value::Object(inner) = inner {
                    for (k, v) in inner {
                        o.entry(k).or_insert(v);
                    }
                }
            } else {
                o.insert("anyOf".into(), Value::Array(non_null));
            }
        }
    }
    if let Some(Value::String(f)) = o.get("format")
        && !GEMINI_OPENAPI_FORMATS.contains(&f.as_str())
    {
        let v = o.remove("format").unwrap_or(Value::Null);
        w.change(ptr, ChangeKind::Dropped { keyword: "format".into(), value: text(&v) });
    }
    if let Some(Value::Array(e)) = o.get("enum")
        && !e.iter().all(|v| v.is_string() || v.is_null())
    {
        let v = o.remove("enum").unwrap_or(Value::Null);
        w.change(ptr, ChangeKind::Dropped { keyword: "enum".into(), value: text(&v) });
    }
    let keys: Vec<String> = o.keys().cloned().collect();
    for k in keys {
        if !GEMINI_OPENAPI_KEYWORDS.contains(&k.as_str())
            && let Some(v) = o.remove(&k)
        {
            w.change(ptr, ChangeKind::Dropped { keyword: k, value: text(&v) });
        }
    }
    if let Some(Value::String(t)) = o.get("type") {
        let upper = t.to_ascii_uppercase();
        o.insert("type".into(), Value::String(upper));
    }
    if let Some(Value::Object(props)) = o.get("properties").cloned() {
        let base = child(ptr, "properties");
        let mut out = Map::new();
        let mut order = Vec::new();
        for (n, p) in &props {
            if let Some(v) = gemini_openapi_node(w, p, &child(&base, n), depth) {
                order.push(Value::String(n.clone()));
                out.insert(n.clone(), v);
            }
        }
        if let Some(Value::Array(req)) = o.get_mut("required") {
            req.retain(|r| r.as_str().is_some_and(|r| out.contains_key(r)));
        }
        o.insert("properties".into(), Value::Object(out));
        o.insert("propertyOrdering".into(), Value::Array(order));
    }
    if let Some(items) = o.get("items").cloned()
        && items.is_object()
    {
        match gemini_openapi_node(w, &items, &child(ptr, "items"), depth) {
            Some(v) => {
                o.insert("items".into(), v);
            }
            None => {
                o.insert("items".into(), json!({"type": "OBJECT"}));
            }
        }
    }
    if let Some(Value::Array(xs)) = o.get("anyOf").cloned() {
        let base = child(ptr, "anyOf");
        let out: Vec<Value> = xs
            .iter()
            .enumerate()
            .filter_map(|(i, x)| gemini_openapi_node(w, x, &child(&base, &i.to_string()), depth))
            .collect();
        o.insert("anyOf".into(), Value::Array(out));
    }
    Some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_inlines_refs_with_siblings_and_keeps_bare_refs() {
        let s = json!({
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/P", "description": "the a"},
                "b": {"$ref": "#/$defs/P"}
            },
            "required": ["a", "b"],
            "$defs": {"P": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}
        });
        let r = openai_strict(&s);
        assert_eq!(r.schema["properties"]["a"]["description"], "the a");
        assert_eq!(r.schema["properties"]["a"]["additionalProperties"], false);
        assert_eq!(r.schema["properties"]["b"], json!({"$ref": "#/$defs/P"}));
        assert_eq!(r.schema["$defs"]["P"]["additionalProperties"], false);
    }

    #[test]
    fn anthropic_moves_constraints_into_description() {
        let r = anthropic(&json!({"type": "string", "minLength": 2, "description": "a code"}));
        assert_eq!(r.schema, json!({"type": "string", "description": "a code {\"minLength\":2}"}));
        assert_eq!(r.changes.len(), 1);
    }

    #[test]
    fn gemini_openapi_cuts_recursion() {
        let s = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
            "required": ["name"]
        });
        let r = gemini_openapi(&s);
        assert!(r.changes.iter().any(|c| matches!(c.kind, ChangeKind::CutRecursion { .. })));
        assert_eq!(r.schema["type"], "OBJECT");
        assert_eq!(r.schema["properties"]["children"]["items"]["type"], "OBJECT");
    }
}
