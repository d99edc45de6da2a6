//! The SQLite dialect (the embedded default): opening the file (WAL, `synchronous=FULL`
//! checked, a single writer connection and a pool of readers), and its SQL for the group
//! append (lookups with `IN (...)` and multi-row `INSERT`s, in chunks under SQLite's
//! variable limit).

use super::{hash32, Backend, GroupSql, NewEntry, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;
use zkvote_core::log::{leaf_hash, Hash};

/// The schema (`migrations/sqlite`), embedded.
pub(super) const MIGRATIONS: &[zkvote_sql::Embedded] = zkvote_sql::embed!(
    "../../migrations/sqlite",
    [
        "0001_log.sql",
        "0002_election_data.sql",
        "0003_phase.sql",
        "0004_digest.sql",
        "0005_drop_nullifier_index.sql",
        "0006_single_use.sql",
        "0007_content_addressed_blobs.sql",
        "0008_log_chunks.sql",
    ]
);
zkvote_sql::test_embeds_folder!("migrations/sqlite", MIGRATIONS);

/// Rows per multi-row statement (7 columns each, under SQLite's variable limit).
const ROWS: usize = 500;

/// Opens (creating if needed) and migrates the database file at `path`.
pub(super) async fn open(path: &str) -> Result<Backend, StoreError> {
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts.clone())
        .await?;
    zkvote_sql::migrator(MIGRATIONS).await?.run(&writer).await?;
    move_legacy_blobs(&writer).await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await?;
    for pool in [&writer, &reader] {
        check_durable(pool).await?;
    }
    Ok(Backend::Sqlite { writer, reader })
}

/// Refuses a connection that does not commit durably (`synchronous=FULL`, WAL).
async fn check_durable(pool: &SqlitePool) -> Result<(), StoreError> {
    let sync: i64 = sqlx::query("PRAGMA synchronous")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    if sync != 2 {
        return Err(StoreError::Durability(format!(
            "SQLite synchronous = {sync}, expected 2 (FULL)"
        )));
    }
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(pool)
        .await?
        .try_get(0)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Durability(format!(
            "SQLite journal_mode = {mode}, expected WAL"
        )));
    }
    Ok(())
}

/// Moves the rows of the pre-content-addressing `blobs` table (SQLite cannot hash in SQL)
/// into `blob_data` and `election_blobs`, then drops it; nothing to do once it is gone.
async fn move_legacy_blobs(writer: &SqlitePool) -> Result<(), StoreError> {
    use sha2::Digest;
    let exists = sqlx::query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'blobs'")
        .fetch_optional(writer)
        .await?
        .is_some();
    if !exists {
        return Ok(());
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let rows = sqlx::query("SELECT election_id, name, data FROM blobs")
        .fetch_all(&mut *tx)
        .await?;
    for r in rows {
        let (eid, name, data): (Vec<u8>, String, Vec<u8>) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let hash: [u8; 32] = sha2::Sha256::digest(&data).into();
        put_blob_tx!(&mut tx, &eid[..], &name, &hash, &data[..]);
    }
    sqlx::query("DROP TABLE blobs").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

impl GroupSql for SqlitePool {
    type Db = Sqlite;

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.begin_with("BEGIN IMMEDIATE").await?)
    }

    shared_group_steps!(Sqlite, super::LOCK_SQLITE);

    async fn spent(
        tx: &mut Transaction<'static, Sqlite>,
        eid: &[u8],
        nullifiers: &[Vec<u8>],
    ) -> Result<HashMap<Hash, i64>, StoreError> {
        let mut spent = HashMap::new();
        for chunk in nullifiers.chunks(ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT nullifier, idx FROM spent_nullifiers WHERE election_id = ",
            );
            q.push_bind(eid).push(" AND nullifier IN (");
            let mut list = q.separated(", ");
            for n in chunk {
                list.push_bind(&n[..]);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut **tx).await? {
                spent.insert(hash32(r.try_get(0)?)?, r.try_get(1)?);
            }
        }
        Ok(spent)
    }

    async fn seen(
        tx: &mut Transaction<'static, Sqlite>,
        eid: &[u8],
        ciphertexts: &[Vec<u8>],
    ) -> Result<HashSet<Hash>, StoreError> {
        let mut seen = HashSet::new();
        for chunk in ciphertexts.chunks(ROWS) {
            let mut q =
                QueryBuilder::<Sqlite>::new("SELECT a FROM ciphertexts WHERE election_id = ");
            q.push_bind(eid).push(" AND a IN (");
            let mut list = q.separated(", ");
            for a in chunk {
                list.push_bind(&a[..]);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut **tx).await? {
                seen.insert(hash32(r.try_get(0)?)?);
            }
        }
        Ok(seen)
    }

    async fn insert_spent(
        tx: &mut Transaction<'static, Sqlite>,
        eid: &[u8],
        rows: &[(Hash, i64)],
    ) -> Result<bool, StoreError> {
        for chunk in rows.chunks(ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO spent_nullifiers (election_id, nullifier, idx) ",
            );
            q.push_values(chunk, |mut b, (n, i)| {
                b.push_bind(eid).push_bind(&n[..]).push_bind(*i);
            });
            q.push(" ON CONFLICT DO NOTHING");
            if q.build().execute(&mut **tx).await?.rows_affected() != chunk.len() as u64 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn insert_ciphertexts(
        tx: &mut Transaction<'static, Sqlite>,
        eid: &[u8],
        rows: &[Hash],
    ) -> Result<bool, StoreError> {
        for chunk in rows.chunks(ROWS) {
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO ciphertexts (election_id, a) ");
            q.push_values(chunk, |mut b, a| {
                b.push_bind(eid).push_bind(&a[..]);
            });
            q.push(" ON CONFLICT DO NOTHING");
            if q.build().execute(&mut **tx).await?.rows_affected() != chunk.len() as u64 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn insert_entries(
        tx: &mut Transaction<'static, Sqlite>,
        eid: &[u8],
        rows: &[(i64, &NewEntry)],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS / 2) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO entries (election_id, idx, kind, data, leaf_hash, nullifier, digest) ",
            );
            q.push_values(chunk, |mut b, (i, e)| {
                b.push_bind(eid)
                    .push_bind(*i)
                    .push_bind(e.kind.as_str())
                    .push_bind(&e.data[..])
                    .push_bind(leaf_hash(&e.data).to_vec())
                    .push_bind(e.nullifier.map(|n| n.to_vec()))
                    .push_bind(e.digest.map(|d| d.to_vec()));
            });
            q.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}
