//! `llm spend export --dest URL`: day partitions in object storage whose records equal `llm spend export`'s JSON
//! lines, and a second run that writes nothing. Against a folder (`file://`) and moto's S3 server on 127.0.0.1,
//! read back by boto3 (gzip JSON lines) and DuckDB (Parquet). The peers come from `bash .ci/peers` (or
//! `LLM_TEST_PEERS_PYTHON`); without them the S3 test is skipped, except under `CI=true`, where it fails.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use common::{llm_env as llm, walk};
use llm_fake_upstream::peers::{PeerProcess, free_port, require_npm_bin, require_python, run_python};

const SECRET: &str = "cli-secret-PLANTED-0123456789";

/// A spend store with the demo's records.
fn demo_store(dir: &Path) -> String {
    let (code, _, err) = llm(&["demo", "--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    format!("sqlite:{}", dir.join("demo.sqlite").display())
}

/// `llm spend export`'s lines.
fn lines(db: &str) -> Vec<String> {
    let (code, out, err) = llm(&["spend", "export", "--db", db], &[]);
    assert_eq!(code, 0, "{err}");
    out.lines().map(str::to_owned).collect()
}

/// Runs `llm spend export --dest ...` and returns its JSON summary. The demo's records are minutes old, so
/// with the default settle lag (10 minutes) they are exported at once and their objects stay open.
fn export_to(db: &str, dest: &str, extra: &[&str], envs: &[(&str, &str)]) -> serde_json::Value {
    let mut args = vec!["spend", "export", "--db", db, "--dest", dest];
    args.extend_from_slice(extra);
    let (code, out, err) = llm(&args, envs);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(" records in ") && err.contains(" objects to "), "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s
}

#[test]
fn spend_export_to_a_folder_writes_day_partitions_once() {
    let tmp = tempfile::tempdir().unwrap();
    let db = demo_store(tmp.path());
    let dest = format!("file://{}/exports", tmp.path().display());
    let first = export_to(&db, &dest, &[], &[]);
    assert_eq!(first["records"], 5);
    assert_eq!(first["format"], "jsonl");
    let objects = first["objects"].as_array().unwrap();
    let mut got = Vec::new();
    for o in objects {
        let key = o["key"].as_str().unwrap();
        assert!(key.starts_with("dt=") && key.ends_with(".jsonl.gz"), "{key}");
        let body = std::fs::read(tmp.path().join("exports").join(key)).unwrap();
        got.extend(gunzip(&body).lines().map(str::to_owned));
    }
    assert_eq!(got, lines(&db), "the objects hold `llm spend export`'s lines");
    assert!(first["open_from"].is_string(), "recent records stay open: {first}");
    let read_all = || -> BTreeMap<String, Vec<u8>> {
        let keys = objects.iter().map(|o| o["key"].as_str().unwrap().to_owned());
        keys.map(|k| (k.clone(), std::fs::read(tmp.path().join("exports").join(&k)).unwrap())).collect()
    };
    let before = read_all();
    // again: the open objects are written again under the same names, with the same records; nothing new
    let again = export_to(&db, &dest, &[], &[]);
    assert_eq!(again["records"], 0, "{again}");
    let rewritten: Vec<&str> =
        again["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert!(rewritten.iter().all(|k| before.contains_key(*k)), "no new object: {again}");
    assert_eq!(read_all(), before);
    let files = walk(&tmp.path().join("exports"));
    assert_eq!(files.len(), before.len(), "{files:?}");
    // settled (--settle-secs 0): written once more and recorded done, then never again
    let settled = export_to(&db, &dest, &["--settle-secs", "0"], &[]);
    assert_eq!((settled["records"].as_u64(), settled["open_from"].is_null()), (Some(0), true), "{settled}");
    let done = export_to(&db, &dest, &["--settle-secs", "0"], &[]);
    assert_eq!(done["objects"].as_array().map(Vec::len), Some(0), "{done}");
    assert_eq!(read_all(), before);

    // the flags of --dest need it; without --dest the output is as it always was
    let (code, _, err) = llm(&["spend", "export", "--db", &db, "--format", "parquet"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--dest"), "{err}");
    let (code, _, err) = llm(&["spend", "export", "--db", &db, "--dest", "ftp://x/y"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("invalid export destination \"ftp://x/y\": unsupported scheme \"ftp\""), "{err}");
}

const BOTO_READ: &str = r#"
import sys, json, gzip, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1])
out = {}
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2], Prefix=sys.argv[3]):
    for o in page.get('Contents', []):
        body = s3.get_object(Bucket=sys.argv[2], Key=o['Key'])['Body'].read()
        out[o['Key']] = gzip.decompress(body).decode('utf-8').splitlines() if o['Key'].endswith('.gz') else len(body)
print(json.dumps(out))
"#;

const DUCKDB_READ: &str = r#"
import sys, os, json, boto3, duckdb
endpoint, bucket, prefix, dir = sys.argv[1:5]
s3 = boto3.client('s3', endpoint_url=endpoint)
for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
    for o in page.get('Contents', []):
        local = os.path.join(dir, o['Key'])
        os.makedirs(os.path.dirname(local), exist_ok=True)
        s3.download_file(bucket, o['Key'], local)
rows = duckdb.sql(f"SELECT id, CAST(spend AS VARCHAR), prompt_tokens FROM read_parquet('{dir}/{prefix}**/*.parquet') ORDER BY start_time, id").fetchall()
print(json.dumps([list(r) for r in rows]))
"#;

#[test]
fn spend_export_to_s3_equals_the_json_lines_and_never_duplicates() {
    let Some(python) = require_python(&["moto", "boto3", "duckdb"]) else { return };
    let port = free_port();
    let _server = PeerProcess::start(
        &python,
        &["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()],
        &[],
        port,
        Duration::from_secs(60),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "cli-key-id"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    run_python(
        &python,
        "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket='spend')",
        &[&endpoint],
        &env,
    );
    let tmp = tempfile::tempdir().unwrap();
    let db = demo_store(tmp.path());
    let read = || -> BTreeMap<String, serde_json::Value> {
        serde_json::from_str(run_python(&python, BOTO_READ, &[&endpoint, "spend", "llm/"], &env).trim()).unwrap()
    };

    let first = export_to(&db, "s3://spend/llm", &[], &env);
    assert_eq!(first["records"], 5);
    assert_eq!(first["dest"], "s3://spend/llm");
    let objects = read();
    assert!(objects.keys().all(|k| k.starts_with("llm/dt=") && k.ends_with(".jsonl.gz")), "{objects:?}");
    let got: Vec<String> =
        objects.values().flat_map(|v| v.as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_owned())).collect();
    assert_eq!(got, lines(&db), "boto3 reads back exactly `llm spend export`'s lines");

    let again = export_to(&db, "s3://spend/llm", &[], &env);
    assert_eq!(again["records"], 0);
    assert_eq!(read(), objects, "the second run writes nothing");

    // Parquet, read by DuckDB: the same records, amounts exact
    let parquet = export_to(&db, "s3://spend/llm/parquet", &["--format", "parquet"], &env);
    assert_eq!(parquet["records"], 5);
    let out =
        run_python(&python, DUCKDB_READ, &[&endpoint, "spend", "llm/parquet/", tmp.path().to_str().unwrap()], &env);
    let rows: Vec<(String, String, u64)> = serde_json::from_str(out.trim()).unwrap();
    let records: Vec<serde_json::Value> = lines(&db).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), records.len());
    for (row, r) in rows.iter().zip(&records) {
        assert_eq!(row.0, r["id"].as_str().unwrap());
        // DECIMAL(38, 18): the record's decimal text, then zeros
        let want = r["spend"].as_str().unwrap();
        assert!(row.1.starts_with(want) && row.1[want.len()..].chars().all(|c| c == '0' || c == '.'), "{row:?} {want}");
        assert_eq!(row.2, r["usage"]["prompt_tokens"].as_u64().unwrap());
    }

    // a missing bucket: exit 1, a clear message naming the destination, no secret
    let (code, _, err) = llm(&["spend", "export", "--db", &db, "--dest", "s3://nope/x", "--settle-secs", "0"], &env);
    assert_eq!(code, 1);
    assert!(err.contains("spend export to s3://nope/x: writing x/dt="), "{err}");
    assert!(err.contains("does the bucket (or container) exist?"), "{err}");
    assert!(!err.contains(SECRET), "{err}");
}

/// Azurite's well-known development account (public, in Microsoft's documentation).
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const AZURE_READ: &str = r#"
import sys, json, gzip
from azure.storage.blob import BlobServiceClient
url, key, container, prefix = sys.argv[1:5]
svc = BlobServiceClient.from_connection_string(
    f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={url}/devstoreaccount1;")
c = svc.get_container_client(container)
if prefix == "--create":
    c.create_container()
    print("{}")
else:
    out = {}
    for b in c.list_blobs(name_starts_with=prefix):
        out[b.name] = gzip.decompress(c.download_blob(b.name).readall()).decode("utf-8").splitlines()
    print(json.dumps(out))
"#;

#[test]
fn spend_export_to_azure_blob_is_read_back_by_the_azure_sdk() {
    let Some(python) = require_python(&["azure.storage.blob"]) else { return };
    let Some(azurite) = require_npm_bin("azurite-blob") else { return };
    let port = free_port();
    let work = tempfile::tempdir().unwrap();
    let _server = PeerProcess::start(
        &azurite,
        &[
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
            work.path().to_str().unwrap(),
            "--skipApiVersionCheck",
            "--loose",
        ],
        &[],
        port,
        Duration::from_secs(60),
    );
    let url = format!("http://127.0.0.1:{port}");
    let azure = |args: &[&str]| -> BTreeMap<String, Vec<String>> {
        let mut all = vec![url.as_str(), AZURITE_KEY, "spend"];
        all.extend_from_slice(args);
        serde_json::from_str(run_python(&python, AZURE_READ, &all, &[]).trim()).unwrap()
    };
    azure(&["--create"]);
    let db = demo_store(work.path());
    // object_store's emulator settings: the development account at Azurite's URL
    let env = [("AZURE_STORAGE_USE_EMULATOR", "true"), ("AZURITE_BLOB_STORAGE_URL", url.as_str())];

    let first = export_to(&db, "az://spend/llm", &[], &env);
    assert_eq!((first["records"].as_u64(), first["dest"].as_str()), (Some(5), Some("az://spend/llm")));
    let blobs = azure(&["llm/"]);
    assert!(blobs.keys().all(|k| k.starts_with("llm/dt=") && k.ends_with(".jsonl.gz")), "{blobs:?}");
    let got: Vec<String> = blobs.values().flatten().cloned().collect();
    assert_eq!(got, lines(&db), "the Azure SDK reads back exactly `llm spend export`'s lines");

    let again = export_to(&db, "az://spend/llm", &[], &env);
    assert_eq!(again["records"], 0);
    assert_eq!(azure(&["llm/"]), blobs, "the second run duplicates nothing");

    // a container that does not exist: exit 1, a clear message
    let (code, _, err) = llm(&["spend", "export", "--db", &db, "--dest", "az://nope/x"], &env);
    assert_eq!(code, 1);
    assert!(err.contains("spend export to az://nope/x: writing x/dt="), "{err}");
}
