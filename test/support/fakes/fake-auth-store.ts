import type { AppRecord, AuthStore, OfficerRecord } from '../../../src/modules/auth/store.ts';
import type { FakeParticipant } from './fake-database.ts';

/** Apps, officers and ended sessions in memory (AuthStore), with the SQL store's semantics: unique usernames, removal once. */
export function createFakeAuthStore(): AuthStore & FakeParticipant & { apps: Map<string, AppRecord>; officers: Map<string, OfficerRecord>; revoked: Map<string, Date> } {
  const apps = new Map<string, AppRecord>();
  const officers = new Map<string, OfficerRecord>();
  const revoked = new Map<string, Date>();
  return {
    apps,
    officers,
    revoked,
    snapshot() {
      const saved = { apps: new Map(apps), officers: new Map(officers), revoked: new Map(revoked) };
      return () => {
        for (const [live, copy] of [
          [apps, saved.apps],
          [officers, saved.officers],
          [revoked, saved.revoked],
        ] as const) {
          live.clear();
          (copy as Map<string, never>).forEach((v, k) => (live as Map<string, never>).set(k, v));
        }
      };
    },
    insertApp: async (_tx, app) => void apps.set(app.id, { ...app }),
    findApp: async (_db, id) => apps.get(id),
    listApps: async () => [...apps.values()],
    async markAppRemoved(_tx, id, at) {
      const app = apps.get(id);
      if (!app || app.removedAt) return false;
      apps.set(id, { ...app, removedAt: at });
      return true;
    },
    async insertOfficer(_tx, officer) {
      if ([...officers.values()].some((o) => o.username === officer.username)) return false;
      officers.set(officer.id, { ...officer });
      return true;
    },
    findOfficerByUsername: async (_db, username) => [...officers.values()].find((o) => o.username === username),
    findOfficer: async (_db, id) => officers.get(id),
    listOfficers: async () => [...officers.values()],
    async markOfficerDisabled(_tx, id, at) {
      const officer = officers.get(id);
      if (!officer || officer.disabledAt) return false;
      officers.set(id, { ...officer, disabledAt: at });
      return true;
    },
    async revokeSession(_tx, row) {
      revoked.set(row.jti, row.expiresAt);
    },
    isSessionRevoked: async (_db, jti) => revoked.has(jti),
  };
}
