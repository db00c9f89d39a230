//! Shared by the fuzz targets: one client per provider (never used to send anything).

use llm_core::ApiKey;
use llm_providers::{PROVIDERS, ProviderClient};

/// A client for every provider in the registry, pointed at a closed local port.
pub fn clients() -> Vec<ProviderClient> {
    PROVIDERS
        .iter()
        .filter_map(|spec| {
            ProviderClient::builder(spec.name)
                .api_key(ApiKey::new("fuzz-key-0123456789"))
                .api_base("http://127.0.0.1:9")
                .aws_region("us-east-1")
                .vertex_project("fuzz")
                .build()
                .ok()
        })
        .collect()
}
