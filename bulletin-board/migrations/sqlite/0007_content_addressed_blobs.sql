-- Large blobs (proving keys) are stored once per content: elections name them by SHA-256.
-- SQLite has no SHA-256 function: rows of the old `blobs` table are moved by the board
-- when it opens the store (Store::open), which then drops the old table.
CREATE TABLE blob_data (
    hash BLOB PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE election_blobs (
    election_id BLOB NOT NULL,
    name TEXT NOT NULL,
    hash BLOB NOT NULL REFERENCES blob_data (hash),
    PRIMARY KEY (election_id, name)
);
