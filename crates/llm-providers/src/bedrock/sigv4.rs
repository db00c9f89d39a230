//! SigV4 signing of Bedrock calls, through the `aws-sigv4` crate (feature `bedrock`), and its known answers:
//! AWS's published test-suite vectors (`test_data/aws-sigv4/`), which fix the credentials, the time, the
//! region and the service `service`, and Bedrock's own case.

use llm_core::{Error, Result};

use super::AwsCredentials;

/// What to sign: the method, the URL as it will be sent, the headers (the host comes from the URL when they
/// have none) and the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signable<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: &'a [u8],
}

/// The signing scope and options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    pub(crate) time: std::time::SystemTime,
    /// Send the payload hash as `x-amz-content-sha256` (and sign it); Bedrock does not need it.
    pub(crate) sign_body: bool,
}

/// The headers SigV4 adds (`x-amz-date`, `authorization`, and `x-amz-security-token` with temporary
/// credentials, `x-amz-content-sha256` when `sign_body`), in the signer's order.
pub(crate) fn headers(req: Signable<'_>, scope: Scope<'_>, c: &AwsCredentials) -> Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let fail = |e: &dyn std::fmt::Display| Error::config(format!("cannot sign the {} request: {e}", scope.service));
    let identity = aws_credential_types::Credentials::new(
        c.access_key_id.clone(),
        c.secret_access_key.expose().to_owned(),
        c.session_token.as_ref().map(|t| t.expose().to_owned()),
        None,
        "llm-providers",
    )
    .into();
    let mut settings = SigningSettings::default();
    if scope.sign_body {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(scope.time)
        .settings(settings)
        .build()
        .map_err(|e| fail(&e))?
        .into();
    let signable = SignableRequest::new(
        req.method,
        req.url,
        req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body),
    )
    .map_err(|e| fail(&e))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| fail(&e))?.into_parts();
    let (headers, _) = instructions.into_parts();
    Ok(headers.into_iter().map(|h| (h.name().to_owned(), h.value().to_owned())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use llm_core::ApiKey;
    use serde_json::Value;

    /// The cases vendored in `test_data/aws-sigv4/` (its README names the source), as
    /// `tests/bedrock_sigv4.rs` lists them too.
    fn vector_names() -> Vec<String> {
        let dir = format!("{}/test_data/aws-sigv4", env!("CARGO_MANIFEST_DIR"));
        let entries = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path());
        let mut cases: Vec<String> = entries
            .filter(|p| p.is_dir())
            .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .collect();
        cases.sort();
        cases
    }

    fn read(case: &str, file: &str) -> String {
        let path = format!("{}/test_data/aws-sigv4/{case}/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// `request.txt`: the request line, `Name:value` headers, a blank line, the body.
    fn parse_request(text: &str) -> (String, String, Vec<(String, String)>, Vec<u8>) {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let mut request_line = lines.next().unwrap().split(' ');
        let (method, target) = (request_line.next().unwrap(), request_line.next().unwrap());
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        (method.to_owned(), target.to_owned(), headers, body.as_bytes().to_vec())
    }

    #[test]
    fn the_signer_gives_the_test_suite_authorization_headers() {
        let cases = vector_names();
        assert_eq!(cases.len(), 10, "{cases:?}");
        for case in cases.iter().map(String::as_str) {
            let context: Value = serde_json::from_str(&read(case, "context.json")).unwrap();
            let creds = &context["credentials"];
            let creds = AwsCredentials::new(
                creds["access_key_id"].as_str().unwrap(),
                ApiKey::new(creds["secret_access_key"].as_str().unwrap()),
                creds["token"].as_str().map(ApiKey::new),
            );
            assert_eq!(context["timestamp"], "2015-08-30T12:36:00Z", "{case}");
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
            let (method, target, headers, body) = parse_request(&read(case, "request.txt"));
            let host = &headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).unwrap().1;
            let url = format!("https://{host}{target}");
            let scope = Scope {
                region: context["region"].as_str().unwrap(),
                service: context["service"].as_str().unwrap(),
                time,
                sign_body: context["sign_body"] == true,
            };
            let req = Signable { method: &method, url: &url, headers: &headers, body: &body };
            let added = headers_for(req, scope, &creds);
            let signed = read(case, "header-signed-request.txt");
            let expected = signed.lines().find_map(|l| l.strip_prefix("Authorization:")).unwrap();
            let got = added.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.as_str());
            assert_eq!(got, Some(expected), "{case}");
            let signature = read(case, "header-signature.txt");
            assert!(expected.ends_with(&format!("Signature={}", signature.trim())), "{case}");
            let date = added.iter().find(|(k, _)| k == "x-amz-date").map(|(_, v)| v.as_str());
            assert_eq!(date, Some("20150830T123600Z"), "{case}");
        }
    }

    fn headers_for(req: Signable<'_>, scope: Scope<'_>, c: &AwsCredentials) -> Vec<(String, String)> {
        headers(req, scope, c).unwrap()
    }

    #[test]
    fn a_wrong_secret_gives_another_signature() {
        let c = AwsCredentials::new("AKIDEXAMPLE", ApiKey::new("not-the-secret"), None);
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        let h = vec![("host".to_owned(), "example.amazonaws.com".to_owned())];
        let req = Signable { method: "GET", url: "https://example.amazonaws.com/", headers: &h, body: b"" };
        let scope = Scope { region: "us-east-1", service: "service", time, sign_body: false };
        let auth = headers_for(req, scope, &c).into_iter().find(|(k, _)| k == "authorization").unwrap().1;
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"));
        assert!(!auth.ends_with("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), "{auth}");
    }
}
