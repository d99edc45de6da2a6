-- Ballot digests (trackers), for receipts and proofs by digest.
ALTER TABLE entries ADD COLUMN digest BYTEA;
CREATE INDEX entries_by_digest ON entries (election_id, digest);
