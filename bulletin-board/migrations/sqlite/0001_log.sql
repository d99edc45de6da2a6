-- One row per election; next_index sequences appends.
CREATE TABLE elections (
    election_id BLOB PRIMARY KEY NOT NULL,
    next_index INTEGER NOT NULL DEFAULT 0
);

-- The log: entry idx of an election, its kind, its exact bytes and leaf hash.
CREATE TABLE entries (
    election_id BLOB NOT NULL REFERENCES elections (election_id),
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    nullifier BLOB,
    PRIMARY KEY (election_id, idx)
);
CREATE INDEX entries_by_nullifier ON entries (election_id, nullifier);

-- Nullifiers that may not vote again (revote policy "reject").
CREATE TABLE spent_nullifiers (
    election_id BLOB NOT NULL,
    nullifier BLOB NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (election_id, nullifier)
);

-- Every ballot ciphertext seen (its A component): a ciphertext is never accepted twice.
CREATE TABLE ciphertexts (
    election_id BLOB NOT NULL,
    a BLOB NOT NULL,
    PRIMARY KEY (election_id, a)
);

-- Signed checkpoints, one per size.
CREATE TABLE checkpoints (
    election_id BLOB NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (election_id, size)
);
