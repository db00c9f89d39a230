//! The typed table of records (Arrow columns) and its Parquet file (feature `parquet`).
//!
//! Times are `TIMESTAMP(MICROS, UTC)`, money `DECIMAL(38, 18)` (exact: an amount that does not fit is an error,
//! never rounded), token counts `INT64`, tags and finish reasons `LIST<STRING>`, metadata and params the JSON text of their objects. The columns
//! are listed in docs/tracking.md.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use llm_core::Usd;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, ErrorKind, Result};
use crate::record::CallRecord;

/// Rows per Arrow batch handed to the Parquet writer.
const BATCH: usize = 4096;
/// Money columns: `DECIMAL(38, 18)`.
const PRECISION: u8 = 38;
const SCALE: i8 = 18;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn money() -> DataType {
    DataType::Decimal128(PRECISION, SCALE)
}

fn tag_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, false))
}

/// The schema of exported records.
pub(crate) fn schema() -> SchemaRef {
    let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let n = |name: &str, nullable: bool| Field::new(name, DataType::Int64, nullable);
    Arc::new(Schema::new(vec![
        s("id", false),
        s("trace_id", false),
        Field::new("start_time", utc(), false),
        Field::new("end_time", utc(), false),
        Field::new("first_token_time", utc(), true),
        Field::new("latency_ms", DataType::Float64, false),
        s("provider", false),
        s("requested_model", false),
        s("model", false),
        s("model_group", true),
        s("response_id", true),
        Field::new("stream", DataType::Boolean, false),
        s("call_type", false),
        s("status", false),
        s("error_kind", true),
        s("error_message", true),
        n("prompt_tokens", false),
        n("completion_tokens", false),
        n("total_tokens", false),
        n("cache_read_tokens", true),
        n("cache_write_tokens", true),
        n("reasoning_tokens", true),
        s("cost_status", false),
        Field::new("cost", money(), true),
        Field::new("spend", money(), false),
        Field::new("reserved", money(), true),
        n("retry_attempts", false),
        n("repair_attempts", false),
        Field::new("tags", DataType::List(tag_item()), false),
        s("user", true),
        s("team", true),
        s("project", true),
        s("end_user", true),
        s("api_key_fingerprint", true),
        s("metadata", true),
        Field::new("finish_reasons", DataType::List(tag_item()), false),
        s("params", true),
    ]))
}

