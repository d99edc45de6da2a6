//! The mirror's own storage: an SQLite file (WAL, `synchronous=FULL`) holding, per
//! election, the entries pulled from the board, the signed checkpoints they were proven
//! under, and the evidence of a fork. Entries are written only once proven to be on a
//! signed checkpoint's history, with that checkpoint, in one transaction.

use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;
use zkvote_core::log::Hash;
use zkvote_protocol::RecordEntry;

/// The store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database error.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be created or migrated.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row that is not what the mirror writes.
    #[error("corrupt mirror store: {0}")]
    Corrupt(String),
}

/// A signed checkpoint the mirror verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The board's signed note, with the witnesses' cosignature lines.
    pub note: String,
}

/// What the store holds of one election's checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// The latest checkpoint whose every entry is held: what the mirror serves.
    pub held: Option<Signed>,
    /// A newer checkpoint that the entries held past `held` were proven to be on, while
    /// the mirror catches up to it.
    pub pending: Option<Signed>,
}

/// Two signed checkpoints of one election that are not on one history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fork {
    /// When the mirror saw it (POSIX seconds).
    pub seen_at: u64,
    /// Why the two cannot be on one history.
    pub reason: String,
    /// The signed note the mirror had verified.
    pub held: String,
    /// The signed note the board showed next.
    pub shown: String,
    /// The consistency proof the board gave between them (hex hashes; empty when the
    /// sizes needed none).
    pub proof: Vec<String>,
}

/// The schema (`migrations`), embedded.
const MIGRATIONS: &[zkvote_sql::Embedded] =
    zkvote_sql::embed!("../migrations", ["0001_mirror.sql",]);
zkvote_sql::test_embeds_folder!("migrations", MIGRATIONS);

/// The mirror's store.
#[derive(Clone)]
pub struct MirrorStore {
    pool: SqlitePool,
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    zkvote_sql::to_i64(v).ok_or_else(|| StoreError::Corrupt(format!("{v} does not fit a row")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    zkvote_sql::to_u64(v).ok_or_else(|| StoreError::Corrupt(format!("negative value {v}")))
}

fn hash32(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
}

fn signed(size: i64, root: Vec<u8>, note: String) -> Result<Signed, StoreError> {
    Ok(Signed {
        size: to_u64(size)?,
        root: hash32(root)?,
        note,
    })
}

impl MirrorStore {
    /// Opens (creating if needed) the SQLite file at `path` and migrates it.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let path = path.strip_prefix("sqlite://").unwrap_or(path);
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        zkvote_sql::migrator(MIGRATIONS).await?.run(&pool).await?;
        Ok(MirrorStore { pool })
    }

    /// The checkpoints held for `eid`.
    pub async fn checkpoints(&self, eid: &[u8; 32]) -> Result<Checkpoints, StoreError> {
        let row = sqlx::query(
            "SELECT size, root, note, pending_size, pending_root, pending_note
             FROM checkpoints WHERE election_id = $1",
        )
        .bind(&eid[..])
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(Checkpoints::default());
        };
        let held = match r.try_get::<Option<i64>, _>("size")? {
            Some(size) => Some(signed(size, r.try_get("root")?, r.try_get("note")?)?),
            None => None,
        };
        let pending = match r.try_get::<Option<i64>, _>("pending_size")? {
            Some(size) => Some(signed(
                size,
                r.try_get("pending_root")?,
                r.try_get("pending_note")?,
            )?),
            None => None,
        };
        Ok(Checkpoints { held, pending })
    }

    /// The fork kept for `eid`, if any.
    pub async fn fork(&self, eid: &[u8; 32]) -> Result<Option<Fork>, StoreError> {
        let row = sqlx::query(
            "SELECT seen_at, reason, held, shown, proof FROM forks WHERE election_id = $1",
        )
        .bind(&eid[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let proof: String = r.try_get("proof")?;
            Ok(Fork {
                seen_at: to_u64(r.try_get("seen_at")?)?,
                reason: r.try_get("reason")?,
                held: r.try_get("held")?,
                shown: r.try_get("shown")?,
                proof: proof.lines().map(str::to_string).collect(),
            })
        })
        .transpose()
    }

