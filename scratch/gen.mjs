// node gen.mjs N > file : N customers with three consent events each and a recent call for some
const n = Number(process.argv[2] ?? 1000);
const start = Number(process.argv[3] ?? 0);
const day = 86400000;
const now = Date.now();
for (let i = start; i < start + n; i++) {
  const phone = `+86138${String(i).padStart(8, '0')}`;
  const rec = {
    id: `crm-${i}`,
    purpose: 'marketing',
    identifiers: { phone, email: `c${i}@example.com` },
    attributes: { name: `Customer ${i}`, pets: ['cat'] },
    timezone: 'Asia/Shanghai',
    consents: [
      { purpose: 'marketing', grantedAt: new Date(now - 900 * day - i * 1000).toISOString(), source: 'web-form', noticeVersion: '2023-03', channels: ['sms', 'email', 'call'] },
      { purpose: 'marketing', withdrawnAt: new Date(now - 400 * day - i * 1000).toISOString(), topics: ['bird-food'], source: 'call-centre' },
      { purpose: 'marketing', grantedAt: new Date(now - 100 * day - i * 1000).toISOString(), source: 'app', noticeVersion: '2025-01', channels: ['sms', 'call'] },
    ],
    ...(i % 10 === 0 ? { doNotCall: { since: new Date(now - 50 * day).toISOString(), source: 'customer-request' } } : {}),
    ...(i % 3 === 0 ? { contacts: [{ channel: 'call', purpose: 'marketing', at: new Date(now - 2 * 3600000).toISOString() }] } : {}),
  };
  process.stdout.write(JSON.stringify(rec) + '\n');
}
