// The baseline every Custos figure is compared with: Express 5 + helmet answering
// a small JSON body, no auth, no database. Prints its port once listening.
import express from 'express';
import helmet from 'helmet';

const app = express();
app.use(helmet());
app.get('/baseline', (_req, res) => {
  res.json({ ok: true, purposes: ['marketing', 'support'] });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`"port":${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
