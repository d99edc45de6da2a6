//! The group append, written once for both backends: each entry of a group is accepted or
//! refused in memory by the rules of the one-by-one path, from the stored nullifiers and
//! ciphertexts looked up at once, and the accepted rows are inserted in bulk. Each
//! backend's SQL for the steps is its [`GroupSql`] implementation.

use super::{NewEntry, StoreError};
use std::collections::{HashMap, HashSet};
use zkvote_core::log::Hash;

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
    mut spent: HashMap<Hash, i64>,
    mut seen: HashSet<Hash>,
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
        let mut own = HashSet::new();
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

/// The steps of a group append, each in a backend's SQL. [`append_group`] runs them, the
/// same for both backends.
pub(super) trait GroupSql {
    /// The backend.
    type Db: sqlx::Database;
    /// Begins the group's write transaction.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, Self::Db>, StoreError>;
    /// Reads (and locks) the election's counter row: its next index and phase.
    async fn lock(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
    ) -> Result<Option<(i64, String)>, StoreError>;
    /// The stored indices of these spent nullifiers.
    async fn spent(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
        nullifiers: &[Vec<u8>],
    ) -> Result<HashMap<Hash, i64>, StoreError>;
    /// Which of these ciphertext keys are stored.
    async fn seen(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
        ciphertexts: &[Vec<u8>],
    ) -> Result<HashSet<Hash>, StoreError>;
    /// Inserts spent nullifiers; whether every one was new.
    async fn insert_spent(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
        rows: &[(Hash, i64)],
    ) -> Result<bool, StoreError>;
    /// Inserts ciphertext keys; whether every one was new.
    async fn insert_ciphertexts(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
        rows: &[Hash],
    ) -> Result<bool, StoreError>;
    /// Inserts the accepted entries at their indices.
    async fn insert_entries(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
        rows: &[(i64, &NewEntry)],
    ) -> Result<(), StoreError>;
    /// Sets the election's next index.
    async fn set_next(
        tx: &mut sqlx::Transaction<'static, Self::Db>,
        eid: &[u8],
        next: i64,
    ) -> Result<(), StoreError>;
}

/// The group append in a constant number of statements: under the election's write lock
/// (SQLite's single writer; PostgreSQL's counter row, which every append of the election
/// takes first, so no other transaction adds a nullifier or ciphertext meanwhile) the
/// group's nullifiers and ciphertexts are looked up at once, each entry is accepted or
/// refused in memory by the rules of the one-by-one path ([`plan_group`]), and the accepted
/// rows are inserted in bulk (`ON CONFLICT DO NOTHING`, counts checked). Returns `None`,
/// having changed nothing, when the group is not eligible (an entry moves the phase or has
/// a unique key) or a count disagrees; the caller then uses the savepoint path.
pub(super) async fn append_group<D: GroupSql>(
    db: &D,
    election_id: &[u8; 32],
    entries: &[NewEntry],
) -> Result<Option<Vec<Result<u64, StoreError>>>, StoreError> {
    if !group_eligible(entries) {
        return Ok(None);
    }
    let eid = &election_id[..];
    let mut tx = db.begin().await?;
    let (next, phase) = D::lock(&mut tx, eid)
        .await?
        .ok_or(StoreError::UnknownElection)?;
    let (wanted_nullifiers, wanted_ciphertexts) = group_keys(entries);
    let spent = D::spent(&mut tx, eid, &wanted_nullifiers).await?;
    let seen = D::seen(&mut tx, eid, &wanted_ciphertexts).await?;
    let plan = plan_group(entries, &phase, next, spent, seen);
    if !D::insert_spent(&mut tx, eid, &plan.nullifiers).await?
        || !D::insert_ciphertexts(&mut tx, eid, &plan.ciphertexts).await?
    {
        return Ok(None);
    }
    D::insert_entries(&mut tx, eid, &plan.accepted).await?;
    D::set_next(&mut tx, eid, plan.next).await?;
    tx.commit().await?;
    Ok(Some(plan.out))
}
