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

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;
use std::str::FromStr;
use std::time::Duration;
use zkvote_core::log::{leaf_hash, Hash};
use zkvote_protocol::{transition, Phase};

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

/// A group's accepted entries and refusals, decided in memory from the stored
/// nullifiers and ciphertexts (looked up under the election's write lock) exactly as the
/// one-by-one path would decide them.
struct GroupPlan<'a> {
    out: Vec<Result<u64, StoreError>>,
    nullifiers: Vec<([u8; 32], i64)>,
    ciphertexts: Vec<[u8; 32]>,
    accepted: Vec<(i64, &'a NewEntry)>,
    next: i64,
}

fn plan_group<'a>(
    entries: &'a [NewEntry],
    phase: &str,
    mut next: i64,
    mut spent: std::collections::HashMap<[u8; 32], i64>,
    mut seen: std::collections::HashSet<[u8; 32]>,
) -> GroupPlan<'a> {
    let mut plan = GroupPlan {
        out: Vec::with_capacity(entries.len()),
        nullifiers: Vec::new(),
        ciphertexts: Vec::new(),
        accepted: Vec::new(),
        next,
    };
    for e in entries {
        if let Err(refused) = e.next_phase(phase) {
            plan.out.push(Err(refused));
            continue;
        }
        let spends = e.nullifier.filter(|_| e.spend_nullifier);
        if let Some(prev) = spends.and_then(|n| spent.get(&n)) {
            plan.out.push(Err(StoreError::NullifierUsed(*prev as u64)));
            continue;
        }
        let mut own = std::collections::HashSet::new();
        if e.ciphertexts
            .iter()
            .any(|a| seen.contains(a) || !own.insert(*a))
        {
            plan.out.push(Err(StoreError::CiphertextReplayed));
            continue;
        }
        if let Some(n) = spends {
            spent.insert(n, next);
            plan.nullifiers.push((n, next));
        }
        seen.extend(e.ciphertexts.iter().copied());
        plan.ciphertexts.extend(e.ciphertexts.iter().copied());
        plan.accepted.push((next, e));
        plan.out.push(Ok(next as u64));
        next += 1;
    }
    plan.next = next;
    plan
}

/// Whether a group can take the few-statement path: it moves no phase and holds no
/// entry with a unique key (those take the savepoint path).
fn group_eligible(entries: &[NewEntry]) -> bool {
    !entries.is_empty()
        && entries
            .iter()
            .all(|e| !(e.phased && e.kind.moves_phase()) && e.unique_key.is_none())
}

fn group_keys(entries: &[NewEntry]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let nullifiers = entries
        .iter()
        .filter(|e| e.spend_nullifier)
        .filter_map(|e| e.nullifier.map(|n| n.to_vec()))
        .collect();
    let ciphertexts = entries
        .iter()
        .flat_map(|e| e.ciphertexts.iter().map(|a| a.to_vec()))
        .collect();
    (nullifiers, ciphertexts)
}

/// Rows per multi-row statement on SQLite (7 columns each, under SQLite's variable limit).
const SQLITE_ROWS: usize = 500;

