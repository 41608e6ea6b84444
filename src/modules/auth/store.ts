import { isUniqueViolation, type DbClient, type Tx } from '../../storage/database.ts';
import { listSchema, officerRoleSchema, type OfficerRole } from './schema.ts';

export interface AppRecord {
  id: string;
  name: string;
  secretHash: string;
  purposes: string[];
  reveal: string[];
  createdAt: Date;
  removedAt: Date | null;
}

export interface OfficerRecord {
  id: string;
  username: string;
  role: OfficerRole;
  passwordHash: string;
  createdAt: Date;
  disabledAt: Date | null;
}

type AppRow = Omit<AppRecord, 'purposes' | 'reveal'> & { purposes: string; reveal: string };
type OfficerRow = Omit<OfficerRecord, 'role'> & { role: string };

const toApp = (row: AppRow): AppRecord => ({ ...row, purposes: listSchema.parse(JSON.parse(row.purposes)), reveal: listSchema.parse(JSON.parse(row.reveal)) });
const toOfficer = (row: OfficerRow): OfficerRecord => ({ ...row, role: officerRoleSchema.parse(row.role) });

export async function insertApp(tx: Tx, app: AppRecord): Promise<void> {
  await tx.app.create({ data: { ...app, purposes: JSON.stringify(app.purposes), reveal: JSON.stringify(app.reveal) } });
}

export async function findApp(db: DbClient | Tx, id: string): Promise<AppRecord | undefined> {
  const row = await db.app.findUnique({ where: { id } });
  return row ? toApp(row) : undefined;
}

export async function listApps(db: DbClient): Promise<AppRecord[]> {
  return (await db.app.findMany({ orderBy: { createdAt: 'asc' } })).map(toApp);
}

export async function markAppRemoved(tx: Tx, id: string, at: Date): Promise<boolean> {
  const { count } = await tx.app.updateMany({ where: { id, removedAt: null }, data: { removedAt: at } });
  return count === 1;
}

/** False when the username is taken. */
export async function insertOfficer(tx: Tx, officer: OfficerRecord): Promise<boolean> {
  try {
    await tx.officer.create({ data: officer });
    return true;
  } catch (error) {
    if (isUniqueViolation(error)) return false;
    throw error;
  }
}

export async function findOfficerByUsername(db: DbClient | Tx, username: string): Promise<OfficerRecord | undefined> {
  const row = await db.officer.findUnique({ where: { username } });
  return row ? toOfficer(row) : undefined;
}

export async function findOfficer(db: DbClient | Tx, id: string): Promise<OfficerRecord | undefined> {
  const row = await db.officer.findUnique({ where: { id } });
  return row ? toOfficer(row) : undefined;
}

export async function listOfficers(db: DbClient): Promise<OfficerRecord[]> {
  return (await db.officer.findMany({ orderBy: { createdAt: 'asc' } })).map(toOfficer);
}

export async function markOfficerDisabled(tx: Tx, id: string, at: Date): Promise<boolean> {
  const { count } = await tx.officer.updateMany({ where: { id, disabledAt: null }, data: { disabledAt: at } });
  return count === 1;
}

export const appView = (app: AppRecord) => ({
  clientId: app.id,
  name: app.name,
  purposes: app.purposes,
  reveal: app.reveal,
  createdAt: app.createdAt.toISOString(),
  removedAt: app.removedAt?.toISOString() ?? null,
});

export const officerView = (officer: OfficerRecord) => ({
  id: officer.id,
  username: officer.username,
  role: officer.role,
  createdAt: officer.createdAt.toISOString(),
  removedAt: officer.disabledAt?.toISOString() ?? null,
});

/** Ends an officer session on every replica: its token id is refused until the token would have expired. */
export async function revokeSession(tx: Tx, row: { jti: string; officerId: string; expiresAt: Date; at: Date }): Promise<void> {
  await tx.revokedSession.upsert({ where: { jti: row.jti }, create: { jti: row.jti, officerId: row.officerId, expiresAt: row.expiresAt, revokedAt: row.at }, update: {} });
  // Housekeeping: revocations of tokens that have expired anyway protect nothing.
  await tx.revokedSession.deleteMany({ where: { expiresAt: { lt: row.at } } });
}

export async function isSessionRevoked(db: DbClient, jti: string): Promise<boolean> {
  return (await db.revokedSession.count({ where: { jti } })) > 0;
}

/** The storage the auth operations use: these SQL functions, or an in-memory fake for unit tests (test/support/fakes/). */
export interface AuthStore {
  insertApp: typeof insertApp;
  findApp: typeof findApp;
  listApps: typeof listApps;
  markAppRemoved: typeof markAppRemoved;
  insertOfficer: typeof insertOfficer;
  findOfficerByUsername: typeof findOfficerByUsername;
  findOfficer: typeof findOfficer;
  listOfficers: typeof listOfficers;
  markOfficerDisabled: typeof markOfficerDisabled;
  revokeSession: typeof revokeSession;
  isSessionRevoked: typeof isSessionRevoked;
}
