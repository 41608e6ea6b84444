-- Guarded writes (Database.writeAloneIf): a decision made on values read in an
-- earlier statement is written in one statement whose main query re-checks
-- those values; a guard that no longer holds raises SQLSTATE CX409 and the
-- whole statement, rows and audit event, is rolled back.

-- A guard over a condition evaluated in the write's own statement.
CREATE FUNCTION custos_require(ok BOOLEAN, what TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION 'guard refused: %', what USING ERRCODE = 'CX409';
  END IF;
  RETURN TRUE;
END $$;

-- What a capped contact decision counted, as one value: the subject's
-- reservations on a channel since a window start that are not released, with
-- what can still change about them (status, reveal). Read beside the subject
-- for the decision, and again under the subject's lock when its slot is written.
CREATE FUNCTION contact_slots_seen(p_subject TEXT, p_channel TEXT, p_since TIMESTAMP, p_except TEXT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
  SELECT md5(COALESCE(string_agg(ticket || '/' || status || '/' || (revealed_at IS NULL)::TEXT, ',' ORDER BY ticket), ''))
    FROM contact_reservation
   WHERE subject_id = p_subject AND channel = p_channel AND reserved_at > p_since AND status <> 'released' AND ticket <> p_except
$$;

-- Takes the subject's contact lock, the advisory lock every capped decision
-- takes (lockKeys: namespace 'contact', seed 11), so it holds until the write
-- commits; then reads the slots again in a new snapshot (each statement of a
-- VOLATILE function takes one, so slots committed while it waited are seen)
-- and refuses the write if they differ from what the decision counted. The
-- write's own reservation (p_ticket) is left out, whether or not it is
-- inserted yet.
CREATE FUNCTION contact_slots_claim(p_subject TEXT, p_channel TEXT, p_since TIMESTAMP, p_seen TEXT, p_ticket TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  now_seen TEXT;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('contact:' || p_subject, 11));
  SELECT contact_slots_seen(p_subject, p_channel, p_since, p_ticket) INTO now_seen;
  IF now_seen IS DISTINCT FROM p_seen THEN
    RAISE EXCEPTION 'contact slots changed since they were counted' USING ERRCODE = 'CX409';
  END IF;
  RETURN TRUE;
END $$;
