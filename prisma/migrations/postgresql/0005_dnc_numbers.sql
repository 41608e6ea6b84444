-- Registry imports keep 64-bit tags of the number pseudonyms (see identifierTag), not whole
-- digests: 8 bytes a number in one b-tree keyed (import, tag), so an import of ten million
-- numbers, sorted, appends to its own key range. Internal entries stay in dnc_entry.
CREATE TABLE dnc_import (
  import_no SERIAL PRIMARY KEY,
  import_id TEXT NOT NULL,
  source TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  started_at TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX dnc_import_import_id_key ON dnc_import (import_id);
CREATE INDEX dnc_import_source_idx ON dnc_import (source);

CREATE TABLE dnc_number (
  import_no INTEGER NOT NULL,
  tag BIGINT NOT NULL,
  PRIMARY KEY (import_no, tag)
);

ALTER TABLE dnc_source ADD COLUMN import_no INTEGER;
