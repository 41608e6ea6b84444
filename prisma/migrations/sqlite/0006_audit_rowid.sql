-- audit_event was declared `seq BIGINT PRIMARY KEY`, which SQLite does not take as the rowid:
-- every event kept a rowid b-tree and a separate unique index on seq. As INTEGER PRIMARY KEY
-- the sequence is the rowid itself, one b-tree fewer per event. Copies the trail as it is.
CREATE TABLE audit_event_by_seq (
  seq INTEGER NOT NULL PRIMARY KEY,
  id TEXT NOT NULL,
  at DATETIME NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  action TEXT NOT NULL,
  decision TEXT NOT NULL,
  subject TEXT,
  purpose TEXT,
  fields TEXT NOT NULL,
  reasons TEXT NOT NULL,
  request_id TEXT,
  policy_version TEXT NOT NULL,
  leaf_hash TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_event_by_seq (seq, id, at, actor_type, actor_id, action, decision, subject, purpose, fields, reasons, request_id, policy_version, leaf_hash, prev_hash, hash)
  SELECT seq, id, at, actor_type, actor_id, action, decision, subject, purpose, fields, reasons, request_id, policy_version, leaf_hash, prev_hash, hash FROM audit_event ORDER BY seq;
-- DROP TABLE removes the rows without firing the append-only triggers, and the triggers with the table.
DROP TABLE audit_event;
ALTER TABLE audit_event_by_seq RENAME TO audit_event;
CREATE UNIQUE INDEX audit_event_id_key ON audit_event (id);
CREATE INDEX audit_event_subject_seq_idx ON audit_event (subject, seq);
CREATE INDEX audit_event_actor_id_seq_idx ON audit_event (actor_id, seq);
CREATE INDEX audit_event_action_seq_idx ON audit_event (action, seq);
CREATE INDEX audit_event_at_idx ON audit_event (at);
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
