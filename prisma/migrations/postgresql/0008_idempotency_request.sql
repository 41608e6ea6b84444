-- An Idempotency-Key replays its first answer only for the same request: the request's
-- fingerprint is kept beside the answer. Keys stored before this have none ('') and are
-- treated as reused with another request (422), never replayed blindly.
ALTER TABLE contact_idempotency ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
