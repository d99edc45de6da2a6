-- The latest checkpoint the witness cosigned, per log (origin line).
CREATE TABLE logs (
    origin TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    -- The log's signed note, as submitted.
    checkpoint TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);

-- Signed checkpoints the witness refused because they did not extend the one it had
-- cosigned: evidence of a fork (or of a log that cannot prove its consistency).
CREATE TABLE evidence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    -- The request: old size, consistency proof (base64 lines) and the submitted note.
    old_size INTEGER NOT NULL,
    proof TEXT NOT NULL,
    submitted TEXT NOT NULL,
    -- The note the witness had cosigned for the log at that moment.
    cosigned TEXT NOT NULL
);
