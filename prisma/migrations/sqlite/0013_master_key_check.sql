-- The fingerprint of the master key the database was set up with (HKDF-derived, it reveals
-- nothing of the key): a replica or CLI command started with another key refuses to run
-- instead of writing data no other replica can read.
CREATE TABLE master_key_check (
  id INTEGER NOT NULL PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  recorded_at DATETIME NOT NULL
);
