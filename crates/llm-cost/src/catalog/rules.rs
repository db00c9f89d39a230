//! The price file's `fallback_generalizations`: regex rules that route unknown names to a provider, or give
//! unknown (and, for flagged rules, known) models capability facts.
//!
//! Semantics follow LiteLLM 1.110.2 (`litellm_core_utils/fallback_generalizations.py`):
//! - a *routing* rule's `model_info` is exactly `{"litellm_provider": "<name>"}`; the first matching routing
//!   rule names the provider of a name nothing else resolves;
//! - any other rule is a *capability* rule; the `model_info` of every matching capability rule is unioned in
//!   file order (later wins) for a model no key matches;
//! - capability rules with `fill_missing_for_providers` also fill the fields a mapped row of a listed provider
//!   leaves out (chat and responses rows only);
//! - malformed rules (no pattern, a pattern this crate cannot compile, `extends`, mixed kinds) are skipped.

use crate::exact::{self, Json};
use crate::pattern::Pattern;

#[derive(Debug, Clone)]
pub(crate) struct RoutingRule {
    pub(crate) regex: Pattern,
    pub(crate) provider: String,
}

#[derive(Debug, Clone)]
pub(crate) struct CapabilityRule {
    pub(crate) regex: Pattern,
    /// The rule's `model_info` as a JSON object (canonical text), merged member by member.
    pub(crate) members: Vec<(String, String)>,
    pub(crate) fill_missing_for: Vec<String>,
}

/// The compiled rules, and the ones that were skipped (with why).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub(crate) routing: Vec<RoutingRule>,
    pub(crate) capability: Vec<CapabilityRule>,
    pub(crate) skipped: Vec<String>,
}

impl Rules {
    /// Compiles the `fallback_generalizations` block (`{"rules": [...]}`).
    pub(crate) fn from_json(block: &Json<'_>) -> Rules {
        let mut rules = Rules::default();
        let Some(Json::Arr(items)) = block.get("rules") else {
            if !matches!(block, Json::Null) {
                rules.skipped.push("fallback_generalizations has no `rules` list".to_owned());
            }
            return rules;
        };
        for (i, rule) in items.iter().enumerate() {
            let label = rule.get("name").and_then(Json::as_str).map_or_else(|| format!("#{i}"), str::to_owned);
            match compile(rule) {
                Ok(Compiled::Routing(r)) => rules.routing.push(r),
                Ok(Compiled::Capability(c)) => rules.capability.push(c),
                Err(why) => rules.skipped.push(format!("rule {label}: {why}")),
            }
        }
        rules
    }

    /// The provider of the first routing rule matching `model`.
    pub(crate) fn route(&self, model: &str) -> Option<&str> {
        if model.is_empty() {
            return None;
        }
        self.routing.iter().find(|r| r.regex.is_match(model)).map(|r| r.provider.as_str())
    }

    /// The union of every matching capability rule's fields (later rules win), `None` when none matches.
    pub(crate) fn capabilities(&self, model: &str) -> Option<Vec<(String, String)>> {
        if model.is_empty() {
            return None;
        }
        let mut out: Vec<(String, String)> = Vec::new();
        let mut any = false;
        for rule in self.capability.iter().filter(|r| r.regex.is_match(model)) {
            any = true;
            merge(&mut out, &rule.members);
        }
        any.then_some(out)
    }

    /// The fields flagged rules for `provider` add to a mapped row named `key`, `None` when none matches.
    pub(crate) fn fill_missing(&self, key: &str, provider: &str) -> Option<Vec<(String, String)>> {
        if key.is_empty() || provider.is_empty() {
            return None;
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for rule in &self.capability {
            if rule.fill_missing_for.iter().any(|p| p == provider) && rule.regex.is_match(key) {
                merge(&mut out, &rule.members);
            }
        }
        (!out.is_empty()).then_some(out)
    }
}

fn merge(out: &mut Vec<(String, String)>, members: &[(String, String)]) {
    for (k, v) in members {
        match out.iter_mut().find(|(ok, _)| ok == k) {
            Some(slot) => slot.1.clone_from(v),
            None => out.push((k.clone(), v.clone())),
        }
    }
}

enum Compiled {
    Routing(RoutingRule),
    Capability(CapabilityRule),
}

fn compile(rule: &Json<'_>) -> Result<Compiled, String> {
    if !matches!(rule, Json::Obj(_)) {
        return Err("not an object".to_owned());
    }
    let pattern = rule.get("pattern").and_then(Json::as_str).ok_or("no string `pattern`")?;
    let model_info = rule.get("model_info").filter(|m| matches!(m, Json::Obj(_))).ok_or("no object `model_info`")?;
    if rule.get("extends").is_some() {
        return Err("`extends` is the old rule format".to_owned());
    }
    let regex = Pattern::new(pattern).map_err(|e| format!("pattern {pattern:?}: {e}"))?;
    let fill_missing_for = match rule.get("fill_missing_for_providers") {
        None => Vec::new(),
        Some(Json::Arr(ps)) => {
            let names: Vec<String> = ps.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
            if names.len() != ps.len() {
                return Err("`fill_missing_for_providers` must be a list of strings".to_owned());
            }
            names
        }
        Some(_) => return Err("`fill_missing_for_providers` must be a list of strings".to_owned()),
    };
    let members: Vec<(String, String)> = exact::sorted_members(model_info)
        .into_iter()
        .map(|(k, v)| {
            let mut text = String::new();
            exact::write_canonical(&mut text, v);
            (k.to_owned(), text)
        })
        .collect();
    match model_info.get("litellm_provider") {
        None => Ok(Compiled::Capability(CapabilityRule { regex, members, fill_missing_for })),
        Some(Json::Str(p)) if members.len() == 1 => {
            Ok(Compiled::Routing(RoutingRule { regex, provider: p.to_string() }))
        }
        Some(Json::Str(_)) => Err("`litellm_provider` must be the only key of a routing rule".to_owned()),
        Some(_) => Err("`litellm_provider` must be a string".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_classify_and_match() {
        let block = exact::parse(
            r#"{"rules": [
                {"name": "r", "pattern": "^claude-[a-z]+-\\d+$", "model_info": {"litellm_provider": "anthropic"}},
                {"name": "c1", "pattern": "claude-", "model_info": {"mode": "chat", "max_input_tokens": 200000},
                 "fill_missing_for_providers": ["anthropic"]},
                {"name": "c2", "pattern": "claude-x", "model_info": {"max_input_tokens": 100}},
                {"name": "bad", "pattern": "(?<=x", "model_info": {}},
                {"name": "mixed", "pattern": "x", "model_info": {"litellm_provider": "a", "mode": "chat"}},
                {"name": "old", "pattern": "x", "model_info": {}, "extends": "y"}
            ]}"#,
        )
        .unwrap();
        let rules = Rules::from_json(&block);
        assert_eq!(rules.routing.len(), 1);
        assert_eq!(rules.capability.len(), 2);
        assert_eq!(rules.skipped.len(), 3, "{:?}", rules.skipped);
        assert_eq!(rules.route("claude-newfamily-5"), Some("anthropic"));
        assert_eq!(rules.route("claude-newfamily-5-x"), None);
        let caps = rules.capabilities("Claude-x-1").unwrap();
        assert_eq!(caps, vec![("max_input_tokens".into(), "100".into()), ("mode".into(), "\"chat\"".into())]);
        assert!(rules.fill_missing("claude-y", "anthropic").is_some());
        assert!(rules.fill_missing("claude-y", "openai").is_none());
    }
}
