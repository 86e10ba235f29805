//! How a job stage walks a relation's rows in parts: by position, a bigint. A relation
//! keyed by integers is walked by its keys themselves; one keyed otherwise (text, uuid…,
//! over a mapped shop) by the rows' places in the list of its keys taken when the job
//! started (`job_keys`), so parts stay ranges of integers whatever the shop's keys.

use sqlx::{PgConnection, PgPool};

use crate::shop::Keys;

/// One stage's walk over `relation`.
#[derive(Debug, Clone)]
pub struct Walk {
    kind: &'static str,
    stage: &'static str,
    relation: &'static str,
    /// The relation's key type, when its rows are walked through a list of keys.
    listed: Option<String>,
}

impl Walk {
    /// The walk of `stage` (of jobs of `kind`) over `relation`, as its key type asks.
    pub async fn of(
        keys: &Keys,
        kind: &'static str,
        stage: &'static str,
        relation: &'static str,
    ) -> Result<Walk, sqlx::Error> {
        let listed = match keys.of(relation).await? {
            "bigint" | "integer" | "smallint" => None,
            other => Some(other.to_owned()),
        };
        Ok(Walk {
            kind,
            stage,
            relation,
            listed,
        })
    }

    /// The last position and the row count now (called in the transaction that starts the
    /// job): the rows the job sends. A listed walk takes its list here.
    pub async fn plan(&self, conn: &mut PgConnection) -> Result<(i64, i64), sqlx::Error> {
        if self.listed.is_some() {
            sqlx::query("DELETE FROM job_keys WHERE kind = $1 AND stage = $2")
                .bind(self.kind)
                .bind(self.stage)
                .execute(&mut *conn)
                .await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "WITH listed AS (
                     INSERT INTO job_keys (kind, stage, n, key)
                     SELECT $1, $2, row_number() OVER (ORDER BY id), id::text FROM {}
                     RETURNING 1)
                 SELECT count(*) FROM listed",
                self.relation
            )))
            .bind(self.kind)
            .bind(self.stage)
            .fetch_one(&mut *conn)
            .await?;
            return Ok((total, total));
        }
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT coalesce(max(id), 0)::bigint, count(*) FROM {}",
            self.relation
        )))
        .fetch_one(conn)
        .await
    }

    /// The rows at positions in ($1, $2], at most $3, in position order, each with its
    /// position as `position`: a statement's `FROM` item.
    pub fn rows(&self) -> String {
        match &self.listed {
            Some(key_type) => format!(
                "(SELECT t.*, k.n AS position
                  FROM job_keys k JOIN {relation} t ON t.id = CAST(k.key AS {key_type})
                  WHERE k.kind = '{kind}' AND k.stage = '{stage}' AND k.n > $1 AND k.n <= $2
                  ORDER BY k.n LIMIT $3)",
                relation = self.relation,
                kind = self.kind,
                stage = self.stage,
            ),
            None => format!(
                "(SELECT t.*, t.id AS position FROM {} t
                  WHERE t.id > $1 AND t.id <= $2 ORDER BY t.id LIMIT $3)",
                self.relation
            ),
        }
    }

    /// The last position of the next part after `after` (up to `bound`, `size` rows at
    /// most), or `None` when no row is left there.
    pub async fn next_part_end(
        &self,
        pool: &PgPool,
        after: i64,
        bound: i64,
        size: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let positions = match &self.listed {
            Some(_) => format!(
                "SELECT n AS id FROM job_keys
                 WHERE kind = '{}' AND stage = '{}' AND n > $1 AND n <= $2 ORDER BY n LIMIT $3",
                self.kind, self.stage
            ),
            None => format!(
                "SELECT id FROM {} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                self.relation
            ),
        };
        super::next_part_end(pool, &positions, after, bound, size).await
    }
}