    /// Keeps the evidence of a fork (the first one seen for `eid` stays).
    pub async fn keep_fork(&self, eid: &[u8; 32], fork: &Fork) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO forks (election_id, seen_at, reason, held, shown, proof)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (election_id) DO NOTHING",
        )
        .bind(&eid[..])
        .bind(to_i64(fork.seen_at)?)
        .bind(&fork.reason)
        .bind(&fork.held)
        .bind(&fork.shown)
        .bind(fork.proof.join("\n"))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the entries past the held checkpoint will be proven on `pending`.
    pub async fn set_pending(&self, eid: &[u8; 32], pending: &Signed) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO checkpoints (election_id, pending_size, pending_root, pending_note)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (election_id) DO UPDATE SET pending_size = excluded.pending_size,
               pending_root = excluded.pending_root, pending_note = excluded.pending_note",
        )
        .bind(&eid[..])
        .bind(to_i64(pending.size)?)
        .bind(&pending.root[..])
        .bind(&pending.note)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends `entries` (which must follow the ones held), with their `leaves` (one
    /// leaf hash each), and, when they complete the pending checkpoint, makes it the held
    /// one: one transaction.
    pub async fn append(
        &self,
        eid: &[u8; 32],
        entries: &[RecordEntry],
        leaves: &[Hash],
        completes: Option<&Signed>,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (e, leaf) in entries.iter().zip(leaves) {
            sqlx::query(
                "INSERT INTO entries (election_id, idx, kind, leaf, data)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&eid[..])
            .bind(to_i64(e.index)?)
            .bind(&e.kind)
            .bind(&leaf[..])
            .bind(&e.data)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cp) = completes {
            sqlx::query(
                "UPDATE checkpoints SET size = $2, root = $3, note = $4, verified_at = $5,
                   pending_size = NULL, pending_root = NULL, pending_note = NULL
                 WHERE election_id = $1",
            )
            .bind(&eid[..])
            .bind(to_i64(cp.size)?)
            .bind(&cp.root[..])
            .bind(&cp.note)
            .bind(to_i64(now)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The leaf hashes of up to `limit` entries from index `from`, in log order (as
    /// written with the entries).
    pub async fn leaves(
        &self,
        eid: &[u8; 32],
        from: u64,
        limit: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let rows = sqlx::query(
            "SELECT leaf FROM entries WHERE election_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
        )
        .bind(&eid[..])
        .bind(to_i64(from)?)
        .bind(to_i64(limit)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| hash32(r.try_get("leaf")?)).collect()
    }

    /// The kind of the last entry held, if any.
    pub async fn last_kind(&self, eid: &[u8; 32]) -> Result<Option<String>, StoreError> {
        let kind = sqlx::query_scalar(
            "SELECT kind FROM entries WHERE election_id = $1 ORDER BY idx DESC LIMIT 1",
        )
        .bind(&eid[..])
        .fetch_optional(&self.pool)
        .await?;
        Ok(kind)
    }

    /// Up to `limit` entries from index `from`, of `kind` only if given, in log order.
    pub async fn entries(
        &self,
        eid: &[u8; 32],
        from: u64,
        limit: u64,
        kind: Option<&str>,
    ) -> Result<Vec<RecordEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT idx, kind, data FROM entries
             WHERE election_id = $1 AND idx >= $2 AND ($4 IS NULL OR kind = $4)
             ORDER BY idx LIMIT $3",
        )
        .bind(&eid[..])
        .bind(to_i64(from)?)
        .bind(to_i64(limit)?)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordEntry {
                    index: to_u64(r.try_get("idx")?)?,
                    kind: r.try_get("kind")?,
                    data: r.try_get("data")?,
                })
            })
            .collect()
    }
}
