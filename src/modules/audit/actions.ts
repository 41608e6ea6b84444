/**
 * Every action an audit event can carry, so officers' filters can refuse a
 * misspelt one instead of silently finding nothing. A test checks that every
 * action written in the sources is listed here.
 */
export const auditActions = [
  'audit.events.export',
  'audit.events.search',
  'auth.app.create',
  'auth.app.remove',
  'auth.officer.create',
  'auth.officer.sign-in',
  'auth.token.issue',
  'auth.token.refuse',
  'consent.grant',
  'consent.list',
  'consent.withdraw',
  'contacts.authorize',
  'contacts.outcome',
  'contacts.reveal',
  'contacts.scrub',
  'dnc.check',
  'dnc.entry.add',
  'dnc.entry.remove',
  'dnc.import',
  'keys.rotation.complete',
  'keys.version.add',
  'subjects.subject.create',
  'subjects.subject.lookup',
  'subjects.subject.read',
  'subjects.subject.update',
  'subjects.subject.write',
] as const;

export type AuditAction = (typeof auditActions)[number];
