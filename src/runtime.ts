import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Config } from './config.ts';
import { createOpenApiRegistry } from './http/openapi.ts';
import { createMetrics, type Metrics } from './http/observability.ts';
import { startTelemetry, type TelemetryExport } from './http/telemetry-export.ts';
import { CUSTOS_VERSION } from './shared/version.ts';
import { loadMasterKey } from './crypto/master-key.ts';
import { checkMasterKey } from './modules/key-ring/master-key-check.ts';
import { joinReplicas } from './modules/replicas/membership.ts';
import { deriveSigningKey, type SigningKey } from './crypto/signing-key.ts';
import type { Logger } from './logger.ts';
import { createCloseables, type Closeables } from './shared/closeables.ts';
import { OidcVerifier } from './modules/auth/oidc.ts';
import { createAuthService, type AuthService } from './modules/auth/service.ts';
import type { OpsState } from './modules/ops/routes.ts';
import { createAuditGroupCommit } from './modules/audit/group-commit.ts';
import { createAuditIntegrator, type AuditIntegrator } from './modules/audit/integrator.ts';
import { pinnedLogOrigin } from './modules/audit/log-origin.ts';
import { createAuditLog, type AuditLog } from './modules/audit/log.ts';
import { setAuditVocabulary } from './modules/audit/service.ts';
import { AUDIT_FILTER_NAMES, createAuditSearch, type AuditSearch } from './modules/audit/search.ts';
import { createTreeReader } from './modules/audit/tree-reader.ts';
import { createConsentService, type ConsentService } from './modules/consent/service.ts';
import { createContactService, type ContactService } from './modules/contacts/service.ts';
import { createDoNotCall, type DoNotCall } from './modules/dnc/service.ts';
import { createImportService, type ImportService } from './modules/imports/service.ts';
import { createKeyRing } from './modules/key-ring/key-ring.ts';
import { createNotifier, type Notifier } from './modules/notifier/service.ts';
import { createPeopleService, type PeopleService } from './modules/people/service.ts';
import { createRequestActions } from './modules/requests/apply.ts';
import { createMaintenance, type Maintenance } from './modules/requests/maintenance.ts';
import { runRetention, type RetentionReport } from './modules/requests/retention.ts';
import { createRequestService, type RequestService } from './modules/requests/service.ts';
import type { RequestContext } from './shared/request-context.ts';
import { createIdentifierPseudonyms, type IdentifierPseudonyms } from './modules/pseudonyms/identifiers.ts';
import { loadPolicy } from './modules/policies/load.ts';
import { createSubjectService, type SubjectService } from './modules/subjects/service.ts';
import type { LoadedPolicy } from './modules/policies/schema.ts';
import { openDatabase, type Database } from './storage/database.ts';
import { upgradeOnce } from './storage/data-upgrades.ts';
import { migrate, MigrationError } from './storage/migrate.ts';

/** Everything a running Custos holds, wired once; the HTTP app and the CLI both use it. */
export interface Runtime {
  config: Config;
  logger: Logger;
  loaded: LoadedPolicy;
  db: Database;
  signingKey: SigningKey;
  auth: AuthService;
  subjects: SubjectService;
  consent: ConsentService;
  contacts: ContactService;
  doNotCall: DoNotCall;
  pseudonyms: IdentifierPseudonyms;
  auditIntegrator: AuditIntegrator;
  auditLog: AuditLog;
  auditSearch: AuditSearch;
  notifier: Notifier;
  requests: RequestService;
  people: PeopleService;
  imports: ImportService;
  /** Retention by hand (`custos retention run`); serving processes also sweep periodically. */
  runRetention(ctx: RequestContext, options: { dryRun: boolean; now?: Date }): Promise<RetentionReport>;
  maintenance: Maintenance;
  metrics: Metrics;
  registry: OpenAPIRegistry;
  ops: OpsState;
  /** The audit log's name (checkpoint origin), fixed at the database's first start. */
  auditOrigin: string;
  /** What this runtime opened (and what the app built on it adds, e.g. its worker threads); closed by close(). */
  closeables: Closeables;
  /** OpenTelemetry's export, when OTEL_EXPORTER_OTLP_ENDPOINT is set: `flush` sends what is buffered now. */
  telemetry?: TelemetryExport;
  close(): Promise<void>;
}

