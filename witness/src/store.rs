//! The witness's own storage: an SQLite file (WAL, `synchronous=FULL`, one connection)
//! holding, per log, the latest checkpoint it cosigned, and the evidence of every fork it
//! was shown. A cosignature is returned only after its checkpoint is committed here.

use serde::Serialize;
use sqlx::sqlite::SqliteSynchronous;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;
use zkvote_core::log::Hash;

/// The store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database error.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be created or migrated.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row that is not what the witness writes.
    #[error("corrupt witness store: {0}")]
    Corrupt(String),
}

/// The latest checkpoint cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The log's signed note, as submitted.
    pub checkpoint: String,
}

/// A signed checkpoint the witness refused because it did not extend the one cosigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The log's origin line.
    pub origin: String,
    /// When it was received (POSIX seconds).
    pub received_at: u64,
    /// Why it was refused.
    pub reason: String,
    /// The request's old size.
    pub old_size: u64,
    /// The request's consistency proof (base64 hashes).
    pub proof: Vec<String>,
    /// The signed note submitted.
    pub submitted: String,
    /// The signed note the witness had cosigned for that log.
    pub cosigned: String,
}

/// The schema (`migrations`), embedded.
const MIGRATIONS: &[zkvote_sql::Embedded] =
    zkvote_sql::embed!("../migrations", ["0001_witness.sql",]);
zkvote_sql::test_embeds_folder!("migrations", MIGRATIONS);

/// The witness's store.
#[derive(Clone)]
pub struct WitnessStore {
    pool: SqlitePool,
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    zkvote_sql::to_i64(v).ok_or_else(|| StoreError::Corrupt(format!("{v} does not fit a row")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    zkvote_sql::to_u64(v).ok_or_else(|| StoreError::Corrupt(format!("negative value {v}")))
}

impl WitnessStore {
    /// Opens (creating if needed) the SQLite file at `path` and migrates it.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let path = path.strip_prefix("sqlite://").unwrap_or(path);
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        zkvote_sql::migrator(MIGRATIONS).await?.run(&pool).await?;
        Ok(WitnessStore { pool })
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    pub async fn latest(&self, origin: &str) -> Result<Option<Latest>, StoreError> {
        let row = sqlx::query("SELECT size, root, checkpoint FROM logs WHERE origin = $1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let root: Vec<u8> = r.try_get("root")?;
            Ok(Latest {
                size: to_u64(r.try_get("size")?)?,
                root: root
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("a root is not 32 bytes".into()))?,
                checkpoint: r.try_get("checkpoint")?,
            })
        })
        .transpose()
    }

    /// Records `next` as the latest cosigned checkpoint of `origin` if the stored one still
    /// has size `from` (`None`: none stored), in one statement; false if it has moved.
    pub async fn advance(
        &self,
        origin: &str,
        from: Option<u64>,
        next: &Latest,
        now: u64,
    ) -> Result<bool, StoreError> {
        let (size, at) = (to_i64(next.size)?, to_i64(now)?);
        let done = match from {
            None => sqlx::query(
                "INSERT INTO logs (origin, size, root, checkpoint, cosigned_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin) DO NOTHING",
            )
            .bind(origin)
            .bind(size)
            .bind(&next.root[..])
            .bind(&next.checkpoint)
            .bind(at)
            .execute(&self.pool)
            .await?
            .rows_affected(),
            Some(old) => sqlx::query(
                "UPDATE logs SET size = $2, root = $3, checkpoint = $4, cosigned_at = $5
                 WHERE origin = $1 AND size = $6",
            )
            .bind(origin)
            .bind(size)
            .bind(&next.root[..])
            .bind(&next.checkpoint)
            .bind(at)
            .bind(to_i64(old)?)
            .execute(&self.pool)
            .await?
            .rows_affected(),
        };
        Ok(done == 1)
    }

    /// Keeps the evidence of a refused fork.
    pub async fn add_evidence(&self, e: &Evidence) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO evidence (origin, received_at, reason, old_size, proof, submitted, cosigned)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&e.origin)
        .bind(to_i64(e.received_at)?)
        .bind(&e.reason)
        .bind(to_i64(e.old_size)?)
        .bind(e.proof.join("\n"))
        .bind(&e.submitted)
        .bind(&e.cosigned)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every piece of evidence kept, oldest first.
    pub async fn evidence(&self) -> Result<Vec<Evidence>, StoreError> {
        let rows = sqlx::query(
            "SELECT origin, received_at, reason, old_size, proof, submitted, cosigned
             FROM evidence ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let proof: String = r.try_get("proof")?;
                Ok(Evidence {
                    origin: r.try_get("origin")?,
                    received_at: to_u64(r.try_get("received_at")?)?,
                    reason: r.try_get("reason")?,
                    old_size: to_u64(r.try_get("old_size")?)?,
                    proof: proof
                        .split('\n')
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                        .collect(),
                    submitted: r.try_get("submitted")?,
                    cosigned: r.try_get("cosigned")?,
                })
            })
            .collect()
    }
}