/// The SQLite group append in a few statements per group: under `BEGIN IMMEDIATE` (the
/// single writer) the group's nullifiers and ciphertexts are looked up with `IN (...)`,
/// each entry is accepted or refused in memory, and the accepted rows are inserted with
/// multi-row `INSERT`s (`ON CONFLICT DO NOTHING`, counts checked). Returns `None`, having
/// changed nothing, when the group is not eligible (an entry moves the phase) or a count
/// disagrees; the caller then uses the savepoint path.
async fn sqlite_append_group(
    writer: &SqlitePool,
    election_id: &[u8; 32],
    entries: &[NewEntry],
) -> Result<Option<Vec<Result<u64, StoreError>>>, StoreError> {
    use sqlx::{QueryBuilder, Sqlite};
    if !group_eligible(entries) {
        return Ok(None);
    }
    let eid = &election_id[..];
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let row = sqlx::query("SELECT next_index, phase FROM elections WHERE election_id = $1")
        .bind(eid)
        .fetch_optional(&mut *tx)
        .await?;
    let (next, phase): (i64, String) = match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => return Err(StoreError::UnknownElection),
    };
    let (wanted_nullifiers, wanted_ciphertexts) = group_keys(entries);
    let mut spent = std::collections::HashMap::new();
    for chunk in wanted_nullifiers.chunks(SQLITE_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT nullifier, idx FROM spent_nullifiers WHERE election_id = ",
        );
        q.push_bind(eid).push(" AND nullifier IN (");
        let mut list = q.separated(", ");
        for n in chunk {
            list.push_bind(&n[..]);
        }
        q.push(")");
        for r in q.build().fetch_all(&mut *tx).await? {
            spent.insert(hash32(r.try_get(0)?)?, r.try_get(1)?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for chunk in wanted_ciphertexts.chunks(SQLITE_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT a FROM ciphertexts WHERE election_id = ");
        q.push_bind(eid).push(" AND a IN (");
        let mut list = q.separated(", ");
        for a in chunk {
            list.push_bind(&a[..]);
        }
        q.push(")");
        for r in q.build().fetch_all(&mut *tx).await? {
            seen.insert(hash32(r.try_get(0)?)?);
        }
    }
    let plan = plan_group(entries, &phase, next, spent, seen);
    for chunk in plan.nullifiers.chunks(SQLITE_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO spent_nullifiers (election_id, nullifier, idx) ",
        );
        q.push_values(chunk, |mut b, (n, i)| {
            b.push_bind(eid).push_bind(&n[..]).push_bind(*i);
        });
        q.push(" ON CONFLICT DO NOTHING");
        if q.build().execute(&mut *tx).await?.rows_affected() != chunk.len() as u64 {
            return Ok(None);
        }
    }
    for chunk in plan.ciphertexts.chunks(SQLITE_ROWS) {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO ciphertexts (election_id, a) ");
        q.push_values(chunk, |mut b, a| {
            b.push_bind(eid).push_bind(&a[..]);
        });
        q.push(" ON CONFLICT DO NOTHING");
        if q.build().execute(&mut *tx).await?.rows_affected() != chunk.len() as u64 {
            return Ok(None);
        }
    }
    for chunk in plan.accepted.chunks(SQLITE_ROWS / 2) {
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
        q.build().execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE elections SET next_index = $2 WHERE election_id = $1")
        .bind(eid)
        .bind(plan.next)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(plan.out))
}

