-- One-off data upgrades that SQL cannot do (folding old consent ledgers, encrypting old time
-- zones) run in code when Custos starts, until done; each is recorded here once finished, so
-- later starts skip them without scanning the tables they upgraded.
CREATE TABLE data_upgrade (
  name TEXT NOT NULL PRIMARY KEY,
  done_at TIMESTAMP(3) NOT NULL
);
