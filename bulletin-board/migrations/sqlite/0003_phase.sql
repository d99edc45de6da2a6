-- The election's phase, checked and advanced inside append transactions.
ALTER TABLE elections ADD COLUMN phase TEXT NOT NULL DEFAULT 'setup';
