-- A guard for any decision that counted rows a lock protects (EngineAdapter.recheckUnderLock):
-- takes the advisory lock its writers take (the key computed by the caller, in one place),
-- then runs the check as a statement of its own, in a snapshot taken after the lock (so rows
-- committed while it waited are seen), and refuses the write unless the check gives what the
-- decision saw. The check's values come as one text[] ($1[1], $1[2], ...). contact_slots_claim
-- (0015) stays for replicas of the version before during a rolling upgrade; both take the same lock.
CREATE FUNCTION custos_recheck_locked(p_lock BIGINT, p_check TEXT, p_args TEXT[], p_expected TEXT, p_what TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  now_seen TEXT;
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock);
  EXECUTE p_check INTO now_seen USING p_args;
  IF now_seen IS DISTINCT FROM p_expected THEN
    RAISE EXCEPTION 'guard refused: %', p_what USING ERRCODE = 'CX409';
  END IF;
  RETURN TRUE;
END $$;
