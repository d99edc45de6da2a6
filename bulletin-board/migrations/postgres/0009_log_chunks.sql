-- The log in chunks of 65,536 entries, for a board's start-up: each chunk holds its
-- entries' leaf hashes and kinds and its registrations' commitments (layout in
-- docs/architecture.md, "Start-up snapshots"), written once the chunk is complete and read
-- instead of its entries, after checks against the log.
CREATE TABLE log_chunks (
    election_id BYTEA NOT NULL REFERENCES elections (election_id),
    chunk BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (election_id, chunk)
);
-- Chunks are hashes and field elements: nothing to compress.
ALTER TABLE log_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
