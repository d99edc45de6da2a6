//! Durable storage of the log through sqlx: SQLite (the embedded default: WAL,
//! `synchronous=FULL` checked at startup, a single writer connection) or PostgreSQL
//! (appends sequenced by the election's counter row locked `FOR UPDATE` in the same
//! transaction that inserts the entry; `UNIQUE` nullifier and ciphertext tables filled with
//! `INSERT ... ON CONFLICT DO NOTHING`, so a duplicate never gets an index).
//!
//! SQLite write transactions start with `BEGIN IMMEDIATE`, so a second writer on the same
//! file waits for the lock (up to the busy timeout) instead of failing on lock upgrade.
//!
//! An append returns only after its transaction committed durably.
//!
//! The logic of every write is written once here; `sqlite.rs` and `postgres.rs` hold only
//! what differs: opening the database, and the SQL of the group append's steps
//! ([`GroupSql`]).

use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::Row;
use zkvote_core::log::{leaf_hash, Hash};
use zkvote_protocol::{genesis_phase, transition, Phase};

/// Storage errors. Every refusal leaves the store unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite://...` nor `postgres://...`.
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://...)")]
    Url(String),
    /// The database does not guarantee durable commits.
    #[error("database is not durable: {0}")]
    Durability(String),
    /// No such election.
    #[error("unknown election")]
    UnknownElection,
    /// The election already exists.
    #[error("election already exists")]
    ElectionExists,
    /// The nullifier has already voted (revote policy `reject`).
    #[error("nullifier already used by entry {0}")]
    NullifierUsed(u64),
    /// A ciphertext of this entry was already accepted.
    #[error("a ciphertext of this ballot was already accepted")]
    CiphertextReplayed,
    /// The election is in a phase where this entry is not allowed.
    #[error("the election is in phase {0:?}, where this entry is not allowed")]
    WrongPhase(String),
    /// The election already holds an entry with this entry's unique key (entry index).
    #[error("the log already holds an entry with key {key:?} (entry {index})")]
    Duplicate {
        /// The key (`Entry::unique_key`).
        key: String,
        /// The entry that holds it.
        index: u64,
    },
    /// The voter roll holds as many registrations as its depth allows.
    #[error("the voter roll is full")]
    RollFull,
    /// Database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migration failure.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub use zkvote_protocol::EntryKind;

/// An entry to append.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// Its kind.
    pub kind: EntryKind,
    /// Its exact bytes (the leaf data).
    pub data: Vec<u8>,
    /// For ballots: the nullifier.
    pub nullifier: Option<[u8; 32]>,
    /// For ballots under revote policy `reject`: the nullifier may be used once only.
    pub spend_nullifier: bool,
    /// For ballots: the `A` component of every ciphertext, never accepted twice.
    pub ciphertexts: Vec<[u8; 32]>,
    /// For ballots: the digest (tracker), indexed for lookups.
    pub digest: Option<[u8; 32]>,
    /// The entry's unique key (`Entry::unique_key`): an election holds at most one entry
    /// per key, checked in the append transaction.
    pub unique_key: Option<String>,
    /// Whether the protocol's phase rule ([`zkvote_protocol::transition`]) applies: the
    /// entry is refused unless the rule allows it in the election's stored phase, and
    /// moves the election to the phase the rule names, in the append transaction so that
    /// several board processes agree.
    pub phased: bool,
}

impl NewEntry {
    /// An entry with no uniqueness constraints.
    pub fn plain(kind: EntryKind, data: Vec<u8>) -> Self {
        NewEntry {
            kind,
            data,
            nullifier: None,
            spend_nullifier: false,
            ciphertexts: Vec::new(),
            digest: None,
            unique_key: None,
            phased: false,
        }
    }

    /// The same entry, under the protocol's phase rule.
    pub fn phased(mut self) -> Self {
        self.phased = true;
        self
    }

