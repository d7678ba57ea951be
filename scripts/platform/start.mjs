// `npm start`: installs dependencies if needed, builds, and runs the whole platform in the foreground.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');
if (!existsSync(join(repoRoot, 'node_modules/.package-lock.json'))) {
  console.log('[platform] installing dependencies (npm ci)…');
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: repoRoot, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const { buildProject, startPlatform } = await import('./platform.mjs');
buildProject();
const replicas = Number(process.env.DIRIGEN_REPLICAS ?? 1);
let platform;
try {
  platform = await startPlatform({ replicas });
} catch (error) {
  console.error(`[platform] failed to start: ${error.message}`);
  process.exit(1);
}
const { apiUrl, apiKey } = platform;
console.log(`
────────────────────────────────────────────────────────────────────────
 Dirigen is running.
   API:        ${apiUrl}
   Secret key: ${apiKey}${process.env.DIRIGEN_DEV_API_KEY ? ' (from DIRIGEN_DEV_API_KEY)' : ' (generated; kept in .data/secrets.json)'}
   Logs:       .data/logs/<service>.log        Data: .data/

 Your first payment:

   curl -s ${apiUrl}/v1/payments \\
     -H "Authorization: Bearer ${apiKey}" \\
     -H "Content-Type: application/json" \\
     -H "Idempotency-Key: first-payment-$(date +%s)" \\
     -d '{"amount":2000,"currency":"USD","payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}}'

 Ctrl-C stops everything.
────────────────────────────────────────────────────────────────────────
`);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[platform] ${signal}: stopping services, then Kafka and PostgreSQL…`);
    await platform.stop();
    console.log('[platform] stopped.');
    process.exit(0);
  });
}
