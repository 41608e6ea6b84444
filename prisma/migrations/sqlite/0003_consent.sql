CREATE TABLE consent_event (
  id TEXT NOT NULL PRIMARY KEY,
  subject_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  kind TEXT NOT NULL,
  channels TEXT,
  topics TEXT,
  recipients TEXT,
  source TEXT NOT NULL,
  notice_version TEXT,
  expires_at DATETIME,
  gpc BOOLEAN NOT NULL,
  receipt_id TEXT,
  actor_id TEXT,
  request_id TEXT,
  at DATETIME NOT NULL
);
CREATE UNIQUE INDEX consent_event_subject_id_seq_key ON consent_event (subject_id, seq);
-- The ledger is never edited in place. (Erasure of a subject will delete its rows in one
-- audited transaction, after dropping and re-creating the delete trigger there.)
CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