/// An amount as `DECIMAL(38, 18)`'s integer: exact or an error.
fn decimal(u: Usd, id: &str) -> Result<i128> {
    let d = u.amount();
    let (m, scale) = (d.mantissa(), i64::from(d.scale()));
    let exact = if scale <= i64::from(SCALE) {
        10i128.checked_pow((i64::from(SCALE) - scale) as u32).and_then(|p| m.checked_mul(p))
    } else {
        let p = 10i128.pow((scale - i64::from(SCALE)) as u32);
        (m % p == 0).then(|| m / p)
    };
    exact.filter(|v| v.unsigned_abs() < 10u128.pow(u32::from(PRECISION))).ok_or_else(|| {
        Error::new(ErrorKind::Codec, format!("record {id}: the amount {u} does not fit DECIMAL(38, 18) exactly"))
    })
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The column builders of one batch.
struct Columns {
    id: StringBuilder,
    trace_id: StringBuilder,
    start_time: TimestampMicrosecondBuilder,
    end_time: TimestampMicrosecondBuilder,
    first_token_time: TimestampMicrosecondBuilder,
    latency_ms: Float64Builder,
    provider: StringBuilder,
    requested_model: StringBuilder,
    model: StringBuilder,
    model_group: StringBuilder,
    response_id: StringBuilder,
    stream: BooleanBuilder,
    call_type: StringBuilder,
    status: StringBuilder,
    error_kind: StringBuilder,
    error_message: StringBuilder,
    prompt_tokens: Int64Builder,
    completion_tokens: Int64Builder,
    total_tokens: Int64Builder,
    cache_read_tokens: Int64Builder,
    cache_write_tokens: Int64Builder,
    reasoning_tokens: Int64Builder,
    cost_status: StringBuilder,
    cost: Decimal128Builder,
    spend: Decimal128Builder,
    reserved: Decimal128Builder,
    retry_attempts: Int64Builder,
    repair_attempts: Int64Builder,
    tags: ListBuilder<StringBuilder>,
    user: StringBuilder,
    team: StringBuilder,
    project: StringBuilder,
    end_user: StringBuilder,
    api_key_fingerprint: StringBuilder,
    metadata: StringBuilder,
    finish_reasons: ListBuilder<StringBuilder>,
    params: StringBuilder,
    rows: usize,
}

impl Columns {
    fn new() -> Result<Self> {
        let money = || {
            Decimal128Builder::new()
                .with_precision_and_scale(PRECISION, SCALE)
                .map_err(|e| Error::new(ErrorKind::Codec, format!("parquet schema: {e}")))
        };
        let utc = || TimestampMicrosecondBuilder::new().with_timezone("UTC");
        Ok(Self {
            id: StringBuilder::new(),
            trace_id: StringBuilder::new(),
            start_time: utc(),
            end_time: utc(),
            first_token_time: utc(),
            latency_ms: Float64Builder::new(),
            provider: StringBuilder::new(),
            requested_model: StringBuilder::new(),
            model: StringBuilder::new(),
            model_group: StringBuilder::new(),
            response_id: StringBuilder::new(),
            stream: BooleanBuilder::new(),
            call_type: StringBuilder::new(),
            status: StringBuilder::new(),
            error_kind: StringBuilder::new(),
            error_message: StringBuilder::new(),
            prompt_tokens: Int64Builder::new(),
            completion_tokens: Int64Builder::new(),
            total_tokens: Int64Builder::new(),
            cache_read_tokens: Int64Builder::new(),
            cache_write_tokens: Int64Builder::new(),
            reasoning_tokens: Int64Builder::new(),
            cost_status: StringBuilder::new(),
            cost: money()?,
            spend: money()?,
            reserved: money()?,
            retry_attempts: Int64Builder::new(),
            repair_attempts: Int64Builder::new(),
            tags: ListBuilder::new(StringBuilder::new()).with_field(tag_item()),
            user: StringBuilder::new(),
            team: StringBuilder::new(),
            project: StringBuilder::new(),
            end_user: StringBuilder::new(),
            api_key_fingerprint: StringBuilder::new(),
            metadata: StringBuilder::new(),
            finish_reasons: ListBuilder::new(StringBuilder::new()).with_field(tag_item()),
            params: StringBuilder::new(),
            rows: 0,
        })
    }

    fn push(&mut self, r: &CallRecord) -> Result<()> {
        // the amounts first: a record that cannot be written exactly leaves the batch as it was
        let cost = r.cost.as_ref().and_then(|c| c.total()).map(|u| decimal(u, &r.id)).transpose()?;
        let spend = decimal(r.spend, &r.id)?;
        let reserved = r.reserved.map(|u| decimal(u, &r.id)).transpose()?;
        let metadata = if r.metadata.is_empty() { None } else { Some(serde_json::to_string(&r.metadata)?) };
        let params = if r.params.is_empty() { None } else { Some(serde_json::to_string(&r.params)?) };
        self.id.append_value(&r.id);
        self.trace_id.append_value(&r.trace_id);
        self.start_time.append_value(r.start_time.as_micros());
        self.end_time.append_value(r.end_time.as_micros());
        self.first_token_time.append_option(r.first_token_time.map(|t| t.as_micros()));
        self.latency_ms.append_value(r.latency_ms);
        self.provider.append_value(&r.provider);
        self.requested_model.append_value(&r.requested_model);
        self.model.append_value(&r.model);
        self.model_group.append_option((!r.model_group.is_empty()).then_some(&r.model_group));
        self.response_id.append_option(r.response_id.as_ref());
        self.stream.append_value(r.stream);
        self.call_type.append_value(r.call_type.as_str());
        self.status.append_value(r.status.as_str());
        self.error_kind.append_option(r.error_kind.as_ref());
        self.error_message.append_option(r.error_message.as_ref());
        let u = &r.usage;
        self.prompt_tokens.append_value(int(u.prompt_tokens));
        self.completion_tokens.append_value(int(u.completion_tokens));
        self.total_tokens.append_value(int(u.total_tokens));
        self.cache_read_tokens.append_option(u.cache_read_tokens.map(int));
        self.cache_write_tokens.append_option(u.cache_write_tokens.map(int));
        self.reasoning_tokens.append_option(u.reasoning_tokens.map(int));
        self.cost_status.append_value(r.cost_status().as_str());
        self.cost.append_option(cost);
        self.spend.append_value(spend);
        self.reserved.append_option(reserved);
        self.retry_attempts.append_value(i64::from(r.retry_attempts));
        self.repair_attempts.append_value(i64::from(r.repair_attempts));
        for t in &r.tags {
            self.tags.values().append_value(t);
        }
        self.tags.append(true);
        self.user.append_option(r.user.as_ref());
        self.team.append_option(r.team.as_ref());
        self.project.append_option(r.project.as_ref());
        self.end_user.append_option(r.end_user.as_ref());
        self.api_key_fingerprint.append_option(r.api_key_fingerprint.as_ref());
        self.metadata.append_option(metadata);
        for f in &r.finish_reasons {
            self.finish_reasons.values().append_value(f);
        }
        self.finish_reasons.append(true);
        self.params.append_option(params);
        self.rows += 1;
        Ok(())
    }

    /// The batch so far (the builders start over).
    fn batch(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.start_time.finish()),
            Arc::new(self.end_time.finish()),
            Arc::new(self.first_token_time.finish()),
            Arc::new(self.latency_ms.finish()),
            Arc::new(self.provider.finish()),
            Arc::new(self.requested_model.finish()),
            Arc::new(self.model.finish()),
            Arc::new(self.model_group.finish()),
            Arc::new(self.response_id.finish()),
            Arc::new(self.stream.finish()),
            Arc::new(self.call_type.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.error_kind.finish()),
            Arc::new(self.error_message.finish()),
            Arc::new(self.prompt_tokens.finish()),
            Arc::new(self.completion_tokens.finish()),
            Arc::new(self.total_tokens.finish()),
            Arc::new(self.cache_read_tokens.finish()),
            Arc::new(self.cache_write_tokens.finish()),
            Arc::new(self.reasoning_tokens.finish()),
            Arc::new(self.cost_status.finish()),
            Arc::new(self.cost.finish()),
            Arc::new(self.spend.finish()),
            Arc::new(self.reserved.finish()),
            Arc::new(self.retry_attempts.finish()),
            Arc::new(self.repair_attempts.finish()),
            Arc::new(self.tags.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.team.finish()),
            Arc::new(self.project.finish()),
            Arc::new(self.end_user.finish()),
            Arc::new(self.api_key_fingerprint.finish()),
            Arc::new(self.metadata.finish()),
            Arc::new(self.finish_reasons.finish()),
            Arc::new(self.params.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::new(ErrorKind::Codec, format!("parquet batch: {e}")).with_source(e))
    }
}

