-- No query looks entries up by nullifier on the hot path (double votes are caught by the
-- spent_nullifiers primary key); the index only cost time on every ballot append.
DROP INDEX entries_by_nullifier;
