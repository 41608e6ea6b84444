-- Every row that belongs to a person references the subject it belongs to, and goes with it:
-- an erasure deletes the subject and the database deletes the rest (ON DELETE CASCADE), and a
-- writer that loses a race with an erasure fails its foreign-key check instead of leaving a row
-- behind (SQLite serialises writers, so the check runs either before the erasure or after it).
-- SQLite adds a foreign key only by rebuilding the table; rows of subjects already erased (left
-- by writers that raced an erasure before this migration) are not copied.
CREATE TABLE subject_identifier_v2 (
  kind TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  digest TEXT NOT NULL,
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  PRIMARY KEY (kind, key_version, digest)
);
INSERT INTO subject_identifier_v2 (kind, key_version, digest, subject_id)
  SELECT kind, key_version, digest, subject_id FROM subject_identifier WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE subject_identifier;
ALTER TABLE subject_identifier_v2 RENAME TO subject_identifier;
CREATE INDEX subject_identifier_subject_id_idx ON subject_identifier (subject_id);

CREATE TABLE subject_field_v2 (
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  field TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  updated_at DATETIME NOT NULL,
  PRIMARY KEY (subject_id, field)
);
INSERT INTO subject_field_v2 (subject_id, field, ciphertext, updated_at)
  SELECT subject_id, field, ciphertext, updated_at FROM subject_field WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE subject_field;
ALTER TABLE subject_field_v2 RENAME TO subject_field;

CREATE TABLE subject_change_v2 (
  id TEXT NOT NULL PRIMARY KEY,
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  field TEXT NOT NULL,
  change TEXT NOT NULL,
  ciphertext TEXT,
  purpose TEXT NOT NULL,
  actor_id TEXT,
  request_id TEXT,
  changed_at DATETIME NOT NULL
);
INSERT INTO subject_change_v2 (id, subject_id, field, change, ciphertext, purpose, actor_id, request_id, changed_at)
  SELECT id, subject_id, field, change, ciphertext, purpose, actor_id, request_id, changed_at FROM subject_change WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE subject_change;
ALTER TABLE subject_change_v2 RENAME TO subject_change;
CREATE INDEX subject_change_subject_id_changed_at_idx ON subject_change (subject_id, changed_at);

CREATE TABLE subject_ref_v2 (
  ref TEXT NOT NULL PRIMARY KEY,
  app_id TEXT NOT NULL,
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  created_at DATETIME NOT NULL
);
INSERT INTO subject_ref_v2 (ref, app_id, subject_id, created_at)
  SELECT ref, app_id, subject_id, created_at FROM subject_ref WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE subject_ref;
ALTER TABLE subject_ref_v2 RENAME TO subject_ref;
CREATE UNIQUE INDEX subject_ref_app_id_subject_id_key ON subject_ref (app_id, subject_id);
CREATE INDEX subject_ref_subject_id_idx ON subject_ref (subject_id);

CREATE TABLE consent_event_v2 (
  id TEXT NOT NULL PRIMARY KEY,
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
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
  at DATETIME NOT NULL,
  receipt TEXT
);
INSERT INTO consent_event_v2 (id, subject_id, seq, purpose, kind, channels, topics, recipients, source, notice_version, expires_at, gpc, receipt_id, actor_id, request_id, at, receipt)
  SELECT id, subject_id, seq, purpose, kind, channels, topics, recipients, source, notice_version, expires_at, gpc, receipt_id, actor_id, request_id, at, receipt
    FROM consent_event WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE consent_event;
ALTER TABLE consent_event_v2 RENAME TO consent_event;
CREATE UNIQUE INDEX consent_event_subject_id_seq_key ON consent_event (subject_id, seq);
CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;

CREATE TABLE consent_state_v2 (
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  purpose TEXT NOT NULL,
  state TEXT NOT NULL,
  PRIMARY KEY (subject_id, purpose)
);
INSERT INTO consent_state_v2 (subject_id, purpose, state) SELECT subject_id, purpose, state FROM consent_state WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE consent_state;
ALTER TABLE consent_state_v2 RENAME TO consent_state;

CREATE TABLE contact_reservation_v2 (
  ticket TEXT NOT NULL PRIMARY KEY,
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  app_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  purpose TEXT NOT NULL,
  topic TEXT,
  status TEXT NOT NULL,
  reserved_at DATETIME NOT NULL,
  expires_at DATETIME NOT NULL,
  revealed_at DATETIME,
  outcome_at DATETIME
);
INSERT INTO contact_reservation_v2 (ticket, subject_id, app_id, channel, purpose, topic, status, reserved_at, expires_at, revealed_at, outcome_at)
  SELECT ticket, subject_id, app_id, channel, purpose, topic, status, reserved_at, expires_at, revealed_at, outcome_at
    FROM contact_reservation WHERE subject_id IN (SELECT id FROM subject);
DROP TABLE contact_reservation;
ALTER TABLE contact_reservation_v2 RENAME TO contact_reservation;
CREATE INDEX contact_reservation_subject_id_channel_reserved_at_idx ON contact_reservation (subject_id, channel, reserved_at);