/**
 * The embedded database migrates itself at start, so `npm start` works on a
 * fresh machine. PostgreSQL is shared by replicas and migrated on purpose with
 * `custos migrate`; a replica never starts against a schema it does not know.
 */
async function prepareSchema(config: Config, logger: Logger): Promise<void> {
  if (config.database.kind === 'sqlite') {
    const report = await migrate(config.database);
    if (report.applied.length > 0) logger.info('applied migrations', { migrations: report.applied });
    return;
  }
  const pending = await migrate(config.database, { dryRun: true });
  if (pending.applied.length > 0) {
    throw new MigrationError(
      `the PostgreSQL schema "${config.database.schema}" needs migrations ${pending.applied.join(', ')}; run \`npm run custos -- migrate\` from the checkout (\`custos migrate\` when installed) first`,
    );
  }
}

/**
 * `integrate: false` for commands that only read the trail (audit verify): they place and sign nothing.
 * `background: true` for a serving process: it delivers messages and runs the maintenance sweep.
 */
export async function createRuntime(config: Config, logger: Logger, options: { integrate?: boolean; announceDevelopmentKey?: boolean; background?: boolean } = {}): Promise<Runtime> {
  const loaded = loadPolicy(config.policyDir);
  const masterKey = loadMasterKey(config.masterKey, config.dataDir, logger, { announceExisting: options.announceDevelopmentKey !== false });
  const signingKey = await deriveSigningKey(masterKey);
  await prepareSchema(config, logger);
  const closeables = createCloseables((name, error) => logger.warn(`could not close ${name} cleanly`, { error: error instanceof Error ? error.message : String(error) }));
  // Before the database, so its statements' spans have somewhere to go; off (undefined) unless configured.
  const telemetry = config.telemetry && closeables.add('telemetry', startTelemetry({ ...config.telemetry, version: CUSTOS_VERSION }), (t) => t.close());
  const db = closeables.add('database', await openDatabase(config.database), (opened) => opened.close());
  try {
    return { ...(await assembleRuntime(config, logger, options, { loaded, masterKey, signingKey, db, closeables })), telemetry };
  } catch (error) {
    // A start-up that fails at any step closes what it opened, so the process exits instead of hanging.
    await closeables.closeAll();
    throw error;
  }
}