fn parquet_error(e: parquet::errors::ParquetError) -> Error {
    Error::new(ErrorKind::Codec, format!("parquet: {e}")).with_source(e)
}

/// One Parquet object being written (Snappy pages, in memory).
pub(crate) struct ParquetPart {
    schema: SchemaRef,
    columns: Columns,
    writer: ArrowWriter<Vec<u8>>,
}

impl ParquetPart {
    pub(crate) fn new() -> Result<Self> {
        let schema = schema();
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props)).map_err(parquet_error)?;
        Ok(Self { schema, columns: Columns::new()?, writer })
    }

    pub(crate) fn push(&mut self, r: &CallRecord) -> Result<()> {
        self.columns.push(r)?;
        if self.columns.rows >= BATCH {
            let batch = self.columns.batch(&self.schema)?;
            self.writer.write(&batch).map_err(parquet_error)?;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Vec<u8>> {
        if self.columns.rows > 0 {
            let batch = self.columns.batch(&self.schema)?;
            self.writer.write(&batch).map_err(parquet_error)?;
        }
        self.writer.into_inner().map_err(parquet_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_decimals_or_an_error() {
        let u = |s: &str| s.parse::<Usd>().unwrap_or_default();
        assert_eq!(decimal(u("0.0045"), "a").ok(), Some(4_500_000_000_000_000));
        assert_eq!(decimal(u("1"), "a").ok(), Some(1_000_000_000_000_000_000));
        assert_eq!(decimal(u("-0.000000000000000001"), "a").ok(), Some(-1));
        // 19 decimals that are not zero cannot be written exactly
        let err = decimal(u("0.0000000000000000001"), "rec1").unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Codec);
        assert!(err.to_string().contains("record rec1"), "{err}");
        // trailing zeros past 18 decimals are fine
        assert_eq!(decimal(u("0.10000000000000000000"), "a").ok(), Some(100_000_000_000_000_000));
        let fields: Vec<String> = schema()
            .fields()
            .iter()
            .map(|f| format!("{}: {}{}", f.name(), f.data_type(), if f.is_nullable() { "" } else { " not null" }))
            .collect();
        insta::assert_snapshot!("parquet_arrow_schema", fields.join("\n"));
    }
}