/// The PostgreSQL group append in a constant number of statements: under the election's
/// counter row lock (which every append of this election takes first, so no other
/// transaction can add a nullifier or ciphertext meanwhile) the group's nullifiers and
/// ciphertexts are looked up at once, each entry is accepted or refused in memory, and the
/// accepted ones are inserted with one `UNNEST` statement per table (still
/// `ON CONFLICT DO NOTHING`, with the inserted row counts checked). Returns `None`, having
/// changed nothing, when the group is not eligible (an entry moves the phase) or a count
/// disagrees; the caller then uses the savepoint path.
async fn pg_append_group(
    pool: &PgPool,
    election_id: &[u8; 32],
    entries: &[NewEntry],
) -> Result<Option<Vec<Result<u64, StoreError>>>, StoreError> {
    if !group_eligible(entries) {
        return Ok(None);
    }
    let eid = &election_id[..];
    let mut tx = pool.begin().await?;
    let row =
        sqlx::query("SELECT next_index, phase FROM elections WHERE election_id = $1 FOR UPDATE")
            .bind(eid)
            .fetch_optional(&mut *tx)
            .await?;
    let (next, phase): (i64, String) = match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => return Err(StoreError::UnknownElection),
    };
    let (wanted_nullifiers, wanted_ciphertexts) = group_keys(entries);
    let mut spent = std::collections::HashMap::new();
    if !wanted_nullifiers.is_empty() {
        let rows = sqlx::query("SELECT nullifier, idx FROM spent_nullifiers WHERE election_id = $1 AND nullifier = ANY($2)")
            .bind(eid)
            .bind(&wanted_nullifiers)
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            spent.insert(hash32(r.try_get(0)?)?, r.try_get(1)?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    if !wanted_ciphertexts.is_empty() {
        let rows = sqlx::query("SELECT a FROM ciphertexts WHERE election_id = $1 AND a = ANY($2)")
            .bind(eid)
            .bind(&wanted_ciphertexts)
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            seen.insert(hash32(r.try_get(0)?)?);
        }
    }
    let plan = plan_group(entries, &phase, next, spent, seen);
    let (nullifiers, nullifier_idx): (Vec<Vec<u8>>, Vec<i64>) = plan
        .nullifiers
        .iter()
        .map(|(n, i)| (n.to_vec(), *i))
        .unzip();
    let r = sqlx::query("INSERT INTO spent_nullifiers (election_id, nullifier, idx) SELECT $1, n, i FROM UNNEST($2::bytea[], $3::bigint[]) AS t(n, i) ON CONFLICT DO NOTHING")
        .bind(eid)
        .bind(&nullifiers)
        .bind(&nullifier_idx)
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != nullifiers.len() as u64 {
        return Ok(None);
    }
    let ciphertexts: Vec<Vec<u8>> = plan.ciphertexts.iter().map(|a| a.to_vec()).collect();
    let r = sqlx::query("INSERT INTO ciphertexts (election_id, a) SELECT $1, a FROM UNNEST($2::bytea[]) AS t(a) ON CONFLICT DO NOTHING")
        .bind(eid)
        .bind(&ciphertexts)
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != ciphertexts.len() as u64 {
        return Ok(None);
    }
    let idxs: Vec<i64> = plan.accepted.iter().map(|(i, _)| *i).collect();
    let kinds: Vec<&str> = plan.accepted.iter().map(|(_, e)| e.kind.as_str()).collect();
    let datas: Vec<&[u8]> = plan.accepted.iter().map(|(_, e)| &e.data[..]).collect();
    let leaves: Vec<Vec<u8>> = plan
        .accepted
        .iter()
        .map(|(_, e)| leaf_hash(&e.data).to_vec())
        .collect();
    let nulls: Vec<Option<Vec<u8>>> = plan
        .accepted
        .iter()
        .map(|(_, e)| e.nullifier.map(|n| n.to_vec()))
        .collect();
    let digests: Vec<Option<Vec<u8>>> = plan
        .accepted
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
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE elections SET next_index = $2 WHERE election_id = $1")
        .bind(eid)
        .bind(plan.next)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(plan.out))
}

