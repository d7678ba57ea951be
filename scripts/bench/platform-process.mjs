// The platform a bench run starts, in a process of its own (forked by platform-access.mjs): the load
// balancer then runs here, so its CPU counts as the balancer's and its work never delays the load
// generator's timers. Stops the platform when told to, when the bench goes away, or on a signal.
import { startPlatform } from '../platform/platform.mjs';

const startOptions = JSON.parse(process.argv[2]);
// The bench's platform runs its own broker on its own ports, never one named by KAFKA_BROKERS.
delete process.env.KAFKA_BROKERS;

const starting = startPlatform({ ...startOptions, echo: false, log: (line) => console.log(line) });
let stopping;
/** Stops once the start has finished either way, so a stop during the start leaves no process behind. */
function stop(reason) {
  stopping ??= (async () => {
    console.log(`[bench-platform] stopping (${reason})…`);
    const platform = await starting.catch(() => undefined);
    await platform?.stop();
    console.log('[bench-platform] stopped');
    process.exit(0);
  })();
  return stopping;
}
process.on('message', (message) => message?.type === 'stop' && stop('the bench is done'));
process.on('disconnect', () => stop('the bench went away'));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stop(signal));

let platform;
try {
  platform = await starting;
} catch (error) {
  console.error(`[bench-platform] failed to start: ${error.stack ?? error}`);
  process.exit(1);
}
if (!stopping) {
  process.send({
    type: 'ready',
    platform: {
      apiUrl: platform.apiUrl,
      apiKey: platform.apiKey,
      merchantId: platform.merchantId,
      simulatorUrl: platform.simulatorUrl,
      vaultGrpcAddress: platform.vaultGrpcAddress,
      databaseUrl: platform.databaseUrl,
      brokers: platform.brokers,
      dataDir: platform.dataDir,
      processes: platform.processes.map((entry) => ({ name: entry.definition.name, instance: entry.instance, port: entry.port })),
    },
  });
}
