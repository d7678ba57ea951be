// The chaos drill's table: one row per fault, its rounds summed (recovery: the slowest round).

const columns = [
  ['fault', (row) => row.fault],
  ['rounds', (row) => row.rounds],
  ['accepted', (row) => row.accepted],
  ['final', (row) => row.final],
  ['succeeded', (row) => row.succeeded],
  ['code lost with DB', (row) => row.codesLostWithDatabase],
  ['PSP auths', (row) => row.pspCharges],
  ['conflicts', (row) => row.idempotencyConflicts],
  ['replays', (row) => row.idempotentReplays],
  ['>1 charge', (row) => row.paymentsChargedTwice],
  ['charge w/o success', (row) => row.chargesWithoutSuccess],
  ['5xx', (row) => row.answered5xx],
  ['resets', (row) => row.resets],
  ['timeouts', (row) => row.timeouts],
  ['recover s', (row) => row.recoverySeconds.toFixed(1)],
  ['final ≤ s', (row) => (row.finalSecondsAfterFault === undefined ? 'never' : row.finalSecondsAfterFault.toFixed(1))],
  ['result', (row) => (row.failedRounds === 0 ? 'ok' : `FAILED ${row.failedRounds}`)],
];

const summed = ['accepted', 'final', 'succeeded', 'codesLostWithDatabase', 'pspCharges', 'idempotencyConflicts', 'idempotentReplays', 'paymentsChargedTwice', 'chargesWithoutSuccess', 'answered5xx', 'resets', 'timeouts'];

export function summarize(results) {
  const rows = new Map();
  for (const { fault, figures, problems } of results) {
    const row = rows.get(fault) ?? { fault, rounds: 0, failedRounds: 0, recoverySeconds: 0, finalSecondsAfterFault: 0, problems: [], ...Object.fromEntries(summed.map((name) => [name, 0])) };
    row.rounds++;
    for (const name of summed) row[name] += figures[name];
    row.recoverySeconds = Math.max(row.recoverySeconds, figures.recoverySeconds);
    row.finalSecondsAfterFault = figures.finalSecondsAfterFault === undefined || row.finalSecondsAfterFault === undefined ? undefined : Math.max(row.finalSecondsAfterFault, figures.finalSecondsAfterFault);
    if (problems.length > 0) {
      row.failedRounds++;
      row.problems.push(...problems);
    }
    rows.set(fault, row);
  }
  return [...rows.values()];
}

/** Prints the table as Markdown (it goes into notes and the README as it is), then each failure. */
export function printReport(results, { ratePerSecond, rounds }) {
  const rows = summarize(results);
  const lines = [
    `| ${columns.map(([title]) => title).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${columns.map(([, value]) => String(value(row))).join(' | ')} |`),
  ];
  process.stdout.write(`\nChaos drill: kill -9 under open-loop load of ${ratePerSecond} payments/s, ${rounds} round(s) per fault\n\n${lines.join('\n')}\n\n`);
  for (const row of rows.filter((candidate) => candidate.problems.length > 0)) process.stdout.write(`${row.fault}: ${row.problems.join('; ')}\n`);
}
