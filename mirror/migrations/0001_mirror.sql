-- The entries held, per election, each exactly as the board logged it (its record line's
-- kind and the entry's bytes) with its leaf hash (read alone at start-up, to rebuild the
-- tree without the entries' bytes; it comes before them so that reading it skips them).
-- Only entries proven to be on a signed checkpoint's history are written.
CREATE TABLE entries (
    election_id BLOB NOT NULL,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    leaf BLOB NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (election_id, idx)
) WITHOUT ROWID;
CREATE INDEX entries_by_kind ON entries (election_id, kind, idx);

-- Per election: the latest checkpoint whose every entry is held (what the mirror serves),
-- and a newer one the entries held past it were proven to be on, while the mirror catches
-- up to it. Each is signed by the board's key and cosigned as the manifest requires.
CREATE TABLE checkpoints (
    election_id BLOB PRIMARY KEY NOT NULL,
    size INTEGER,
    root BLOB,
    note TEXT,
    verified_at INTEGER,
    pending_size INTEGER,
    pending_root BLOB,
    pending_note TEXT
);

-- A fork: a checkpoint signed by the board's key that is not on the history held. Once
-- one is kept, the mirror follows that election no further.
CREATE TABLE forks (
    election_id BLOB PRIMARY KEY NOT NULL,
    seen_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    -- The signed note the mirror held, and the one the board showed.
    held TEXT NOT NULL,
    shown TEXT NOT NULL,
    -- The consistency proof the board gave between them (hex hashes, one per line).
    proof TEXT NOT NULL
);
