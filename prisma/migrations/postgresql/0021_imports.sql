-- Imports of an existing customer base (custos import, POST /v1/imports). A run holds no personal
-- data: counts, refusals by line, field and reason (never a value), and how far it has committed
-- (the line and a digest chain over the lines up to it, so a resumed run can prove it reads the same file).
CREATE TABLE import_run (
  id TEXT NOT NULL PRIMARY KEY,
  app_id TEXT NOT NULL,
  format TEXT NOT NULL,
  status TEXT NOT NULL,
  dry_run BOOLEAN NOT NULL,
  committed_line INTEGER NOT NULL,
  committed_digest TEXT NOT NULL,
  counts TEXT NOT NULL,
  errors TEXT NOT NULL,
  error_count INTEGER NOT NULL,
  started_by TEXT,
  started_at TIMESTAMP(3) NOT NULL,
  updated_at TIMESTAMP(3) NOT NULL,
  finished_at TIMESTAMP(3)
);
CREATE INDEX import_run_app_id_idx ON import_run (app_id, started_at);
-- The CRM's own id of each person an import wrote, for the {id, ref} map it hands back. It names a
-- person, so it belongs to the subject and goes with it on erasure.
CREATE TABLE import_ref (
  import_id TEXT NOT NULL REFERENCES import_run (id) ON DELETE CASCADE,
  line INTEGER NOT NULL,
  external_id TEXT NOT NULL,
  subject_id TEXT NOT NULL REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE,
  PRIMARY KEY (import_id, line)
);
CREATE INDEX import_ref_subject_id_idx ON import_ref (subject_id);
-- Imported consent history: the CRM's reference to its evidence of each event, and the import that
-- entered it (receipts of imported grants say so too).
ALTER TABLE consent_event ADD COLUMN evidence TEXT;
ALTER TABLE consent_event ADD COLUMN import_id TEXT;
