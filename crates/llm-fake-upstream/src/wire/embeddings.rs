//! Each provider's embeddings answer, for given vectors and token counts: OpenAI's `/v1/embeddings` (also
//! Azure, Mistral and the compatible family), Gemini's `:embedContent` and `:batchEmbedContents`, Ollama's
//! `/api/embed`, and Bedrock's InvokeModel answers of Titan and Cohere embed models.

use serde_json::{Value, json};

use crate::Reply;

/// OpenAI's `{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}`.
pub fn openai(vectors: &[Vec<f32>], prompt_tokens: u64) -> Reply {
    let data: Vec<Value> =
        vectors.iter().enumerate().map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v})).collect();
    Reply::json_value(
        200,
        &json!({"object": "list", "data": data, "model": "fake-embedding-model",
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}),
    )
}

/// OpenAI's answer to `encoding_format: "base64"`: each vector as base64 of its little-endian `f32` bytes.
pub fn openai_base64(vectors: &[Vec<f32>], prompt_tokens: u64) -> Reply {
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
            json!({"object": "embedding", "index": i, "embedding": base64(&bytes)})
        })
        .collect();
    Reply::json_value(
        200,
        &json!({"object": "list", "data": data, "model": "fake-embedding-model",
                "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}}),
    )
}

/// Gemini's `EmbedContentResponse`: `{"embedding": {"values"}}` (no usage).
pub fn gemini_one(vector: &[f32]) -> Reply {
    Reply::json_value(200, &json!({"embedding": {"values": vector}}))
}

/// Gemini's `BatchEmbedContentsResponse`: `{"embeddings": [{"values"}]}` (no usage).
pub fn gemini_batch(vectors: &[Vec<f32>]) -> Reply {
    let embeddings: Vec<Value> = vectors.iter().map(|v| json!({"values": v})).collect();
    Reply::json_value(200, &json!({"embeddings": embeddings}))
}

/// Ollama's `/api/embed` answer.
pub fn ollama(vectors: &[Vec<f32>], prompt_eval_count: u64) -> Reply {
    Reply::json_value(
        200,
        &json!({"model": "fake-embed", "embeddings": vectors, "total_duration": 14_143_917u64,
                "load_duration": 1_019_500u64, "prompt_eval_count": prompt_eval_count}),
    )
}

/// A Titan text embedding answer (one text), with Bedrock's token-count header as InvokeModel sends it.
pub fn titan(vector: &[f32], input_text_token_count: u64) -> Reply {
    Reply::json_value(
        200,
        &json!({"embedding": vector, "embeddingsByType": {"float": vector},
                "inputTextTokenCount": input_text_token_count}),
    )
    .header("x-amzn-bedrock-input-token-count", &input_text_token_count.to_string())
    .header("x-amzn-bedrock-invocation-latency", "42")
}

/// A Cohere embed answer on Bedrock (`response_type: embeddings_floats`); the token count travels only in the
/// `x-amzn-bedrock-input-token-count` header, left out when `input_tokens` is `None`.
pub fn cohere(vectors: &[Vec<f32>], texts: &[&str], input_tokens: Option<u64>) -> Reply {
    let reply = Reply::json_value(
        200,
        &json!({"id": "7c5a1f2e-fake", "embeddings": vectors, "texts": texts,
                "response_type": "embeddings_floats"}),
    );
    match input_tokens {
        Some(n) => reply.header("x-amzn-bedrock-input-token-count", &n.to_string()),
        None => reply,
    }
}

/// Standard base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(super::base64(input.as_bytes()), expected);
        }
    }
}
