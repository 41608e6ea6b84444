// Configuration for the Prisma CLI (Prisma 7 reads it from the project root).
// Custos itself does not use `prisma migrate`: its migration engine is a binary
// downloaded on first use. Tables come from prisma/migrations/<provider>/*.sql,
// applied by `custos migrate`; scripts/generate-prisma.mjs generates both clients.
// This file lets `npx prisma studio` and `npx prisma validate` work against
// DATABASE_URL for people who have the engines.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' },
});
