-- The audit log's name (the C2SP checkpoint origin), fixed at the first start, so every replica and
-- every CLI command signs and checks checkpoints for the one log, whatever port or URL it runs on.
CREATE TABLE audit_log_origin (
  id INTEGER NOT NULL PRIMARY KEY,
  origin TEXT NOT NULL,
  recorded_at TIMESTAMP(3) NOT NULL
);