/// Moves the rows of the pre-content-addressing `blobs` table (SQLite cannot hash in SQL)
/// into `blob_data` and `election_blobs`, then drops it; nothing to do once it is gone.
async fn sqlite_move_legacy_blobs(writer: &SqlitePool) -> Result<(), StoreError> {
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
        let hash = sha2::Sha256::digest(&data).to_vec();
        sqlx::query("INSERT INTO blob_data (hash, data) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&hash)
            .bind(&data)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO election_blobs (election_id, name, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(&eid)
            .bind(&name)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DROP TABLE blobs").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

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
                    let $lock = "SELECT next_index, phase FROM elections WHERE election_id = $1";
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
                    let $lock =
                        "SELECT next_index, phase FROM elections WHERE election_id = $1 FOR UPDATE";
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

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite://PATH` or `postgres://...`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
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
            sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
            sqlite_move_legacy_blobs(&writer).await?;
            let reader = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts)
                .await?;
            for pool in [&writer, &reader] {
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
            }
            Ok(Store {
                backend: Backend::Sqlite { writer, reader },
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(30))
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            let sc: String = sqlx::query("SHOW synchronous_commit")
                .fetch_one(&pool)
                .await?
                .try_get(0)?;
            if sc == "off" {
                return Err(StoreError::Durability(
                    "PostgreSQL synchronous_commit = off".into(),
                ));
            }
            Ok(Store {
                backend: Backend::Postgres(pool),
            })
        } else {
            Err(StoreError::Url(url.to_string()))
        }
    }

    /// Which backend: `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Creates an election whose log starts with `genesis` (index 0).
    pub async fn create_election(
        &self,
        election_id: &[u8; 32],
        genesis: NewEntry,
    ) -> Result<u64, StoreError> {
        let insert =
            "INSERT INTO elections (election_id, next_index) VALUES ($1, 0) ON CONFLICT DO NOTHING";
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                if sqlx::query(insert)
                    .bind(&election_id[..])
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 0
                {
                    return Err(StoreError::ElectionExists);
                }
                let idx = append_tx!(
                    &mut tx,
                    election_id,
                    genesis,
                    "SELECT next_index, phase FROM elections WHERE election_id = $1"
                )?;
                tx.commit().await?;
                Ok(idx)
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if sqlx::query(insert)
                    .bind(&election_id[..])
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 0
                {
                    return Err(StoreError::ElectionExists);
                }
                let idx = append_tx!(
                    &mut tx,
                    election_id,
                    genesis,
                    "SELECT next_index, phase FROM elections WHERE election_id = $1 FOR UPDATE"
                )?;
                tx.commit().await?;
                Ok(idx)
            }
        }
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
        let mut out = Vec::with_capacity(entries.len());
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                if let Some(out) = sqlite_append_group(writer, election_id, entries).await? {
                    return Ok(out);
                }
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                for entry in entries {
                    let mut sp = tx.begin().await?;
                    let r = async {
                        append_tx!(
                            &mut sp,
                            election_id,
                            entry,
                            "SELECT next_index, phase FROM elections WHERE election_id = $1"
                        )
                    }
                    .await;
                    if r.is_ok() {
                        sp.commit().await?;
                    } else {
                        sp.rollback().await?;
                    }
                    out.push(r);
                }
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                if let Some(out) = pg_append_group(pool, election_id, entries).await? {
                    return Ok(out);
                }
                let mut tx = pool.begin().await?;
                for entry in entries {
                    let mut sp = tx.begin().await?;
                    let r = async {
                        append_tx!(&mut sp, election_id, entry, "SELECT next_index, phase FROM elections WHERE election_id = $1 FOR UPDATE")
                    }
                    .await;
                    if r.is_ok() {
                        sp.commit().await?;
                    } else {
                        sp.rollback().await?;
                    }
                    out.push(r);
                }
                tx.commit().await?;
            }
        }
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

    /// Leaf hashes from `from` on, in log order.
    pub async fn leaf_hashes(
        &self,
        election_id: &[u8; 32],
        from: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let q = "SELECT leaf_hash FROM entries WHERE election_id = $1 AND idx >= $2 ORDER BY idx";
        with_reader!(self, pool => sqlx::query(q)
            .bind(&election_id[..])
            .bind(from as i64)
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
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                sqlx::query(q)
                    .bind(&election_id[..])
                    .bind(cp.size as i64)
                    .bind(&cp.root[..])
                    .bind(&cp.note)
                    .execute(writer)
                    .await?;
            }
            Backend::Postgres(pool) => {
                sqlx::query(q)
                    .bind(&election_id[..])
                    .bind(cp.size as i64)
                    .bind(&cp.root[..])
                    .bind(&cp.note)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(self
            .checkpoint_at(election_id, cp.size)
            .await?
            .expect("just stored"))
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
        let content = "INSERT INTO blob_data (hash, data) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        let named = "INSERT INTO election_blobs (election_id, name, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        macro_rules! body {
            ($tx:expr) => {{
                let tx = $tx;
                sqlx::query(content)
                    .bind(&hash[..])
                    .bind(data)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(named)
                    .bind(&election_id[..])
                    .bind(name)
                    .bind(&hash[..])
                    .execute(&mut **tx)
                    .await?;
            }};
        }
        in_write_tx!(self, |tx, _lock| body!(tx));
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
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                for h in hashes {
                    sqlx::query(q)
                        .bind(&election_id[..])
                        .bind(&h[..])
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for h in hashes {
                    sqlx::query(q)
                        .bind(&election_id[..])
                        .bind(&h[..])
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
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
