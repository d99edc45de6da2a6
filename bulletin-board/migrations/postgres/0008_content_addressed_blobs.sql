-- Large blobs (proving keys) are stored once per content: elections name them by SHA-256.
CREATE TABLE blob_data (
    hash BYTEA PRIMARY KEY NOT NULL,
    data BYTEA NOT NULL
);
ALTER TABLE blob_data ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE election_blobs (
    election_id BYTEA NOT NULL,
    name TEXT NOT NULL,
    hash BYTEA NOT NULL REFERENCES blob_data (hash),
    PRIMARY KEY (election_id, name)
);
INSERT INTO blob_data (hash, data)
SELECT DISTINCT ON (sha256(data)) sha256(data), data FROM blobs;
INSERT INTO election_blobs (election_id, name, hash)
SELECT election_id, name, sha256(data) FROM blobs;
DROP TABLE blobs;
