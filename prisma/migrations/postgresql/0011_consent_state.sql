-- The current consent per subject and purpose, kept beside the append-only ledger and
-- updated in the same transaction as each entry, so a grant, a withdrawal and a check
-- read one row whatever the ledger's length. The ledger stays the record: the state is
-- what folding it gives (a property test checks this), and states missing for ledgers
-- written before this migration are folded when Custos starts.
CREATE TABLE consent_state (
  subject_id TEXT NOT NULL,
  purpose TEXT NOT NULL,
  state TEXT NOT NULL,
  PRIMARY KEY (subject_id, purpose)
);