    /// The phase the election moves to with this entry from the `stored` phase: `None`
    /// (no change) for an entry outside the phase rule; a refusal if the rule does not
    /// allow it there.
    fn next_phase(&self, stored: &str) -> Result<Option<&'static str>, StoreError> {
        if !self.phased {
            return Ok(None);
        }
        let refused = || StoreError::WrongPhase(stored.to_string());
        let phase = Phase::from_name(stored).ok_or_else(refused)?;
        transition(Some(phase), self.kind)
            .map(|p| Some(p.as_str()))
            .map_err(|_| refused())
    }

    /// The same entry, refused if the election already holds one with `key`.
    pub fn unique(mut self, key: Option<String>) -> Self {
        self.unique_key = key;
        self
    }
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the log.
    pub index: u64,
    /// Kind name.
    pub kind: String,
    /// Exact bytes.
    pub data: Vec<u8>,
    /// `leaf_hash(data)`.
    pub leaf_hash: Hash,
}

/// A stored signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The signed note.
    pub note: String,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// The log store.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

fn hash32(v: Vec<u8>) -> Result<Hash, StoreError> {
    v.try_into().map_err(|_| {
        StoreError::Database(sqlx::Error::Decode("stored hash is not 32 bytes".into()))
    })
}

macro_rules! append_tx {
    ($tx:expr, $eid:expr, $entry:expr, $lock_sql:expr) => {{
        let tx = $tx;
        let row = sqlx::query($lock_sql).bind(&$eid[..]).fetch_optional(&mut **tx).await?;
        let (idx, phase): (i64, String) = match row {
            Some(r) => (r.try_get(0)?, r.try_get(1)?),
            None => return Err(StoreError::UnknownElection),
        };
        let next_phase = $entry.next_phase(&phase)?;
        if let (Some(n), true) = ($entry.nullifier, $entry.spend_nullifier) {
            let r = sqlx::query(
                "INSERT INTO spent_nullifiers (election_id, nullifier, idx) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&$eid[..])
            .bind(&n[..])
            .bind(idx)
            .execute(&mut **tx)
            .await?;
            if r.rows_affected() == 0 {
                let prev: i64 = sqlx::query("SELECT idx FROM spent_nullifiers WHERE election_id = $1 AND nullifier = $2")
                    .bind(&$eid[..])
                    .bind(&n[..])
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get(0)?;
                return Err(StoreError::NullifierUsed(prev as u64));
            }
        }
        if let Some(key) = &$entry.unique_key {
            let r = sqlx::query("INSERT INTO entry_keys (election_id, key, idx) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(&$eid[..])
                .bind(key)
                .bind(idx)
                .execute(&mut **tx)
                .await?;
            if r.rows_affected() == 0 {
                let prev: i64 = sqlx::query("SELECT idx FROM entry_keys WHERE election_id = $1 AND key = $2")
                    .bind(&$eid[..])
                    .bind(key)
                    .fetch_one(&mut **tx)
                    .await?
                    .try_get(0)?;
                return Err(StoreError::Duplicate { key: key.clone(), index: prev as u64 });
            }
        }
        for a in &$entry.ciphertexts {
            let r = sqlx::query("INSERT INTO ciphertexts (election_id, a) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&$eid[..])
                .bind(&a[..])
                .execute(&mut **tx)
                .await?;
            if r.rows_affected() == 0 {
                return Err(StoreError::CiphertextReplayed);
            }
        }
        sqlx::query(
            "INSERT INTO entries (election_id, idx, kind, data, leaf_hash, nullifier, digest) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&$eid[..])
        .bind(idx)
        .bind($entry.kind.as_str())
        .bind(&$entry.data[..])
        .bind(&leaf_hash(&$entry.data)[..])
        .bind($entry.nullifier.map(|n| n.to_vec()))
        .bind($entry.digest.map(|d| d.to_vec()))
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE elections SET next_index = $2, phase = COALESCE($3, phase) WHERE election_id = $1")
            .bind(&$eid[..])
            .bind(idx + 1)
            .bind(next_phase)
            .execute(&mut **tx)
            .await?;
        Ok::<u64, StoreError>(idx as u64)
    }};
}

/// Reads the election's counter row (next index, phase) in a SQLite write transaction
/// (`BEGIN IMMEDIATE` already holds the database's write lock).
const LOCK_SQLITE: &str = "SELECT next_index, phase FROM elections WHERE election_id = $1";
/// Reads and locks the election's counter row in a PostgreSQL transaction.
const LOCK_POSTGRES: &str =
    "SELECT next_index, phase FROM elections WHERE election_id = $1 FOR UPDATE";
/// Moves the election's next index after a group.
const SET_NEXT_INDEX: &str = "UPDATE elections SET next_index = $2 WHERE election_id = $1";

/// Runs `$body` in one write transaction of the store's backend and commits it. `$tx` is
/// the transaction (`&mut`; SQLite: `BEGIN IMMEDIATE` on the single writer; PostgreSQL: a
/// pool transaction) and `$lock` the statement that reads and locks the election's counter
/// row (`FOR UPDATE` on PostgreSQL). A `return` or `?` inside leaves the transaction
/// uncommitted, so it rolls back.
macro_rules! in_write_tx {
    ($self:expr, |$tx:ident, $lock:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite { writer, .. } => {
                let mut t = writer
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::from)?;
                let out = {
                    let $tx = &mut t;
                    let $lock = LOCK_SQLITE;
                    let _ = &$lock;
                    $body
                };
                t.commit().await.map_err(StoreError::from)?;
                out
            }
            Backend::Postgres(pool) => {
                let mut t = pool.begin().await.map_err(StoreError::from)?;
                let out = {
                    let $tx = &mut t;
                    let $lock = LOCK_POSTGRES;
                    let _ = &$lock;
                    $body
                };
                t.commit().await.map_err(StoreError::from)?;
                out
            }
        }
    };
}

macro_rules! with_reader {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite { reader: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` the backend's writing pool (one statement, autocommit).
macro_rules! with_writer {
    ($self:expr, $pool:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite { writer: $pool, .. } => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

/// Stores blob `$data` under its SHA-256 `$hash` and names it `$name` for election
/// `$eid`, in the transaction `$tx` (first write wins).
macro_rules! put_blob_tx {
    ($tx:expr, $eid:expr, $name:expr, $hash:expr, $data:expr) => {{
        let tx = $tx;
        sqlx::query("INSERT INTO blob_data (hash, data) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&$hash[..])
            .bind($data)
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO election_blobs (election_id, name, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind($eid)
            .bind($name)
            .bind(&$hash[..])
            .execute(&mut **tx)
            .await?;
    }};
}

/// The group-append steps whose SQL is the same on both backends (`$db` the sqlx
/// database type, `$lock` its counter-row statement), for their [`GroupSql`] impls.
macro_rules! shared_group_steps {
    ($db:ty, $lock:expr) => {
        async fn lock(
            tx: &mut sqlx::Transaction<'static, $db>,
            eid: &[u8],
        ) -> Result<Option<(i64, String)>, StoreError> {
            let row = sqlx::query($lock)
                .bind(eid)
                .fetch_optional(&mut **tx)
                .await?;
            Ok(match row {
                Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
                None => None,
            })
        }

        async fn set_next(
            tx: &mut sqlx::Transaction<'static, $db>,
            eid: &[u8],
            next: i64,
        ) -> Result<(), StoreError> {
            sqlx::query(super::SET_NEXT_INDEX)
                .bind(eid)
                .bind(next)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }
    };
}

mod group;
mod postgres;
mod sqlite;

use group::{append_group, GroupSql};

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite://PATH` or `postgres://...`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            sqlite::open(path).await?
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::open(url).await?
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        Ok(Store { backend })
    }

    /// Which backend: `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Creates a version-1 election whose log starts with `genesis` (index 0).
    pub async fn create_election(
        &self,
        election_id: &[u8; 32],
        genesis: NewEntry,
    ) -> Result<u64, StoreError> {
        self.create_election_in(election_id, genesis, genesis_phase(1))
            .await
    }

    /// Creates an election whose log starts with `genesis` (index 0), in `phase`.
    pub async fn create_election_in(
        &self,
        election_id: &[u8; 32],
        genesis: NewEntry,
        phase: Phase,
    ) -> Result<u64, StoreError> {
        let insert = "INSERT INTO elections (election_id, next_index, phase) VALUES ($1, 0, $2) \
                      ON CONFLICT DO NOTHING";
        let idx = in_write_tx!(self, |tx, lock| {
            let created = sqlx::query(insert)
                .bind(&election_id[..])
                .bind(phase.as_str())
                .execute(&mut **tx)
                .await?
                .rows_affected();
            if created == 0 {
                return Err(StoreError::ElectionExists);
            }
            append_tx!(tx, election_id, genesis, lock)?
        });
        Ok(idx)
    }

    /// Appends an entry; returns its index once it is durably committed. A nullifier or
    /// ciphertext conflict refuses the entry and changes nothing.
    pub async fn append(
        &self,
        election_id: &[u8; 32],
        entry: &NewEntry,
    ) -> Result<u64, StoreError> {
        let idx = in_write_tx!(self, |tx, lock| append_tx!(tx, election_id, entry, lock)?);
        Ok(idx)
    }

    /// Appends an entry computed from the election's whole log: under the election's write
    /// lock, the entries from index `from` to the end (ballot bodies left out, as in
    /// [`Store::entries_for_replay`]) are read and handed to `compute`, and the entry it
    /// returns is appended in the same transaction. An entry that sums up the log (the
    /// frozen roll, the joint key, the result) thus never misses an entry that another
    /// board process appended before it. A refusal by `compute` changes nothing.
    pub async fn append_computed<E: From<StoreError>>(
        &self,
        election_id: &[u8; 32],
        from: u64,
        compute: impl FnOnce(Vec<StoredEntry>) -> Result<NewEntry, E>,
    ) -> Result<u64, E> {
        let read = "SELECT idx, kind, CASE WHEN kind = 'ballot' THEN substr(data, 1, 0) ELSE data END, leaf_hash FROM entries WHERE election_id = $1 AND idx >= $2 ORDER BY idx";
        macro_rules! computed {
            ($tx:expr, $lock:expr) => {{
                let tx = $tx;
                if sqlx::query($lock)
                    .bind(&election_id[..])
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(StoreError::from)?
                    .is_none()
                {
                    return Err(StoreError::UnknownElection.into());
                }
                let fresh = sqlx::query(read)
                    .bind(&election_id[..])
                    .bind(from.min(i64::MAX as u64) as i64)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(StoreError::from)?
                    .into_iter()
                    .map(row_to_entry)
                    .collect::<Result<Vec<_>, _>>()?;
                let entry = compute(fresh)?;
                async { append_tx!(&mut *tx, election_id, entry, $lock) }.await?
            }};
        }
        let idx = in_write_tx!(self, |tx, lock| computed!(tx, lock));
        Ok(idx)
    }

    /// Appends several entries in one durable transaction (one commit for the group).
    /// Each entry succeeds or fails on its own (a savepoint per entry): a conflicting
    /// entry is refused and changes nothing, the others are appended in order.
    pub async fn append_batch(
        &self,
        election_id: &[u8; 32],
        entries: &[NewEntry],
    ) -> Result<Vec<Result<u64, StoreError>>, StoreError> {
        use sqlx::Acquire;
        let group = match &self.backend {
            Backend::Sqlite { writer, .. } => append_group(writer, election_id, entries).await?,
            Backend::Postgres(pool) => append_group(pool, election_id, entries).await?,
        };
        if let Some(out) = group {
            return Ok(out);
        }
        let out = in_write_tx!(self, |tx, lock| {
            let mut out = Vec::with_capacity(entries.len());
            for entry in entries {
                let mut sp = tx.begin().await?;
                let r = async { append_tx!(&mut sp, election_id, entry, lock) }.await;
                if r.is_ok() {
                    sp.commit().await?;
                } else {
                    sp.rollback().await?;
                }
                out.push(r);
            }
            out
        });
        Ok(out)
    }

    /// Number of entries of an election.
    pub async fn size(&self, election_id: &[u8; 32]) -> Result<u64, StoreError> {
        let q = "SELECT next_index, phase FROM elections WHERE election_id = $1";
        let n: Option<i64> = with_reader!(self, pool => match sqlx::query(q).bind(&election_id[..]).fetch_optional(pool).await? {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        });
        Ok(n.ok_or(StoreError::UnknownElection)? as u64)
    }

    /// Entries `from .. from + limit`, in log order.
    pub async fn entries(
        &self,
        election_id: &[u8; 32],
        from: u64,
        limit: u64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let q = "SELECT idx, kind, data, leaf_hash FROM entries WHERE election_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3";
        self.fetch_entries(q, election_id, None, from, limit).await
    }

    /// Runs an entries query whose parameters are the election id, then `kind` if given,
    /// then `from` and `limit`; its columns are index, kind, data, leaf hash.
    async fn fetch_entries(
        &self,
        q: &str,
        election_id: &[u8; 32],
        kind: Option<EntryKind>,
        from: u64,
        limit: u64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let clamp = |v: u64| v.min(i64::MAX as u64) as i64;
        with_reader!(self, pool => {
            let mut query = sqlx::query(q).bind(&election_id[..]);
            if let Some(k) = kind {
                query = query.bind(k.as_str());
            }
            query
                .bind(clamp(from))
                .bind(clamp(limit))
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(row_to_entry)
                .collect()
        })
    }

    /// Leaf hashes from `from` on, in log order, at most `limit` of them.
    pub async fn leaf_hashes(
        &self,
        election_id: &[u8; 32],
        from: u64,
        limit: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let q = "SELECT leaf_hash FROM entries WHERE election_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3";
        with_reader!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .bind(from.min(i64::MAX as u64) as i64)
            .bind(limit.min(i64::MAX as u64) as i64)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| hash32(r.try_get(0)?))
            .collect())
    }

    /// Index of the ballot entry with this digest.
    pub async fn index_of_digest(
        &self,
        election_id: &[u8; 32],
        digest: &[u8; 32],
    ) -> Result<Option<u64>, StoreError> {
        let q =
            "SELECT idx FROM entries WHERE election_id = $1 AND digest = $2 ORDER BY idx LIMIT 1";
        with_reader!(self, pool => match sqlx::query(q).bind(&election_id[..]).bind(&digest[..]).fetch_optional(pool).await? {
            Some(r) => Ok(Some(r.try_get::<i64, _>(0)? as u64)),
            None => Ok(None),
        })
    }

    /// Up to `limit` entries of one kind from index `from` on, in log order.
    pub async fn entries_of_kind_from(
        &self,
        election_id: &[u8; 32],
        kind: EntryKind,
        from: u64,
        limit: u64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let q = "SELECT idx, kind, data, leaf_hash FROM entries WHERE election_id = $1 AND kind = $2 AND idx >= $3 ORDER BY idx LIMIT $4";
        self.fetch_entries(q, election_id, Some(kind), from, limit)
            .await
    }

    /// Up to `limit` entries from index `from` on, in log order, with the data of ballot
    /// entries left out (empty): what replaying an election's state needs.
    pub async fn entries_for_replay(
        &self,
        election_id: &[u8; 32],
        from: u64,
        limit: u64,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let q = "SELECT idx, kind, CASE WHEN kind = 'ballot' THEN substr(data, 1, 0) ELSE data END, leaf_hash FROM entries WHERE election_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3";
        self.fetch_entries(q, election_id, None, from, limit).await
    }

    /// The index of the last ballot of each nullifier (the ballots counted under
    /// `last-ballot-counts`).
    pub async fn last_ballot_per_nullifier(
        &self,
        election_id: &[u8; 32],
    ) -> Result<Vec<u64>, StoreError> {
        let q = "SELECT MAX(idx) FROM entries WHERE election_id = $1 AND kind = 'ballot' GROUP BY nullifier";
        with_reader!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| Ok(r.try_get::<i64, _>(0)? as u64))
            .collect())
    }

    /// Indices of the entries carrying `nullifier`, in log order (a scan of the election's
    /// entries: for audits and tests, not the hot path).
    pub async fn entries_with_nullifier(
        &self,
        election_id: &[u8; 32],
        nullifier: &[u8; 32],
    ) -> Result<Vec<u64>, StoreError> {
        let q = "SELECT idx FROM entries WHERE election_id = $1 AND nullifier = $2 ORDER BY idx";
        with_reader!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .bind(&nullifier[..])
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| Ok(r.try_get::<i64, _>(0)? as u64))
            .collect())
    }

    /// Stores a signed checkpoint; if one of that size exists, returns the stored one.
    pub async fn put_checkpoint(
        &self,
        election_id: &[u8; 32],
        cp: &StoredCheckpoint,
    ) -> Result<StoredCheckpoint, StoreError> {
        let q = "INSERT INTO checkpoints (election_id, size, root, note) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
        with_writer!(self, pool => {
            sqlx::query(q)
            .bind(&election_id[..])
            .bind(cp.size as i64)
            .bind(&cp.root[..])
            .bind(&cp.note)
            .execute(pool)
            .await?;
        });
        Ok(self
            .checkpoint_at(election_id, cp.size)
            .await?
            .expect("just stored"))
    }

    /// Replaces the note of the stored checkpoint of `size` by the same note with the
    /// witnesses' cosignature lines appended (the board's signed part unchanged), so that
    /// every board process and restart publishes it.
    pub async fn put_cosigned(
        &self,
        election_id: &[u8; 32],
        size: u64,
        note: &str,
    ) -> Result<(), StoreError> {
        let q = "UPDATE checkpoints SET note = $3 WHERE election_id = $1 AND size = $2";
        with_writer!(self, pool => {
            sqlx::query(q)
            .bind(&election_id[..])
            .bind(size as i64)
            .bind(note)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The stored checkpoint of exactly `size`, if any.
    pub async fn checkpoint_at(
        &self,
        election_id: &[u8; 32],
        size: u64,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let q = "SELECT size, root, note FROM checkpoints WHERE election_id = $1 AND size = $2";
        with_reader!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .bind(size as i64)
            .fetch_optional(pool)
            .await?
            .map(row_to_checkpoint)
            .transpose())
    }

    /// The largest stored checkpoint.
    pub async fn latest_checkpoint(
        &self,
        election_id: &[u8; 32],
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let q = "SELECT size, root, note FROM checkpoints WHERE election_id = $1 ORDER BY size DESC LIMIT 1";
        with_reader!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .fetch_optional(pool)
            .await?
            .map(row_to_checkpoint)
            .transpose())
    }
}

