// CPU time per platform process from /proc (Linux): what each role (a service, its replicas, the
// broker, PostgreSQL, the balancer) spent between two snapshots, so a run can say "CPU ms per payment".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const clockTicksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK)
/** PostgreSQL's own processes that serve no one database (shared by every database on the server). */
const postgresBackgroundTitles = /^(checkpointer|background writer|walwriter|wal writer|autovacuum launcher|logical replication launcher|stats collector|archiver|startup|walreceiver|walsender|parallel worker)/;
/** The label for those processes: the platform causes some of their work, but not all of it. */
export const postgresSharedRole = 'postgres (server background, shared)';
export const benchRole = 'bench (load generator)';

/** The role a process plays, from its command line; undefined for a process that is not the platform's. */
export function roleOf(commandLine) {
  const service = /dist\/services\/([a-z-]+)\/src\/main\.js/.exec(commandLine);
  if (service) return service[1];
  if (/^\S*java\b/.test(commandLine) && /kafka/i.test(commandLine)) return 'kafka';
  if (/^postgres(:|\s|$)/.test(commandLine) || /\/postgres\s+-D\s/.test(commandLine) || /\bbin\/postgres\b/.test(commandLine)) return 'postgres';
  if (/scripts\/platform\/start\.mjs|scripts\/chaos\/run\.mjs|scripts\/bench\/platform-process\.mjs/.test(commandLine)) return 'balancer';
  if (/scripts\/bench\/run\.mjs/.test(commandLine)) return benchRole;
  return undefined;
}

/**
 * Which processes belong to one platform when two run on the machine (another checkout's, the test
 * suite's): the pids its supervisor wrote under `runDir` (services, the broker, an embedded
 * PostgreSQL) with their children, the process that supervises them (it runs the balancer), the
 * backends of a shared PostgreSQL that serve `databaseName`, and the bench itself (`benchPid`).
 */
export function platformScope({ runDir, databaseName, benchPid = process.pid }) {
  return { runDir, databaseName, benchPid };
}

/**
 * Every process's CPU ticks (user + system) with its role. Without a scope, every process `roleOf`
 * knows counts; with one (`platformScope`), only that platform's.
 */
export function snapshot(scope) {
  const all = readProcesses();
  const roleIn = scope ? scopedRoles(all, scope) : (_pid, entry) => roleOf(entry.commandLine);
  const processes = new Map();
  for (const [pid, entry] of all) {
    const role = roleIn(pid, entry);
    if (role) processes.set(pid, { role, ticks: entry.ticks });
  }
  const [, ...cpu] = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).map(Number);
  return { at: performance.now(), processes, machineBusyTicks: cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7], machineTotalTicks: cpu.reduce((sum, value) => sum + value, 0) };
}

/**
 * CPU seconds per role between two snapshots (a process born in between counts from zero; one that
 * ended in between is lost), how many processes each role had, and the machine's busy share and
 * busy CPU seconds (everything on the machine, not only the platform).
 */
export function usageBetween(before, after) {
  const byRole = {};
  const processesByRole = {};
  for (const [pid, { role, ticks }] of after.processes) {
    processesByRole[role] = (processesByRole[role] ?? 0) + 1;
    const spent = ticks - (before.processes.get(pid)?.ticks ?? 0);
    if (spent > 0) byRole[role] = (byRole[role] ?? 0) + spent / clockTicksPerSecond;
  }
  const busyTicks = after.machineBusyTicks - before.machineBusyTicks;
  const busyShare = busyTicks / Math.max(1, after.machineTotalTicks - before.machineTotalTicks);
  return {
    seconds: (after.at - before.at) / 1000,
    cpuSecondsByRole: byRole,
    processesByRole,
    machineBusyShare: Math.round(busyShare * 1000) / 1000,
    machineBusyCpuSeconds: busyTicks / clockTicksPerSecond,
  };
}

function readProcesses() {
  const processes = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim();
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      processes.set(entry, { commandLine, parentPid: fields[1], ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended between readdir and read
    }
  }
  return processes;
}

/** The role of each process within one platform's scope (see `platformScope`), undefined for any other process. */
function scopedRoles(all, scope) {
  const supervised = supervisedPids(scope.runDir);
  // The supervisor: the parent of a supervised process, unless that is the bench itself (then it counts as the bench).
  const supervisors = new Set([...supervised].map((pid) => all.get(pid)?.parentPid).filter(Boolean));
  return (pid, entry) => {
    if (pid === String(scope.benchPid)) return benchRole;
    if (supervised.has(pid) || hasAncestorIn(entry, all, supervised)) return roleOf(entry.commandLine) ?? 'other (child of a platform process)';
    if (supervisors.has(pid)) return roleOf(entry.commandLine) ?? 'balancer';
    if (roleOf(entry.commandLine) === 'postgres') return sharedPostgresRole(entry.commandLine, scope.databaseName);
    return undefined;
  };
}

/** A shared server's process: this database's backend, a server-wide helper, or another database's backend (not ours). */
function sharedPostgresRole(commandLine, databaseName) {
  // "postgres: [cluster: ]user database host(port) state", "postgres: [cluster: ]autovacuum worker database", or a helper's title.
  const title = commandLine.replace(/^postgres:\s*/, '').replace(/^\d+\/\w+:\s*/, '');
  if (postgresBackgroundTitles.test(title)) return postgresSharedRole;
  const autovacuum = /^autovacuum worker\s+(\S+)/.exec(title);
  if (autovacuum) return autovacuum[1] === databaseName ? 'postgres' : undefined;
  const [, database] = title.split(/\s+/);
  if (/\(\d+\)|\[local\]/.test(title)) return database === databaseName ? 'postgres' : undefined;
  // The postmaster itself ("/usr/lib/postgresql/15/bin/postgres -D …"): server-wide.
  return /\bbin\/postgres\b|\/postgres\s+-D\s/.test(commandLine) ? postgresSharedRole : undefined;
}

/** The pids in the run directory's pid files, read fresh each time (a restarted process gets a new one). */
function supervisedPids(runDir) {
  if (!runDir || !existsSync(runDir)) return new Set();
  const pids = new Set();
  for (const file of readdirSync(runDir)) {
    if (!file.endsWith('.pid')) continue;
    try {
      const pid = readFileSync(join(runDir, file), 'utf8').trim();
      if (/^\d+$/.test(pid)) pids.add(pid);
    } catch {
      // removed while we read
    }
  }
  return pids;
}

/** Bounded walk up the process tree: a runaway chain never loops. */
const ancestryDepthMax = 16;

function hasAncestorIn(entry, all, pids) {
  let parentPid = entry.parentPid;
  for (let depth = 0; depth < ancestryDepthMax && parentPid && parentPid !== '0'; depth++) {
    if (pids.has(parentPid)) return true;
    parentPid = all.get(parentPid)?.parentPid;
  }
  return false;
}
