// Generates the Prisma clients for both storage engines from prisma/schema.prisma.
// Runs offline: `prisma generate` needs only the WebAssembly schema tools in the
// prisma package, so we point the schema-engine path somewhere harmless instead of
// letting the CLI try to download the binary (which fails without internet).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'prisma', 'schema.prisma');
const sqliteDir = join(root, 'prisma', 'generated-sqlite');
const sqliteSchema = join(sqliteDir, 'schema.prisma');

const canonical = readFileSync(source, 'utf8');
const sqlite = canonical.replace('provider = "postgresql"', 'provider = "sqlite"').replace('output       = "../src/generated/postgresql"', 'output       = "../../src/generated/sqlite"');
if (sqlite === canonical) throw new Error('generate-prisma: could not derive the SQLite schema');
mkdirSync(sqliteDir, { recursive: true });
writeFileSync(sqliteSchema, '// Derived from prisma/schema.prisma by scripts/generate-prisma.mjs. Do not edit.\n' + sqlite);

const prismaCli = join(root, 'node_modules', 'prisma', 'build', 'index.js');
for (const schema of [source, sqliteSchema]) {
  const result = spawnSync(process.execPath, [prismaCli, 'generate', '--schema', schema], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