impl Store {
    /// Every election on this board.
    pub async fn election_ids(&self) -> Result<Vec<[u8; 32]>, StoreError> {
        let q = "SELECT election_id FROM elections ORDER BY election_id";
        with_reader!(self, pool => sqlx::query(q)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| hash32(r.try_get(0)?))
            .collect())
    }

    /// Stores a named blob for an election (replacing none: the first write wins). The
    /// content is stored once, under its SHA-256, however many elections name it.
    pub async fn put_blob(
        &self,
        election_id: &[u8; 32],
        name: &str,
        data: &[u8],
    ) -> Result<(), StoreError> {
        use sha2::Digest;
        let hash: [u8; 32] = sha2::Sha256::digest(data).into();
        in_write_tx!(self, |tx, _lock| put_blob_tx!(
            tx,
            &election_id[..],
            name,
            &hash,
            data
        ));
        Ok(())
    }

    /// A named blob.
    pub async fn blob(
        &self,
        election_id: &[u8; 32],
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let q = "SELECT d.data FROM election_blobs e JOIN blob_data d ON d.hash = e.hash WHERE e.election_id = $1 AND e.name = $2";
        with_reader!(self, pool => match sqlx::query(q).bind(&election_id[..]).bind(name).fetch_optional(pool).await? {
            Some(r) => Ok(Some(r.try_get(0)?)),
            None => Ok(None),
        })
    }

    /// Stores chunk `chunk` of an election's log snapshot (`crate::snapshot`), replacing
    /// any stored before (the writer built it by applying the chunk's entries, so a
    /// chunk that failed its checks at start-up is repaired by the replay that follows).
    pub async fn put_log_chunk(
        &self,
        election_id: &[u8; 32],
        chunk: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        let q = "INSERT INTO log_chunks (election_id, chunk, data) VALUES ($1, $2, $3) ON CONFLICT (election_id, chunk) DO UPDATE SET data = excluded.data";
        with_writer!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .bind(chunk.min(i64::MAX as u64) as i64)
            .bind(data)
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Chunk `chunk` of an election's log snapshot, if stored.
    pub async fn log_chunk(
        &self,
        election_id: &[u8; 32],
        chunk: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let q = "SELECT data FROM log_chunks WHERE election_id = $1 AND chunk = $2";
        with_reader!(self, pool => match sqlx::query(q).bind(&election_id[..]).bind(chunk.min(i64::MAX as u64) as i64).fetch_optional(pool).await? {
            Some(r) => Ok(Some(r.try_get(0)?)),
            None => Ok(None),
        })
    }

    /// Number of distinct blob contents stored (each kept once).
    pub async fn blob_contents(&self) -> Result<u64, StoreError> {
        let q = "SELECT COUNT(*) FROM blob_data";
        with_reader!(self, pool => Ok(sqlx::query(q).fetch_one(pool).await?.try_get::<i64, _>(0)? as u64))
    }

    /// Stores the hashes of new registration codes.
    pub async fn add_code_hashes(
        &self,
        election_id: &[u8; 32],
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        let q = "INSERT INTO registration_codes (election_id, code_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        in_write_tx!(self, |tx, _lock| for h in hashes {
            sqlx::query(q)
                .bind(&election_id[..])
                .bind(&h[..])
                .execute(&mut **tx)
                .await?;
        });
        Ok(())
    }

    /// Claims a signed request's nonce for `signer` until `expires_at` (Unix seconds):
    /// `true` the first time, `false` if it was claimed before (a replay). Nonces that
    /// expired before `now` are forgotten in the same transaction.
    pub async fn claim_request_nonce(
        &self,
        signer: &[u8; 32],
        nonce: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let purge = "DELETE FROM request_nonces WHERE expires_at < $1";
        let claim = "INSERT INTO request_nonces (signer, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        macro_rules! body {
            ($tx:expr) => {{
                let tx = $tx;
                sqlx::query(purge).bind(now).execute(&mut **tx).await?;
                sqlx::query(claim)
                    .bind(&signer[..])
                    .bind(nonce)
                    .bind(expires_at)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                    == 1
            }};
        }
        Ok(in_write_tx!(self, |tx, _lock| body!(tx)))
    }

    /// Appends a registration entry if `code_hash` is an unused code and the roll holds
    /// fewer than `capacity` registrations, marking the code used and counting the
    /// registration in the same transaction. `Ok(None)` if the code is unknown or already
    /// used; [`StoreError::RollFull`] if the roll is full.
    pub async fn register(
        &self,
        election_id: &[u8; 32],
        code_hash: &[u8; 32],
        capacity: u64,
        entry: &NewEntry,
    ) -> Result<Option<u64>, StoreError> {
        let count = "UPDATE elections SET registrations = registrations + 1 WHERE election_id = $1 AND registrations < $2";
        let claim = "UPDATE registration_codes SET used_by = -1 WHERE election_id = $1 AND code_hash = $2 AND used_by IS NULL";
        let mark =
            "UPDATE registration_codes SET used_by = $3 WHERE election_id = $1 AND code_hash = $2";
        macro_rules! body {
            ($tx:expr, $lock:expr) => {{
                let tx = $tx;
                if sqlx::query(claim)
                    .bind(&election_id[..])
                    .bind(&code_hash[..])
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                    == 0
                {
                    return Ok(None);
                }
                if sqlx::query(count)
                    .bind(&election_id[..])
                    .bind(capacity.min(i64::MAX as u64) as i64)
                    .execute(&mut **tx)
                    .await?
                    .rows_affected()
                    == 0
                {
                    return Err(StoreError::RollFull);
                }
                let idx = append_tx!(&mut *tx, election_id, entry, $lock)?;
                sqlx::query(mark)
                    .bind(&election_id[..])
                    .bind(&code_hash[..])
                    .bind(idx as i64)
                    .execute(&mut **tx)
                    .await?;
                idx
            }};
        }
        Ok(Some(in_write_tx!(self, |tx, lock| body!(tx, lock))))
    }
}

fn row_to_entry<R: Row>(r: R) -> Result<StoredEntry, StoreError>
where
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(StoredEntry {
        index: r.try_get::<i64, _>(0)? as u64,
        kind: r.try_get(1)?,
        data: r.try_get(2)?,
        leaf_hash: hash32(r.try_get(3)?)?,
    })
}

fn row_to_checkpoint<R: Row>(r: R) -> Result<StoredCheckpoint, StoreError>
where
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(StoredCheckpoint {
        size: r.try_get::<i64, _>(0)? as u64,
        root: hash32(r.try_get(1)?)?,
        note: r.try_get(2)?,
    })
}
