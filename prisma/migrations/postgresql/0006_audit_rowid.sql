-- Nothing to do on PostgreSQL: SQLite's 0006 makes audit_event.seq the rowid there
-- (a table layout PostgreSQL does not have). Kept so both engines number migrations alike.
SELECT 1;
