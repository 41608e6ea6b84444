CREATE TABLE contact_reservation (
  ticket TEXT NOT NULL PRIMARY KEY,
  subject_id TEXT NOT NULL,
  app_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  purpose TEXT NOT NULL,
  topic TEXT,
  status TEXT NOT NULL,
  reserved_at TIMESTAMP(3) NOT NULL,
  expires_at TIMESTAMP(3) NOT NULL,
  revealed_at TIMESTAMP(3),
  outcome_at TIMESTAMP(3)
);
CREATE INDEX contact_reservation_subject_id_channel_reserved_at_idx ON contact_reservation (subject_id, channel, reserved_at);

CREATE TABLE contact_idempotency (
  app_id TEXT NOT NULL,
  key TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at TIMESTAMP(3) NOT NULL,
  PRIMARY KEY (app_id, key)
);

CREATE TABLE dnc_entry (
  id TEXT NOT NULL PRIMARY KEY,
  source TEXT NOT NULL,
  import_id TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  digest TEXT NOT NULL,
  note TEXT,
  created_at TIMESTAMP(3) NOT NULL
);
CREATE INDEX dnc_entry_digest_idx ON dnc_entry (digest);
CREATE UNIQUE INDEX dnc_entry_source_import_id_digest_key ON dnc_entry (source, import_id, digest);

CREATE TABLE dnc_source (
  source TEXT NOT NULL PRIMARY KEY,
  import_id TEXT NOT NULL,
  entries INTEGER NOT NULL,
  imported_at TIMESTAMP(3) NOT NULL
);
