CREATE TABLE app (
  id TEXT NOT NULL PRIMARY KEY,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  purposes TEXT NOT NULL,
  reveal TEXT NOT NULL,
  created_at TIMESTAMP(3) NOT NULL,
  removed_at TIMESTAMP(3)
);

CREATE TABLE officer (
  id TEXT NOT NULL PRIMARY KEY,
  username TEXT NOT NULL,
  role TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  created_at TIMESTAMP(3) NOT NULL,
  disabled_at TIMESTAMP(3)
);
CREATE UNIQUE INDEX officer_username_key ON officer (username);

CREATE TABLE audit_head (
  id INTEGER NOT NULL PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_event (
  seq BIGINT NOT NULL PRIMARY KEY,
  id TEXT NOT NULL,
  at TIMESTAMP(3) NOT NULL,
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
CREATE UNIQUE INDEX audit_event_id_key ON audit_event (id);
CREATE INDEX audit_event_subject_seq_idx ON audit_event (subject, seq);
CREATE INDEX audit_event_actor_id_seq_idx ON audit_event (actor_id, seq);
CREATE INDEX audit_event_action_seq_idx ON audit_event (action, seq);
CREATE INDEX audit_event_at_idx ON audit_event (at);
-- Append-only: the trail is never edited in place.
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$;
CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
