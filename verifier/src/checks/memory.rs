//! What check 5's rules remember of the ballots seen so far ([`BallotMemory`]), kept
//! small for records of millions of ballots without giving up exactness.
//!
//! - The replay rule (no ciphertext cast twice) remembers every cast ciphertext's key (its
//!   compressed `A`, 32 bytes) with the entry that cast it.
//! - The nullifier rule remembers, per voter, the entry counted and, under
//!   `last-ballot-counts`, where its ciphertexts are kept (to subtract them when a later
//!   ballot supersedes it).
//!
//! Both are a [`KeyIndex`]: in memory only an 8-byte fingerprint of each 32-byte key
//! (SipHash keyed afresh by each verifier, so no one writing a record can choose keys whose
//! fingerprints collide) and a 4-byte slot, in 256 hash tables (so that growing one never
//! holds two copies of everything); the key and its value are a record in a [`Spill`]. A
//! fingerprint found is confirmed against the key read back from the spill, and a key whose
//! fingerprint another key already holds is kept whole in memory: a collision costs a read,
//! never a wrong verdict. About 13-26 bytes of memory per ciphertext and per voter, depending
//! on where the tables are in their growth; keys, entries and kept ciphertexts are in
//! unlinked temporary files.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

/// Bytes gathered in memory before a spill writes them to its file.
#[cfg_attr(not(unix), allow(dead_code))]
const TAIL_LIMIT: usize = 1 << 20;

/// An append-only sequence of fixed-size records: in an unlinked temporary file where the
/// platform has one (Unix), in memory otherwise (and if no file can be made).
pub struct Spill {
    record: usize,
    /// Records written to the file.
    flushed: u64,
    /// Records after those, not yet written.
    tail: Vec<u8>,
    #[cfg(unix)]
    file: Option<std::fs::File>,
}

impl Spill {
    /// An empty spill of `record`-byte records.
    pub fn new(record: usize) -> Self {
        Spill {
            record,
            flushed: 0,
            tail: Vec::new(),
            #[cfg(unix)]
            file: temporary_file(),
        }
    }

    /// The size of a record.
    pub fn record_size(&self) -> usize {
        self.record
    }

    /// Appends a record; returns its slot.
    pub fn push(&mut self, bytes: &[u8]) -> u64 {
        assert_eq!(bytes.len(), self.record, "a spill's records have one size");
        let slot = self.flushed + (self.tail.len() / self.record) as u64;
        self.tail.extend_from_slice(bytes);
        #[cfg(unix)]
        if self.tail.len() >= TAIL_LIMIT {
            self.flush();
        }
        slot
    }

    /// The record in `slot`.
    pub fn get(&self, slot: u64, out: &mut [u8]) {
        assert_eq!(out.len(), self.record, "a spill's records have one size");
        // Without a file (not Unix) nothing is flushed: every slot is in the tail.
        if slot >= self.flushed {
            let at = (slot - self.flushed) as usize * self.record;
            out.copy_from_slice(&self.tail[at..at + self.record]);
        } else {
            #[cfg(unix)]
            {
                use std::os::unix::fs::FileExt;
                let file = self.file.as_ref().expect("flushed records are in the file");
                file.read_exact_at(out, slot * self.record as u64)
                    .expect("a spill file reads back what was written");
            }
        }
    }

    /// Writes the tail to the file (kept in memory if that fails).
    #[cfg(unix)]
    fn flush(&mut self) {
        use std::os::unix::fs::FileExt;
        let Some(file) = &self.file else { return };
        let at = self.flushed * self.record as u64;
        if file.write_all_at(&self.tail, at).is_ok() {
            self.flushed += (self.tail.len() / self.record) as u64;
            self.tail.clear();
        }
    }
}

