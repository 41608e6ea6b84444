-- Rate-limit counters shared by every replica (credential endpoints, customer requests):
-- one row per key and window, incremented in one statement.
CREATE TABLE rate_limit (
  key TEXT NOT NULL PRIMARY KEY,
  hits INTEGER NOT NULL,
  reset_at DATETIME NOT NULL
);
CREATE INDEX rate_limit_reset_at_idx ON rate_limit (reset_at);
