-- Signed commission requests are single-use: each request's nonce is remembered (per
-- signing key) until its timestamp leaves the accepted skew window.
CREATE TABLE request_nonces (
    signer BYTEA NOT NULL,
    nonce BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (signer, nonce)
);
CREATE INDEX request_nonces_by_expiry ON request_nonces (expires_at);

-- Entries an election holds at most one of per key: a trustee's dealing, a complaint per
-- accuser and dealer, a trustee's partial decryption (keys as in Entry::unique_key).
CREATE TABLE entry_keys (
    election_id BYTEA NOT NULL,
    key TEXT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (election_id, key)
);
INSERT INTO entry_keys (election_id, key, idx)
SELECT election_id, k, MIN(idx) FROM (
    SELECT election_id, idx, CASE kind
        WHEN 'dealing' THEN 'dealing/' || (convert_from(data, 'UTF8')::jsonb -> 'dealing' ->> 'dealer')
        WHEN 'complaint' THEN 'complaint/' || (convert_from(data, 'UTF8')::jsonb -> 'complaint' ->> 'accuser')
            || '/' || (convert_from(data, 'UTF8')::jsonb -> 'complaint' ->> 'dealer')
        ELSE 'partial-decryption/' || (convert_from(data, 'UTF8')::jsonb -> 'partial' ->> 'trustee')
    END AS k
    FROM entries WHERE kind IN ('dealing', 'complaint', 'partial-decryption')
) AS keyed GROUP BY election_id, k;

-- Registrations per election, counted in the registering transaction so that the roll's
-- capacity holds across board processes.
ALTER TABLE elections ADD COLUMN registrations BIGINT NOT NULL DEFAULT 0;
UPDATE elections SET registrations = (
    SELECT COUNT(*) FROM entries
    WHERE entries.election_id = elections.election_id AND entries.kind = 'registration'
);
