// The Prisma CLI loads this only for `prisma dev` (a local Prisma Postgres), which Custos does not use.
exports.startLocalDurableStreamsServer = async () => {
  throw new Error('`prisma dev` is not available in the Custos checkout (its streams server needs Node 22); Custos uses SQLite or your PostgreSQL');
};
