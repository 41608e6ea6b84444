CREATE TABLE key_version (
  version INTEGER NOT NULL PRIMARY KEY,
  created_at TIMESTAMP(3) NOT NULL
);
INSERT INTO key_version (version, created_at) VALUES (1, now());

CREATE TABLE subject (
  id TEXT NOT NULL PRIMARY KEY,
  timezone TEXT,
  key_version INTEGER NOT NULL,
  wrapped_key TEXT NOT NULL,
  created_at TIMESTAMP(3) NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL
);

CREATE TABLE subject_identifier (
  kind TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  digest TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  PRIMARY KEY (kind, key_version, digest)
);
CREATE INDEX subject_identifier_subject_id_idx ON subject_identifier (subject_id);

CREATE TABLE subject_field (
  subject_id TEXT NOT NULL,
  field TEXT NOT NULL,
  ciphertext TEXT NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL,
  PRIMARY KEY (subject_id, field)
);

CREATE TABLE subject_change (
  id TEXT NOT NULL PRIMARY KEY,
  subject_id TEXT NOT NULL,
  field TEXT NOT NULL,
  change TEXT NOT NULL,
  ciphertext TEXT,
  purpose TEXT NOT NULL,
  actor_id TEXT,
  request_id TEXT,
  changed_at TIMESTAMP(3) NOT NULL
);
CREATE INDEX subject_change_subject_id_changed_at_idx ON subject_change (subject_id, changed_at);

CREATE TABLE subject_ref (
  ref TEXT NOT NULL PRIMARY KEY,
  app_id TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  created_at TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX subject_ref_app_id_subject_id_key ON subject_ref (app_id, subject_id);
CREATE INDEX subject_ref_subject_id_idx ON subject_ref (subject_id);
