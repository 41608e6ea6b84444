import type { TestGateway } from './gateway.ts';

/** Raw SQL for tests that simulate failures or tampering the product itself never performs. */
const statements = {
  sqlite: {
    failAuditAppends: ["CREATE TRIGGER test_audit_fail BEFORE INSERT ON audit_event BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END"],
    restoreAuditAppends: ['DROP TRIGGER test_audit_fail'],
    allowTampering: [
      'DROP TRIGGER audit_event_no_update',
      'DROP TRIGGER audit_event_no_delete',
      'DROP TRIGGER audit_leaf_no_update',
      'DROP TRIGGER audit_leaf_no_delete',
      'DROP TRIGGER audit_tree_node_no_update',
      'DROP TRIGGER audit_tree_node_no_delete',
      'DROP TRIGGER audit_tree_head_no_update',
      'DROP TRIGGER audit_tree_head_no_delete',
    ],
  },
  postgresql: {
    failAuditAppends: [
      "CREATE FUNCTION test_audit_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated disk failure'; END $$",
      'CREATE TRIGGER test_audit_fail BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION test_audit_fail()',
    ],
    restoreAuditAppends: ['DROP TRIGGER test_audit_fail ON audit_event', 'DROP FUNCTION test_audit_fail()'],
    allowTampering: [
      'ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change',
      'ALTER TABLE audit_leaf DISABLE TRIGGER audit_leaf_no_change',
      'ALTER TABLE audit_tree_node DISABLE TRIGGER audit_tree_node_no_change',
      'ALTER TABLE audit_tree_head DISABLE TRIGGER audit_tree_head_no_change',
    ],
  },
};

export async function runTestSql(gateway: TestGateway, name: keyof (typeof statements)['sqlite']): Promise<void> {
  for (const sql of statements[gateway.runtime.db.kind][name]) await gateway.runtime.db.transaction((tx) => tx.$executeRawUnsafe(sql));
}
