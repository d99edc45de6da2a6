-- The log in chunks of 65,536 entries, for a board's start-up: each chunk holds its
-- entries' leaf hashes and kinds and its registrations' commitments (layout in
-- docs/architecture.md, "Start-up snapshots"), written once the chunk is complete and read
-- instead of its entries, after checks against the log.
CREATE TABLE log_chunks (
    election_id BLOB NOT NULL REFERENCES elections (election_id),
    chunk INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (election_id, chunk)
);
