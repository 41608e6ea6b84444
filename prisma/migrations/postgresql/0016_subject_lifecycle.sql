-- Every row that belongs to a person references the subject it belongs to, and goes with it:
-- an erasure deletes the subject and the database deletes the rest (ON DELETE CASCADE). A writer
-- that loses a race with an erasure cannot leave a row behind: its foreign-key check locks the
-- subject row (FOR KEY SHARE), so it either waits for the erasure and then fails, or the erasure
-- waits for it and then deletes what it wrote. Rows of subjects already erased (left by writers
-- that raced an erasure before this migration) are deleted first.
DELETE FROM subject_identifier c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);
DELETE FROM subject_field c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);
DELETE FROM subject_change c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);
DELETE FROM subject_ref c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);
DELETE FROM consent_event c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);
DELETE FROM consent_state c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);
DELETE FROM contact_reservation c WHERE NOT EXISTS (SELECT 1 FROM subject s WHERE s.id = c.subject_id);

ALTER TABLE subject_identifier ADD CONSTRAINT subject_identifier_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE subject_field ADD CONSTRAINT subject_field_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE subject_change ADD CONSTRAINT subject_change_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE subject_ref ADD CONSTRAINT subject_ref_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE consent_event ADD CONSTRAINT consent_event_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE consent_state ADD CONSTRAINT consent_state_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE contact_reservation ADD CONSTRAINT contact_reservation_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES subject (id) ON DELETE CASCADE ON UPDATE CASCADE;
