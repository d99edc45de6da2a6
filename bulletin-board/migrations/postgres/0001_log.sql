-- One row per election; next_index sequences appends.
CREATE TABLE elections (
    election_id BYTEA PRIMARY KEY NOT NULL,
    next_index BIGINT NOT NULL DEFAULT 0
);

-- The log: entry idx of an election, its kind, its exact bytes and leaf hash.
CREATE TABLE entries (
    election_id BYTEA NOT NULL REFERENCES elections (election_id),
    idx BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL,
    nullifier BYTEA,
    PRIMARY KEY (election_id, idx)
);
CREATE INDEX entries_by_nullifier ON entries (election_id, nullifier);

-- Nullifiers that may not vote again (revote policy "reject").
CREATE TABLE spent_nullifiers (
    election_id BYTEA NOT NULL,
    nullifier BYTEA NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (election_id, nullifier)
);

-- Every ballot ciphertext seen (its A component): a ciphertext is never accepted twice.
CREATE TABLE ciphertexts (
    election_id BYTEA NOT NULL,
    a BYTEA NOT NULL,
    PRIMARY KEY (election_id, a)
);

-- Signed checkpoints, one per size.
CREATE TABLE checkpoints (
    election_id BYTEA NOT NULL,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (election_id, size)
);
