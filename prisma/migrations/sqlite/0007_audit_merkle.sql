-- Verifiable audit trail (RFC 9162 Merkle tree) without a hot row for writers.
-- Writers insert events with no position (leaf_index NULL) in their own transaction;
-- an integrator, one at a time, gives each its leaf index, leaf hash and chain hash,
-- keeps the tree's perfect-subtree hashes and signs tree heads. Existing events are
-- copied in their order and integrated again in the new leaf format.
CREATE TABLE audit_event_v2 (
  no INTEGER NOT NULL PRIMARY KEY,
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
  leaf_index INTEGER,
  leaf_hash TEXT,
  chain_hash TEXT
);
INSERT INTO audit_event_v2 (no, id, at, actor_type, actor_id, action, decision, subject, purpose, fields, reasons, request_id, policy_version)
  SELECT seq, id, at, actor_type, actor_id, action, decision, subject, purpose, fields, reasons, request_id, policy_version FROM audit_event ORDER BY seq;
DROP TABLE audit_event;
ALTER TABLE audit_event_v2 RENAME TO audit_event;
DROP TABLE audit_head;
CREATE UNIQUE INDEX audit_event_id_key ON audit_event (id);
CREATE UNIQUE INDEX audit_event_leaf_index_key ON audit_event (leaf_index);
CREATE INDEX audit_event_pending_idx ON audit_event (no) WHERE leaf_index IS NULL;
CREATE INDEX audit_event_subject_leaf_idx ON audit_event (subject, leaf_index);
CREATE INDEX audit_event_actor_leaf_idx ON audit_event (actor_id, leaf_index);
CREATE INDEX audit_event_action_leaf_idx ON audit_event (action, leaf_index);
CREATE INDEX audit_event_at_idx ON audit_event (at);
-- Append-only; the one update allowed is the integrator's, once, giving a new event its place.
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
  WHEN OLD.leaf_index IS NOT NULL OR NEW.leaf_index IS NULL OR NEW.leaf_hash IS NULL OR NEW.chain_hash IS NULL
    OR NEW.no IS NOT OLD.no OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_type IS NOT OLD.actor_type
    OR NEW.actor_id IS NOT OLD.actor_id OR NEW.action IS NOT OLD.action OR NEW.decision IS NOT OLD.decision
    OR NEW.subject IS NOT OLD.subject OR NEW.purpose IS NOT OLD.purpose OR NEW.fields IS NOT OLD.fields
    OR NEW.reasons IS NOT OLD.reasons OR NEW.request_id IS NOT OLD.request_id OR NEW.policy_version IS NOT OLD.policy_version
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- The integrator's state: tree size, last chain hash, and the right edge of the tree
-- (hashes of the perfect subtrees that make up [0, tree_size), largest first).
CREATE TABLE audit_tree_state (
  id INTEGER NOT NULL PRIMARY KEY,
  tree_size BIGINT NOT NULL,
  chain_hash TEXT NOT NULL,
  frontier TEXT NOT NULL
);
INSERT INTO audit_tree_state (id, tree_size, chain_hash, frontier) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '[]');

-- Perfect-subtree hashes at levels 8, 16, 24, ... (tiles of 256); level 0 is audit_event.leaf_hash.
CREATE TABLE audit_tree_node (
  level INTEGER NOT NULL,
  idx BIGINT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER audit_tree_node_no_update BEFORE UPDATE ON audit_tree_node BEGIN SELECT RAISE(ABORT, 'tree nodes are append-only'); END;
CREATE TRIGGER audit_tree_node_no_delete BEFORE DELETE ON audit_tree_node BEGIN SELECT RAISE(ABORT, 'tree nodes are append-only'); END;

-- Signed tree heads, kept so an officer can prove later what the log held at a time.
CREATE TABLE audit_tree_head (
  tree_size BIGINT NOT NULL PRIMARY KEY,
  root_hash TEXT NOT NULL,
  signed_at DATETIME NOT NULL,
  signature TEXT NOT NULL
);
CREATE INDEX audit_tree_head_signed_at_idx ON audit_tree_head (signed_at);
CREATE TRIGGER audit_tree_head_no_update BEFORE UPDATE ON audit_tree_head BEGIN SELECT RAISE(ABORT, 'tree heads are append-only'); END;
CREATE TRIGGER audit_tree_head_no_delete BEFORE DELETE ON audit_tree_head BEGIN SELECT RAISE(ABORT, 'tree heads are append-only'); END;

-- Counts per hour, action, decision and deny reason, kept by the integrator for /v1/audit/stats.
CREATE TABLE audit_stat_hour (
  hour TEXT NOT NULL,
  action TEXT NOT NULL,
  decision TEXT NOT NULL,
  reason TEXT NOT NULL,
  count BIGINT NOT NULL,
  PRIMARY KEY (hour, action, decision, reason)
) WITHOUT ROWID;
