//! AWS Signature Version 4, recomputed on the server side from a received request, so a test can check that a
//! client signed what it sent. Written from the steps of AWS's documentation ("Create a canonical request",
//! "Create a string to sign", "Calculate the signature"), independently of the `aws-sigv4` crate the clients
//! use; `llm-providers`' tests check it against AWS's published test-suite vectors before trusting it.
//!
//! Scope: the header form (`Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`),
//! non-S3 services (each path segment URI-encoded again, as AWS requires for every service but S3), the payload
//! hash from `x-amz-content-sha256` when present, else the SHA-256 of the body.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::RecordedRequest;

/// What the server recomputed, for the test to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recomputed {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The signature, lowercase hex.
    pub signature: String,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// The region.
    pub region: String,
    /// The signing name of the service.
    pub service: String,
    /// The signed header names, lowercase, in the header's order.
    pub signed_headers: Vec<String>,
    /// The signature sent.
    pub signature: String,
}

impl Authorization {
    /// Reads the header's value; `None` when it is not a SigV4 header-form value.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',').map(str::trim) {
            let (k, v) = part.split_once('=')?;
            match k {
                "Credential" => credential = Some(v),
                "SignedHeaders" => signed = Some(v),
                "Signature" => signature = Some(v),
                _ => return None,
            }
        }
        let mut scope = credential?.split('/');
        let (id, date, region, service, terminator) =
            (scope.next()?, scope.next()?, scope.next()?, scope.next()?, scope.next()?);
        if terminator != "aws4_request" || scope.next().is_some() {
            return None;
        }
        Some(Self {
            access_key_id: id.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers: signed?.split(';').map(str::to_owned).collect(),
            signature: signature?.to_owned(),
        })
    }

    /// The credential scope, `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/aws4_request", self.date, self.region, self.service)
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// URI-encodes every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`), as SigV4 does; `/` is kept when
/// `keep_slash`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes a query component (`+` is a literal plus, as SigV4 reads it).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|c| char::from(*c).to_digit(16));
        match (bytes[i], hex_at(i + 1), hex_at(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The canonical request of a non-S3 service: the method; the path as received with each segment encoded
/// again (an empty path is `/`); the query's pairs decoded, re-encoded and sorted; the signed headers
/// (lowercase names, values trimmed with inner runs of spaces collapsed, repeated headers joined by commas);
/// the signed header list; the payload hash.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    signed: &[String],
    payload_hash: &str,
) -> String {
    let path = if path.is_empty() { "/".to_owned() } else { uri_encode(path, true) };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (uri_encode(&decode(k), false), uri_encode(&decode(v), false))
        })
        .collect();
    pairs.sort();
    let query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_headers = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!("{method}\n{path}\n{query}\n{canonical_headers}\n{}\n{payload_hash}", signed.join(";"))
}

/// The string to sign.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// The signature of `string_to_sign` with the key derived from `secret` for this date, region and service.
pub fn signature(secret: &str, date: &str, region: &str, service: &str, string_to_sign: &str) -> String {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex(&hmac(&k_signing, string_to_sign.as_bytes()))
}

/// Recomputes the signature of a received request from its `Authorization` and `x-amz-date` headers and
/// the secret key; the test compares [`Recomputed::signature`] with the one sent. An error names what is
/// missing or malformed.
pub fn recompute(req: &RecordedRequest, secret: &str) -> Result<(Authorization, Recomputed), String> {
    let auth = req.header("authorization").ok_or("no authorization header")?;
    let auth = Authorization::parse(auth).ok_or_else(|| format!("not a sigv4 authorization header: {auth}"))?;
    let amz_date = req.header("x-amz-date").ok_or("no x-amz-date header")?;
    if !amz_date.starts_with(&auth.date) {
        return Err(format!("x-amz-date {amz_date} is not on the credential's date {}", auth.date));
    }
    let payload_hash = req.header("x-amz-content-sha256").map_or_else(|| sha256_hex(&req.body), str::to_owned);
    let canonical_request =
        canonical_request(&req.method, &req.path, &req.query, &req.headers, &auth.signed_headers, &payload_hash);
    let string_to_sign = string_to_sign(amz_date, &auth.scope(), &canonical_request);
    let signature = signature(secret, &auth.date, &auth.region, &auth.service, &string_to_sign);
    Ok((auth, Recomputed { canonical_request, string_to_sign, signature }))
}