/// A new file in the temporary folder, already unlinked (it goes when closed).
#[cfg(unix)]
fn temporary_file() -> Option<std::fs::File> {
    let path = std::env::temp_dir().join(format!(
        "zkvote-verify-{}-{:016x}",
        std::process::id(),
        RandomState::new().hash_one(0u8)
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .ok()?;
    std::fs::remove_file(&path).ok()?;
    Some(file)
}

/// Hashes a fingerprint that is already uniformly distributed: the identity.
#[derive(Default)]
struct Fingerprint(u64);

impl Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
}

/// Fingerprint -> slot, 12 bytes an entry (plus hashbrown's control byte).
type Shard = HashMap<[u8; 8], [u8; 4], BuildHasherDefault<Fingerprint>>;

/// Fingerprints to spill slots, in 256 shards chosen by bits 48-55 of the fingerprint
/// (hashbrown takes its bucket from the low bits and its tag from the top seven).
struct SlotTable(Vec<Shard>);

impl Default for SlotTable {
    fn default() -> Self {
        SlotTable((0..256).map(|_| Shard::default()).collect())
    }
}

impl SlotTable {
    fn shard(&self, fp: u64) -> &Shard {
        &self.0[(fp >> 48) as usize & 0xff]
    }

    fn shard_mut(&mut self, fp: u64) -> &mut Shard {
        &mut self.0[(fp >> 48) as usize & 0xff]
    }

    fn get(&self, fp: u64) -> Option<u64> {
        self.shard(fp)
            .get(&fp.to_be_bytes())
            .map(|s| u64::from(u32::from_le_bytes(*s)))
    }

    /// Points `fp` at `slot`; false (and nothing changed) when the slot does not fit in
    /// four bytes.
    fn set(&mut self, fp: u64, slot: u64) -> bool {
        let Ok(slot) = u32::try_from(slot) else {
            return false;
        };
        self.shard_mut(fp)
            .insert(fp.to_be_bytes(), slot.to_le_bytes());
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.iter().map(HashMap::len).sum()
    }
}

/// 32-byte keys mapped to values of a fixed size (see the module documentation); `S`
/// makes the fingerprints (a freshly keyed SipHash outside tests).
pub struct KeyIndex<S = RandomState> {
    keyed: S,
    table: SlotTable,
    /// Keys whose fingerprint another key holds (or whose record's slot does not fit the
    /// table), with their values.
    shared: HashMap<[u8; 32], Vec<u8>>,
    /// `key || value` records.
    spill: Spill,
    value_len: usize,
}

impl KeyIndex {
    /// An empty index of `value_len`-byte values.
    pub fn new(value_len: usize) -> Self {
        KeyIndex::with_fingerprints(value_len, RandomState::new())
    }
}

impl<S: BuildHasher> KeyIndex<S> {
    fn with_fingerprints(value_len: usize, keyed: S) -> Self {
        KeyIndex {
            keyed,
            table: SlotTable::default(),
            shared: HashMap::new(),
            spill: Spill::new(32 + value_len),
            value_len,
        }
    }

    /// The slot of `key`'s record, if the table points its fingerprint at it.
    fn slot_of(&self, key: &[u8; 32], record: &mut [u8]) -> Option<u64> {
        let slot = self.table.get(self.keyed.hash_one(key))?;
        self.spill.get(slot, record);
        (record[..32] == key[..]).then_some(slot)
    }

    /// `key`'s value, if it has one (a key kept whole wins over a stale record).
    pub fn get(&self, key: &[u8; 32]) -> Option<Vec<u8>> {
        if let Some(v) = self.shared.get(key) {
            return Some(v.clone());
        }
        let mut record = vec![0u8; 32 + self.value_len];
        self.slot_of(key, &mut record)?;
        Some(record.split_off(32))
    }

    /// Sets `key`'s value; returns whether the key is new.
    pub fn put(&mut self, key: &[u8; 32], value: &[u8]) -> bool {
        assert_eq!(
            value.len(),
            self.value_len,
            "an index's values have one size"
        );
        let fp = self.keyed.hash_one(key);
        let mut record = vec![0u8; 32 + self.value_len];
        let owned = self.slot_of(key, &mut record).is_some();
        let taken = !owned && self.table.get(fp).is_some();
        if !taken {
            record[..32].copy_from_slice(key);
            record[32..].copy_from_slice(value);
            let slot = self.spill.push(&record);
            if self.table.set(fp, slot) {
                return !owned;
            }
        }
        self.shared.insert(*key, value.to_vec()).is_none() && !owned
    }
}

/// The value of a voter's entry in the nullifier index: the counted entry, and the slot of
/// its kept ciphertexts (`u64::MAX`: none).
fn counted_value(entry: u64, kept: Option<u64>) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&entry.to_le_bytes());
    v[8..].copy_from_slice(&kept.unwrap_or(u64::MAX).to_le_bytes());
    v
}

