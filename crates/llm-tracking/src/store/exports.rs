//! Export progress in the stores: which intervals of start times have been exported to a destination (an
//! object-store URL) in a format, so an export is resumable and never writes a record twice (see
//! `crate::export::object` and docs/tracking.md, "Spend exports to S3, GCS, Azure").
//!
//! A span is written `pending` before its object is written and `done` after; done spans that touch are merged,
//! so a destination exported regularly keeps one row per contiguous stretch of time.

use serde::Serialize;

use crate::error::Error;
use crate::time::Timestamp;

/// One interval `[from, to)` of record start times exported (or being exported) to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportSpan {
    /// Start (inclusive).
    pub from: Timestamp,
    /// End (exclusive).
    pub to: Timestamp,
    /// How many records it held (for a merged span, the sum).
    pub records: u64,
    /// Whether its object may not have been written yet: the export that began it stopped before it was done
    /// (the next export writes it again, under the same name).
    pub pending: bool,
}

impl ExportSpan {
    /// A span.
    pub fn new(from: Timestamp, to: Timestamp, records: u64, pending: bool) -> Self {
        Self { from, to, records, pending }
    }
}

/// The error of a store that keeps no export progress (the default of the `Store` methods).
pub(crate) fn unsupported(store: &str) -> Error {
    Error::config(format!("the {store} store cannot keep spend-export progress"))
}

/// Merges a finished span `[from, to)` of `records` with the done spans that touch it (`neighbours`): the span
/// to keep and the starts of the rows to delete.
pub(crate) fn merge_done(from: i64, to: i64, records: u64, neighbours: &[(i64, i64, u64)]) -> (ExportSpan, Vec<i64>) {
    let mut span = (from, to, records);
    let mut gone = Vec::new();
    for &(f, t, n) in neighbours {
        if t == from || f == to {
            span = (span.0.min(f), span.1.max(t), span.2.saturating_add(n));
            gone.push(f);
        }
    }
    (ExportSpan::new(Timestamp::from_micros(span.0), Timestamp::from_micros(span.1), span.2, false), gone)
}

/// The table of both SQL stores (schema version 7).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const TABLE_SQL: &str = r#"
CREATE TABLE IF NOT EXISTS spend_exports (
    dest TEXT NOT NULL,
    format TEXT NOT NULL,
    from_us BIGINT NOT NULL,
    to_us BIGINT NOT NULL,
    records BIGINT NOT NULL,
    state TEXT NOT NULL,
    updated_us BIGINT NOT NULL,
    PRIMARY KEY (dest, format, from_us)
);
"#;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! sql_export_methods {
    ($conn:ty) => {
        /// The export spans of `(dest, format)`, oldest first.
        pub(crate) async fn sql_export_spans(
            pool: impl sqlx::Executor<'_, Database = <$conn as sqlx::Connection>::Database>,
            dest: &str,
            format: &str,
        ) -> crate::error::Result<Vec<crate::store::ExportSpan>> {
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
                "SELECT from_us, to_us, records, state FROM spend_exports WHERE dest = $1 AND format = $2 \
                 ORDER BY from_us",
            )
            .bind(dest)
            .bind(format)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(f, t, n, state)| {
                    crate::store::ExportSpan::new(
                        crate::time::Timestamp::from_micros(f),
                        crate::time::Timestamp::from_micros(t),
                        n.max(0) as u64,
                        state != "done",
                    )
                })
                .collect())
        }

        /// Records a span (see `Store::record_export`), inside the caller's transaction: a pending one is added
        /// or takes the new count (a done one is kept); a done one replaces its pending one and is merged with
        /// the done spans it touches.
        pub(crate) async fn sql_record_export(
            conn: &mut $conn,
            dest: &str,
            format: &str,
            span: crate::store::ExportSpan,
            now: crate::time::Timestamp,
        ) -> crate::error::Result<()> {
            let (from, to, records) = (span.from.as_micros(), span.to.as_micros(), span.records);
            let count = i64::try_from(records).unwrap_or(i64::MAX);
            if span.pending {
                sqlx::query(
                    "INSERT INTO spend_exports (dest, format, from_us, to_us, records, state, updated_us) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT (dest, format, from_us) DO UPDATE \
                     SET records = excluded.records, updated_us = excluded.updated_us \
                     WHERE spend_exports.state = 'pending'",
                )
                .bind(dest)
                .bind(format)
                .bind(from)
                .bind(to)
                .bind(count)
                .bind(now.as_micros())
                .execute(&mut *conn)
                .await?;
                return Ok(());
            }
            sqlx::query("DELETE FROM spend_exports WHERE dest = $1 AND format = $2 AND from_us = $3")
                .bind(dest)
                .bind(format)
                .bind(from)
                .execute(&mut *conn)
                .await?;
            let near: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT from_us, to_us, records FROM spend_exports WHERE dest = $1 AND format = $2 \
                 AND state = 'done' AND (to_us = $3 OR from_us = $4)",
            )
            .bind(dest)
            .bind(format)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            let near: Vec<(i64, i64, u64)> = near.into_iter().map(|(f, t, n)| (f, t, n.max(0) as u64)).collect();
            let (merged, gone) = crate::store::exports::merge_done(from, to, records, &near);
            for f in gone {
                sqlx::query("DELETE FROM spend_exports WHERE dest = $1 AND format = $2 AND from_us = $3")
                    .bind(dest)
                    .bind(format)
                    .bind(f)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO spend_exports (dest, format, from_us, to_us, records, state, updated_us) \
                 VALUES ($1, $2, $3, $4, $5, 'done', $6)",
            )
            .bind(dest)
            .bind(format)
            .bind(merged.from.as_micros())
            .bind(merged.to.as_micros())
            .bind(i64::try_from(merged.records).unwrap_or(i64::MAX))
            .bind(now.as_micros())
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}

#[cfg(feature = "sqlite")]
pub(crate) mod sqlite {
    sql_export_methods!(sqlx::SqliteConnection);
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres {
    sql_export_methods!(sqlx::PgConnection);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_span_merges_with_the_done_spans_it_touches() {
        // [10, 20) finished between [0, 10) and [20, 30); [40, 50) does not touch it
        let (span, gone) = merge_done(10, 20, 3, &[(0, 10, 2), (20, 30, 5)]);
        assert_eq!(span, ExportSpan::new(Timestamp::from_micros(0), Timestamp::from_micros(30), 10, false));
        assert_eq!(gone, [0, 20]);
        let (span, gone) = merge_done(10, 20, 3, &[(40, 50, 1)]);
        assert_eq!(span, ExportSpan::new(Timestamp::from_micros(10), Timestamp::from_micros(20), 3, false));
        assert!(gone.is_empty());
        assert_eq!(unsupported("custom").to_string(), "config: the custom store cannot keep spend-export progress");
    }
}
