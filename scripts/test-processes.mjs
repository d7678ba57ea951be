// Child processes `npm test` owns for the whole run (the test Kafka broker). A wait on `once('exit')` for a child
// that has already exited never ends; with nothing else pending, Node then exits 0 and a red run looks green.
// So stopping checks first, and a child that dies before the run stops it is a failure the run reports.
import { portOpen } from './platform/ports.mjs';
import { describeExit } from './test-summary.mjs';

const hasExited = (child) => child.exitCode !== null || child.signalCode !== null;

/** Resolves once `child` has exited: at once when it already has; else SIGTERM, then SIGKILL after `graceMs`. */
export function stopChild(child, graceMs) {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

/**
 * Watches a child that must live until the run stops it. `diedEarly()` says how it ended when it ended
 * before `stop()` (undefined while it lives); `stop()` is `stopChild`.
 */
export function watchChild(child, name) {
  let stopping = false;
  let diedEarly;
  const onExit = (status, signal) => {
    if (!stopping) diedEarly = `${name} ${describeExit({ status, signal })} before the run stopped it`;
  };
  if (hasExited(child)) onExit(child.exitCode, child.signalCode);
  else child.once('exit', onExit);
  return {
    diedEarly: () => diedEarly,
    stop: (graceMs) => {
      stopping = true;
      return stopChild(child, graceMs);
    },
  };
}

/**
 * How a watched server that must listen on `port` died, or undefined while it lives and listens. Every stage
 * runs under spawnSync, which blocks the event loop and so holds back the child's 'exit' event: the port check
 * turns the loop before the watch is read (and catches a server that lives on but no longer listens).
 */
export async function deathOf(watch, name, port) {
  const listening = await portOpen(port);
  await new Promise((resolve) => setImmediate(resolve));
  return watch.diedEarly() ?? (listening ? undefined : `${name} no longer answers on 127.0.0.1:${port}`);
}