async function assembleRuntime(
  config: Config,
  logger: Logger,
  options: { integrate?: boolean; background?: boolean },
  opened: { loaded: ReturnType<typeof loadPolicy>; masterKey: Buffer; signingKey: SigningKey; db: Database; closeables: Closeables },
): Promise<Runtime> {
  const { loaded, masterKey, signingKey, db, closeables } = opened;
  // Refusals come before any work: another master key than the database's, or (for a serving
  // process) another policy version than the live replicas serve.
  await checkMasterKey(db, masterKey);
  const auditOrigin = await pinnedLogOrigin(db, config.audit);
  const membership = options.background
    ? closeables.add('replica membership', await joinReplicas(db, loaded.version), (m) =>
        m.leave().catch((error: unknown) => logger.warn('could not leave the replica list; it is forgotten once not renewed', { error: error instanceof Error ? error.message : String(error) })),
      )
    : undefined;
  setAuditVocabulary(db, { purposes: Object.keys(loaded.policy.purposes), fields: [...Object.keys(loaded.policy.fields), ...AUDIT_FILTER_NAMES] });
  const oidc = config.oidc ? new OidcVerifier(config.oidc) : undefined;
  const audit = createAuditGroupCommit(db);
  const auth = createAuthService({
    db,
    audit,
    policy: loaded.policy,
    oidc,
    settings: {
      issuer: config.publicUrl,
      signingKey,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      officerSessionTtlSeconds: config.officerSessionTtlSeconds,
    },
  });
  // Subjects and consent need each other (reads are gated by consent; consent resolves refs), so
  // each gets a function that calls the other once both exist.
  const keys = createKeyRing(masterKey);
  const pseudonyms = createIdentifierPseudonyms({ db, policy: loaded.policy, keys });
  const subjects: SubjectService = createSubjectService({ db, policy: loaded.policy, keys, audit, pseudonyms, consentRead: (p, scope) => consent.consentRead(p, scope) });
  const consent: ConsentService = createConsentService({
    db,
    policy: loaded.policy,
    audit,
    signingKey,
    issuer: config.publicUrl,
    policyUrl: config.privacyNoticeUrl,
    subjectOfRef: (appId, ref) => subjects.subjectOfRef(appId, ref),
  });
  const auditIntegrator = closeables.add(
    'audit integrator',
    createAuditIntegrator({
      db,
      signingKey,
      logger,
      settings: { enabled: config.audit.integrator, headIntervalMs: config.audit.headIntervalMs, headEveryEvents: config.audit.headEveryEvents, pollMs: config.audit.sweepMs, batchSize: 5000 },
    }),
    (integrator) => integrator.stop(),
  );
  const folded = await upgradeOnce(db, 'consent-state-0011', () => consent.foldLegacyLedgers());
  if (folded > 0) logger.info('kept consent state computed for ledgers written before 0.2', { ledgers: folded });
  const legacy = await upgradeOnce(db, 'sealed-timezones', () => subjects.sealLegacyTimezones());
  if (legacy > 0) logger.info('encrypted time zones stored before 0.2', { subjects: legacy });
  const integrating = config.audit.integrator && options.integrate !== false;
  if (integrating) auditIntegrator.start();
  const doNotCall = createDoNotCall({ db, audit, pseudonyms, noteSealingKey: keys.noteSealingKey });
  const contacts = createContactService({ db, policy: loaded.policy, audit, subjects, consent, doNotCall });
  const auditSearch = createAuditSearch({ db, audit, subjectsMatching: (value) => subjects.subjectsMatching(value), officerId: (value) => auth.officerIdOf(value) });
  const notifier = closeables.add('notifier', createNotifier({ db, audit, logger, sealingKey: keys.requestSealingKey, webhookUrl: config.notifier.webhookUrl }), (n) => n.stop());
  const actionDeps = { db, policy: loaded.policy, subjects, consent, contacts, doNotCall, auditSearch, appNames: async () => new Map((await auth.listApps()).map((a) => [a.clientId, a.name])) };
  const requestActions = createRequestActions(actionDeps);
  const people = createPeopleService({ policy: loaded.policy, audit, pseudonyms, subjects, consent, contacts, doNotCall, appNames: actionDeps.appNames });
  const requests = createRequestService({
    db,
    policy: loaded.policy,
    audit,
    pseudonyms,
    notifier,
    actions: requestActions,
    sealingKey: keys.requestSealingKey,
    secretKey: keys.requestSecretKey,
    settings: { perIdentifierPerHour: config.requests.perIdentifierPerHour, perIdentifierCeilingPerHour: config.requests.perIdentifierCeilingPerHour },
  });
  const imports = closeables.add(
    'imports',
    createImportService({
      db,
      policy: loaded.policy,
      audit,
      subjects,
      consent,
      contacts,
      doNotCall,
      activeApp: (clientId) => auth.activeApp(clientId),
      settings: config.imports,
    }),
    (i) => i.stop(),
  );
  const retention = (ctx: RequestContext, retentionOptions: { dryRun: boolean; now?: Date }) => runRetention(actionDeps, requestActions, ctx, retentionOptions);
  const maintenance = closeables.add(
    'maintenance',
    createMaintenance({
      db,
      logger,
      intervalMs: config.retentionSweepMs,
      policyVersion: loaded.version,
      sweepRequests: (ctx) => requests.sweep(ctx),
      purgeMessages: () => notifier.purge(),
      retention: (ctx) => retention(ctx, { dryRun: false }),
    }),
    (m) => m.stop(),
  );
  if (options.background) {
    notifier.start();
    maintenance.start();
  }
  return {
    config,
    logger,
    loaded,
    db,
    signingKey,
    auth,
    subjects,
    consent,
    contacts,
    doNotCall,
    pseudonyms,
    auditIntegrator,
    auditLog: createAuditLog({ db, signingKey, origin: auditOrigin, tree: createTreeReader(db) }),
    auditOrigin,
    auditSearch,
    notifier,
    requests,
    people,
    imports,
    runRetention: retention,
    maintenance,
    metrics: createMetrics(logger.health, db.watchdog),
    registry: createOpenApiRegistry(),
    ops: { shuttingDown: false },
    closeables,
    async close() {
      // Events written by this process are placed before it goes (the CLI's, a draining replica's).
      if (integrating)
        await auditIntegrator
          .flush()
          .catch((error: unknown) => logger.warn('could not place the last audit events; another process will', { error: error instanceof Error ? error.message : String(error) }));
      await closeables.closeAll();
    },
  };
}
