//! The PostgreSQL dialect (production): opening the pool (durable commits checked), and its
//! SQL for the group append: one lookup per table with `= ANY($n)` and one `UNNEST` insert
//! per table, a constant number of statements per group.

use super::{hash32, Backend, GroupSql, NewEntry, StoreError};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use zkvote_core::log::{leaf_hash, Hash};

/// The schema (`migrations/postgres`), embedded.
pub(super) const MIGRATIONS: &[zkvote_sql::Embedded] = zkvote_sql::embed!(
    "../../migrations/postgres",
    [
        "0001_log.sql",
        "0002_election_data.sql",
        "0003_phase.sql",
        "0004_digest.sql",
        "0005_entry_storage.sql",
        "0006_drop_nullifier_index.sql",
        "0007_single_use.sql",
        "0008_content_addressed_blobs.sql",
        "0009_log_chunks.sql",
    ]
);
zkvote_sql::test_embeds_folder!("migrations/postgres", MIGRATIONS);

/// Connects to and migrates the database at `url`.
pub(super) async fn open(url: &str) -> Result<Backend, StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    zkvote_sql::migrator(MIGRATIONS).await?.run(&pool).await?;
    let sc: String = sqlx::query("SHOW synchronous_commit")
        .fetch_one(&pool)
        .await?
        .try_get(0)?;
    if sc == "off" {
        return Err(StoreError::Durability(
            "PostgreSQL synchronous_commit = off".into(),
        ));
    }
    Ok(Backend::Postgres(pool))
}

impl GroupSql for PgPool {
    type Db = Postgres;

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(PgPool::begin(self).await?)
    }

    shared_group_steps!(Postgres, super::LOCK_POSTGRES);

    async fn spent(
        tx: &mut Transaction<'static, Postgres>,
        eid: &[u8],
        nullifiers: &[Vec<u8>],
    ) -> Result<HashMap<Hash, i64>, StoreError> {
        let mut spent = HashMap::new();
        if nullifiers.is_empty() {
            return Ok(spent);
        }
        let rows = sqlx::query(
            "SELECT nullifier, idx FROM spent_nullifiers WHERE election_id = $1 AND nullifier = ANY($2)",
        )
        .bind(eid)
        .bind(nullifiers)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            spent.insert(hash32(r.try_get(0)?)?, r.try_get(1)?);
        }
        Ok(spent)
    }

    async fn seen(
        tx: &mut Transaction<'static, Postgres>,
        eid: &[u8],
        ciphertexts: &[Vec<u8>],
    ) -> Result<HashSet<Hash>, StoreError> {
        let mut seen = HashSet::new();
        if ciphertexts.is_empty() {
            return Ok(seen);
        }
        let rows = sqlx::query("SELECT a FROM ciphertexts WHERE election_id = $1 AND a = ANY($2)")
            .bind(eid)
            .bind(ciphertexts)
            .fetch_all(&mut **tx)
            .await?;
        for r in rows {
            seen.insert(hash32(r.try_get(0)?)?);
        }
        Ok(seen)
    }

    async fn insert_spent(
        tx: &mut Transaction<'static, Postgres>,
        eid: &[u8],
        rows: &[(Hash, i64)],
    ) -> Result<bool, StoreError> {
        let (nullifiers, idx): (Vec<Vec<u8>>, Vec<i64>) =
            rows.iter().map(|(n, i)| (n.to_vec(), *i)).unzip();
        let r = sqlx::query("INSERT INTO spent_nullifiers (election_id, nullifier, idx) SELECT $1, n, i FROM UNNEST($2::bytea[], $3::bigint[]) AS t(n, i) ON CONFLICT DO NOTHING")
            .bind(eid)
            .bind(&nullifiers)
            .bind(&idx)
            .execute(&mut **tx)
            .await?;
        Ok(r.rows_affected() == rows.len() as u64)
    }

    async fn insert_ciphertexts(
        tx: &mut Transaction<'static, Postgres>,
        eid: &[u8],
        rows: &[Hash],
    ) -> Result<bool, StoreError> {
        let ciphertexts: Vec<Vec<u8>> = rows.iter().map(|a| a.to_vec()).collect();
        let r = sqlx::query("INSERT INTO ciphertexts (election_id, a) SELECT $1, a FROM UNNEST($2::bytea[]) AS t(a) ON CONFLICT DO NOTHING")
            .bind(eid)
            .bind(&ciphertexts)
            .execute(&mut **tx)
            .await?;
        Ok(r.rows_affected() == rows.len() as u64)
    }

    async fn insert_entries(
        tx: &mut Transaction<'static, Postgres>,
        eid: &[u8],
        rows: &[(i64, &NewEntry)],
    ) -> Result<(), StoreError> {
        let idxs: Vec<i64> = rows.iter().map(|(i, _)| *i).collect();
        let kinds: Vec<&str> = rows.iter().map(|(_, e)| e.kind.as_str()).collect();
        let datas: Vec<&[u8]> = rows.iter().map(|(_, e)| &e.data[..]).collect();
        let leaves: Vec<Vec<u8>> = rows
            .iter()
            .map(|(_, e)| leaf_hash(&e.data).to_vec())
            .collect();
        let nulls: Vec<Option<Vec<u8>>> = rows
            .iter()
            .map(|(_, e)| e.nullifier.map(|n| n.to_vec()))
            .collect();
        let digests: Vec<Option<Vec<u8>>> = rows
            .iter()
            .map(|(_, e)| e.digest.map(|d| d.to_vec()))
            .collect();
        sqlx::query("INSERT INTO entries (election_id, idx, kind, data, leaf_hash, nullifier, digest) SELECT $1, i, k, d, l, n, g FROM UNNEST($2::bigint[], $3::text[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[]) AS t(i, k, d, l, n, g)")
            .bind(eid)
            .bind(&idxs)
            .bind(&kinds)
            .bind(&datas)
            .bind(&leaves)
            .bind(&nulls)
            .bind(&digests)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
