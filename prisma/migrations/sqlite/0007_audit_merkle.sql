-- Verifiable audit trail (RFC 9162 Merkle tree) without a hot row for writers.
-- Writers insert immutable events in their own transaction; a trigger queues each one in
-- audit_pending. An integrator, one at a time, appends each queued event to audit_leaf
-- (leaf index, leaf hash, chain hash), keeps the tree's perfect-subtree hashes and signs
-- tree heads. Existing events are copied in their order and placed again in the new leaf format.
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
  policy_version TEXT NOT NULL
);
INSERT INTO audit_event_v2 (no, id, at, actor_type, actor_id, action, decision, subject, purpose, fields, reasons, request_id, policy_version)
  SELECT seq, id, at, actor_type, actor_id, action, decision, subject, purpose, fields, reasons, request_id, policy_version FROM audit_event ORDER BY seq;
DROP TABLE audit_event;
ALTER TABLE audit_event_v2 RENAME TO audit_event;
DROP TABLE audit_head;
CREATE UNIQUE INDEX audit_event_id_key ON audit_event (id);
CREATE INDEX audit_event_subject_no_idx ON audit_event (subject, no);
CREATE INDEX audit_event_actor_id_no_idx ON audit_event (actor_id, no);
CREATE INDEX audit_event_action_no_idx ON audit_event (action, no);
CREATE INDEX audit_event_at_idx ON audit_event (at);
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Events waiting for their place in the log; the integrator removes them as it places them.
CREATE TABLE audit_pending (no INTEGER NOT NULL PRIMARY KEY);
INSERT INTO audit_pending (no) SELECT no FROM audit_event;
CREATE TRIGGER audit_event_queue AFTER INSERT ON audit_event BEGIN INSERT INTO audit_pending (no) VALUES (NEW.no); END;

-- Each placed event: its leaf index (0-based position in the log), leaf hash and chain hash.
CREATE TABLE audit_leaf (
  leaf_index INTEGER NOT NULL PRIMARY KEY,
  event_no BIGINT NOT NULL,
  leaf_hash TEXT NOT NULL,
  chain_hash TEXT NOT NULL
);
CREATE UNIQUE INDEX audit_leaf_event_no_key ON audit_leaf (event_no);
CREATE TRIGGER audit_leaf_no_update BEFORE UPDATE ON audit_leaf BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_leaf_no_delete BEFORE DELETE ON audit_leaf BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

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
