-- Customer privacy requests (access, opt-out, correction, erasure). A request keeps the
-- identifier it names, and any corrected values, only encrypted and only while it is open;
-- its pseudonym (identifier_digest) stays for rate limits and the audit trail. The status
-- token and the one-time code are kept as keyed hashes only.
CREATE TABLE privacy_request (
  id TEXT NOT NULL PRIMARY KEY,
  type TEXT NOT NULL,
  status TEXT NOT NULL,
  identifier_kind TEXT NOT NULL,
  identifier_digest TEXT NOT NULL,
  sealed_identifier TEXT,
  sealed_correction TEXT,
  scope TEXT,
  gpc BOOLEAN NOT NULL,
  token_hash TEXT NOT NULL,
  code_hash TEXT,
  code_expires_at TIMESTAMP(3),
  code_attempts INTEGER NOT NULL,
  subjects TEXT,
  decision_reason TEXT,
  due_at TIMESTAMP(3) NOT NULL,
  created_at TIMESTAMP(3) NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL,
  closed_at TIMESTAMP(3)
);
CREATE UNIQUE INDEX privacy_request_token_hash_key ON privacy_request (token_hash);
CREATE INDEX privacy_request_due_at_id_idx ON privacy_request (due_at, id);
CREATE INDEX privacy_request_identifier_digest_created_at_idx ON privacy_request (identifier_digest, created_at);

-- Each step of a request (submitted, code sent, verified, …), in order: its history.
CREATE TABLE privacy_request_step (
  request_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  step TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT,
  detail TEXT,
  at TIMESTAMP(3) NOT NULL,
  PRIMARY KEY (request_id, seq)
);

-- Messages to people (verification codes). Recipient and text are encrypted; a message is
-- deleted a day after it was written. status: held (the outbox notifier: admins read it),
-- pending (the webhook notifier will deliver it), delivered, failed.
CREATE TABLE notifier_message (
  id TEXT NOT NULL PRIMARY KEY,
  request_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  sealed TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at TIMESTAMP(3) NOT NULL,
  expires_at TIMESTAMP(3) NOT NULL,
  last_error TEXT,
  created_at TIMESTAMP(3) NOT NULL,
  delivered_at TIMESTAMP(3)
);
CREATE INDEX notifier_message_status_next_attempt_at_idx ON notifier_message (status, next_attempt_at);
CREATE INDEX notifier_message_created_at_idx ON notifier_message (created_at);

-- Background jobs that must run on one replica at a time (retention sweep) hold a lease.
CREATE TABLE job_lease (
  name TEXT NOT NULL PRIMARY KEY,
  holder TEXT NOT NULL,
  until TIMESTAMP(3) NOT NULL
);

-- The signed consent receipt, kept with its grant so a person's access export can include it.
ALTER TABLE consent_event ADD COLUMN receipt TEXT;
