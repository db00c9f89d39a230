//! A JSON schema, compiled once, with its name: from a Rust type or from a JSON value.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use llm_core::{JsonSchemaFormat, ResponseFormat};
use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::error::{Error, Violation};

/// A schema the reply must follow: the caller's original schema, its compiled validator, and a name and
/// description for the provider. Cheap to clone.
#[derive(Clone)]
pub struct SchemaSpec {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    description: Option<String>,
    schema: Value,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for SchemaSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSpec").field("name", &self.inner.name).field("schema", &self.inner.schema).finish()
    }
}

static BY_TYPE: LazyLock<Mutex<HashMap<TypeId, SchemaSpec>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Makes a provider-safe name: `[a-zA-Z0-9_-]`, at most 64 characters, never empty.
pub fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(64)
        .collect();
    if out.is_empty() {
        out.push_str("response");
    }
    out
}

impl SchemaSpec {
    /// The schema of a Rust type (schemars, draft 2020-12), compiled once per type and cached for the process.
    /// The name is the type's schema name; the description its doc comment, when it has one.
    pub fn of<T: JsonSchema + 'static>() -> Result<Self, Error> {
        let id = TypeId::of::<T>();
        if let Some(spec) = BY_TYPE.lock().unwrap_or_else(PoisonError::into_inner).get(&id) {
            return Ok(spec.clone());
        }
        let schema = schemars::schema_for!(T).to_value();
        let description = schema.get("description").and_then(Value::as_str).map(str::to_owned);
        let mut spec = Self::new(&T::schema_name(), schema)?;
        if let Some(d) = description {
            spec = spec.with_description(d);
        }
        BY_TYPE.lock().unwrap_or_else(PoisonError::into_inner).insert(id, spec.clone());
        Ok(spec)
    }

    /// A schema from a JSON value, compiled now. Fails on a schema that is not valid JSON schema.
    ///
    /// `format` is asserted (an `email` must look like one, a `date` must be a date), since a model's output is
    /// exactly where such mistakes appear; formats the validator does not know (schemars' `uint32`, `double`)
    /// are ignored.
    pub fn new(name: &str, schema: Value) -> Result<Self, Error> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| Error::invalid_schema(format!("invalid json schema {name:?}: {e}")))?;
        Ok(Self { inner: Arc::new(Inner { name: sanitize_name(name), description: None, schema, validator }) })
    }

    /// Sets the description.
    #[must_use]
    pub fn with_description(self, description: impl Into<String>) -> Self {
        let inner = &self.inner;
        let validator = inner.validator.clone();
        Self {
            inner: Arc::new(Inner {
                name: inner.name.clone(),
                description: Some(description.into()),
                schema: inner.schema.clone(),
                validator,
            }),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The description.
    pub fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }

    /// The caller's original schema.
    pub fn schema(&self) -> &Value {
        &self.inner.schema
    }

    /// True when the root of the schema describes an object (providers that need an object root get the
    /// schema as it is; others get it wrapped, see [`SchemaSpec::wire_schema`]).
    pub fn root_is_object(&self) -> bool {
        let s = &self.inner.schema;
        match s.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(_) => false,
            None => s.get("properties").is_some(),
        }
    }

    /// The schema sent to the provider: the original when its root is an object, else
    /// `{"type":"object","properties":{"value": <schema>},"required":["value"]}` (with `$defs` hoisted), which
    /// [`SchemaSpec::unwrap_value`] undoes.
    pub fn wire_schema(&self) -> Value {
        if self.root_is_object() {
            return self.inner.schema.clone();
        }
        let mut inner = self.inner.schema.clone();
        let defs = inner.as_object_mut().and_then(|o| o.remove("$defs"));
        if let Some(o) = inner.as_object_mut() {
            o.remove("$schema");
        }
        let mut wrapped = json!({
            "type": "object",
            "properties": {"value": inner},
            "required": ["value"],
            "additionalProperties": false,
        });
        if let (Some(defs), Some(o)) = (defs, wrapped.as_object_mut()) {
            o.insert("$defs".into(), defs);
        }
        wrapped
    }

    /// Undoes the wrapping of [`SchemaSpec::wire_schema`].
    pub fn unwrap_value(&self, value: Value) -> Value {
        if self.root_is_object() {
            return value;
        }
        match value {
            Value::Object(mut o) if o.len() == 1 && o.contains_key("value") => o.remove("value").unwrap_or(Value::Null),
            other => other,
        }
    }

    /// The response format that asks the provider for this schema (strict where the provider offers it).
    pub fn response_format(&self) -> ResponseFormat {
        let mut f = JsonSchemaFormat::new(self.name(), self.wire_schema()).with_strict(true);
        f.description = self.inner.description.clone();
        ResponseFormat::JsonSchema(f)
    }

    /// Validates a value against the original schema; every violation, with JSON pointers.
    pub fn validate(&self, value: &Value) -> Result<(), Vec<Violation>> {
        if self.inner.validator.is_valid(value) {
            return Ok(());
        }
        let violations: Vec<Violation> = self
            .inner
            .validator
            .iter_errors(value)
            .map(|e| Violation {
                pointer: e.instance_path().as_str().to_owned(),
                schema_path: e.schema_path().as_str().to_owned(),
                message: e.to_string(),
            })
            .collect();
        if violations.is_empty() { Ok(()) } else { Err(violations) }
    }
}
