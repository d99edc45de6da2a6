-- Large per-election blobs (the Groth16 proving key for clients).
CREATE TABLE blobs (
    election_id BLOB NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (election_id, name)
);

-- One-time voter registration codes: only their SHA-256 hashes are stored.
CREATE TABLE registration_codes (
    election_id BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    used_by INTEGER,
    PRIMARY KEY (election_id, code_hash)
);
