-- Ballot digests (trackers), for receipts and proofs by digest.
ALTER TABLE entries ADD COLUMN digest BLOB;
CREATE INDEX entries_by_digest ON entries (election_id, digest);