fn counted_parts(v: &[u8]) -> (u64, Option<u64>) {
    let entry = u64::from_le_bytes(v[..8].try_into().expect("8 bytes"));
    let kept = u64::from_le_bytes(v[8..16].try_into().expect("8 bytes"));
    (entry, (kept != u64::MAX).then_some(kept))
}

/// What the replay and nullifier rules remember of the ballots counted so far: the cast
/// ciphertexts' keys with their entries, and per voter the counted entry (with its
/// ciphertexts under `last-ballot-counts`).
pub struct BallotMemory {
    cast: KeyIndex,
    by_nullifier: KeyIndex,
    voters: usize,
    kept: Option<Spill>,
}

impl Default for BallotMemory {
    fn default() -> Self {
        BallotMemory {
            cast: KeyIndex::new(8),
            by_nullifier: KeyIndex::new(16),
            voters: 0,
            kept: None,
        }
    }
}

impl BallotMemory {
    /// The entry that already cast one of `keys`, if one did.
    pub fn cast_before<'a>(&self, keys: impl IntoIterator<Item = &'a [u8; 32]>) -> Option<u64> {
        keys.into_iter().find_map(|k| {
            self.cast
                .get(k)
                .map(|v| u64::from_le_bytes(v[..8].try_into().expect("8 bytes")))
        })
    }

    /// Remembers that `entry` cast `keys` (none of them cast before).
    pub fn remember_cast<'a>(&mut self, keys: impl IntoIterator<Item = &'a [u8; 32]>, entry: u64) {
        for k in keys {
            self.cast.put(k, &entry.to_le_bytes());
        }
    }

    /// The entry counted for `nullifier`, if any.
    pub fn counted(&self, nullifier: &[u8; 32]) -> Option<u64> {
        self.by_nullifier
            .get(nullifier)
            .map(|v| counted_parts(&v).0)
    }

    /// Counts `entry` for `nullifier`, keeping `ciphertexts` (every selection's compressed
    /// `A || B`, the same length for every ballot of an election) when given; returns the
    /// ciphertexts kept for the ballot it supersedes, if any.
    pub fn count(
        &mut self,
        nullifier: [u8; 32],
        entry: u64,
        ciphertexts: Option<&[u8]>,
    ) -> Option<Vec<[u8; 64]>> {
        let old = self
            .by_nullifier
            .get(&nullifier)
            .map(|v| counted_parts(&v).1);
        let kept = ciphertexts.map(|bytes| {
            self.kept
                .get_or_insert_with(|| Spill::new(bytes.len()))
                .push(bytes)
        });
        if self
            .by_nullifier
            .put(&nullifier, &counted_value(entry, kept))
        {
            self.voters += 1;
        }
        let slot = old??;
        let spill = self.kept.as_ref().expect("a slot was given out");
        let mut bytes = vec![0u8; spill.record_size()];
        spill.get(slot, &mut bytes);
        Some(
            bytes
                .chunks_exact(64)
                .map(|c| c.try_into().expect("64 bytes"))
                .collect(),
        )
    }

    /// How many voters have a counted ballot.
    pub fn voters(&self) -> usize {
        self.voters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&i.to_le_bytes());
        k[31] = 0xa5;
        k
    }

    #[test]
    fn keys_are_found_exactly_across_the_file_and_the_tail() {
        let mut index = KeyIndex::new(8);
        // More than one tail's worth, so that most records are read back from the file.
        let n = 3 * TAIL_LIMIT as u64 / 40;
        for i in 0..n {
            assert_eq!(index.get(&key(i)), None);
            assert!(index.put(&key(i), &(1000 + i).to_le_bytes()));
        }
        assert_eq!(index.table.len() as u64, n);
        for i in (0..n).step_by(997) {
            assert_eq!(index.get(&key(i)), Some((1000 + i).to_le_bytes().to_vec()));
        }
        assert_eq!(index.get(&key(n)), None);
        // A new value for a key replaces the old one; the key is not new.
        assert!(!index.put(&key(5), &7u64.to_le_bytes()));
        assert_eq!(index.get(&key(5)), Some(7u64.to_le_bytes().to_vec()));
        #[cfg(unix)]
        assert!(index.spill.flushed > 0, "records went to the file");
    }

    /// Makes every fingerprint the same.
    #[derive(Default)]
    struct Constant;

    impl Hasher for Constant {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn a_fingerprint_collision_costs_a_read_never_a_verdict() {
        // Every key has one fingerprint: the first holds the table's place, the others are
        // kept whole, and each is found exactly (and only itself), also once changed.
        let mut index = KeyIndex::with_fingerprints(8, BuildHasherDefault::<Constant>::default());
        for i in 0..50 {
            assert_eq!(index.get(&key(i)), None);
            assert!(index.put(&key(i), &i.to_le_bytes()));
        }
        assert_eq!((index.table.len(), index.shared.len()), (1, 49));
        for i in 0..50 {
            assert_eq!(index.get(&key(i)), Some(i.to_le_bytes().to_vec()));
        }
        assert_eq!(index.get(&key(50)), None);
        for i in [0, 1, 49] {
            assert!(!index.put(&key(i), &(i + 100).to_le_bytes()));
            assert_eq!(index.get(&key(i)), Some((i + 100).to_le_bytes().to_vec()));
        }
        assert_eq!(index.get(&key(2)), Some(2u64.to_le_bytes().to_vec()));
    }

    #[test]
    fn ballot_memory_applies_the_rules_memory() {
        let mut m = BallotMemory::default();
        let (a, b, c) = (key(1), key(2), key(3));
        assert_eq!(m.cast_before([&a, &b]), None);
        m.remember_cast([&a, &b], 10);
        assert_eq!(m.cast_before([&c, &b]), Some(10));
        // A voter counted, then superseded: the first ballot's ciphertexts come back.
        let first = vec![1u8; 128];
        assert_eq!(m.count(key(9), 10, Some(&first)), None);
        assert_eq!(m.counted(&key(9)), Some(10));
        let back = m.count(key(9), 12, Some(&[2u8; 128])).unwrap();
        assert_eq!(back, vec![[1u8; 64], [1u8; 64]]);
        assert_eq!(m.counted(&key(9)), Some(12));
        assert_eq!(m.voters(), 1);
        // Without kept ciphertexts (reject), nothing comes back.
        assert_eq!(m.count(key(8), 13, None), None);
        assert_eq!(m.count(key(8), 14, None), None);
        assert_eq!(m.voters(), 2);
    }

    #[test]
    fn spills_of_other_record_sizes_read_back() {
        let mut s = Spill::new(64 * 9);
        let rec = |i: u8| vec![i; 64 * 9];
        let n = 3 * TAIL_LIMIT / (64 * 9);
        for i in 0..n {
            assert_eq!(s.push(&rec(i as u8)), i as u64);
        }
        let mut out = vec![0u8; 64 * 9];
        for i in [0, 1, n / 2, n - 1] {
            s.get(i as u64, &mut out);
            assert_eq!(out, rec(i as u8));
        }
    }
}
