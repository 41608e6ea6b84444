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
  expires_at TIMESTAMP(3),
  gpc BOOLEAN NOT NULL,
  receipt_id TEXT,
  actor_id TEXT,
  request_id TEXT,
  at TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX consent_event_subject_id_seq_key ON consent_event (subject_id, seq);
-- The ledger is never edited in place.
CREATE FUNCTION consent_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the consent ledger is append-only'; END $$;
CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event
  FOR EACH ROW EXECUTE FUNCTION consent_event_append_only();
