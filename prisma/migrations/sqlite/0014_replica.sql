-- The gateway processes serving this database and the policy version each
-- serves, renewed while they run: a replica started with other policy files
-- than the live ones refuses to serve instead of deciding by other rules.
CREATE TABLE replica (
  instance_id TEXT NOT NULL PRIMARY KEY,
  policy_version TEXT NOT NULL,
  started_at DATETIME NOT NULL,
  seen_at DATETIME NOT NULL
);
