// How `npm test` decides its closing line and its exit code. Every stage (a vitest project, or a step such as
// lint) becomes a result; the run is green only when every result is, and the closing line names every count
// and every failure. A stage is red when a test failed, a suite failed to run (a file that throws at import,
// a failing beforeAll), an error escaped the tests, the run was interrupted, vitest exited non-zero, or it left
// no report. Reports are deleted before their stage runs, so a report is never a leftover of an earlier run.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { outcomeFileVariable } from './test-outcome-reporter.mjs';

const repoRoot = resolve(import.meta.dirname, '..');
const vitestBin = join(repoRoot, 'node_modules/vitest/vitest.mjs');
const reporterPath = join(repoRoot, 'scripts/test-outcome-reporter.mjs');

const plural = (count, noun) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** How a process ended, in words: `exited 1`, `killed by SIGKILL`. */
export function describeExit({ status, signal }) {
  return signal ? `killed by ${signal}` : `exited ${status}`;
}

/** The result of a step that has no tests to count (lint, typecheck, build, the test broker). */
export function stepResult(name, ok, problem = 'failed') {
  return { name, ok, passed: 0, failed: 0, skipped: 0, suitesFailed: [], problems: ok ? [] : [problem] };
}

/**
 * One vitest stage's result from how its process ended and the outcome its reporter wrote
 * (undefined: none was written, so nothing it says can be trusted and the stage is red).
 */
export function stageResult(name, exit, outcome) {
  if (!outcome) return stepResult(name, false, `${describeExit(exit)} without a report`);
  const problems = [];
  if (outcome.unhandledErrors.length > 0) problems.push(`${plural(outcome.unhandledErrors.length, 'unhandled error')}: ${outcome.unhandledErrors.join(' | ')}`);
  if (outcome.reason === 'interrupted') problems.push('interrupted');
  const explained = outcome.failed > 0 || outcome.suitesFailed.length > 0 || problems.length > 0;
  const exitedOk = exit.status === 0 && !exit.signal;
  if (!exitedOk && !explained) problems.push(`${describeExit(exit)} though its report shows no failure`);
  if (exitedOk && explained) problems.push('exited 0 despite failures');
  const ok = exitedOk && !explained;
  return { name, ok, passed: outcome.passed, failed: outcome.failed, skipped: outcome.skipped, suitesFailed: outcome.suitesFailed, problems };
}

/** Reads the outcome a stage's reporter wrote; undefined when there is none or it is not whole. */
export function readOutcome(file) {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Runs `vitest run <args>` with the outcome reporter, after deleting the outcome file of any earlier run,
 * and returns the stage's result. `stdio: 'inherit'` shows vitest's own report as it runs.
 */
export function runVitestStage({ name, args, outcomeFile, env = {}, cwd = repoRoot, stdio = 'inherit' }) {
  rmSync(outcomeFile, { force: true });
  const run = spawnSync(process.execPath, [vitestBin, 'run', ...args, '--reporter=default', `--reporter=${reporterPath}`], {
    cwd,
    stdio,
    env: { ...process.env, ...env, [outcomeFileVariable]: outcomeFile },
  });
  return stageResult(name, { status: run.status, signal: run.signal }, readOutcome(outcomeFile));
}

/** 0 only when every stage and step is green (and there was at least one). */
export function exitCodeFor(results) {
  return results.length > 0 && results.every((result) => result.ok) ? 0 : 1;
}

/** `812 passed, 2 failed (1 suite failed to run), 3 skipped: red — e2e (…), lint (failed)`. */
export function closingLine(results) {
  const sum = (count) => results.reduce((total, result) => total + count(result), 0);
  const suitesFailed = sum((result) => result.suitesFailed.length);
  const failedToRun = suitesFailed > 0 ? ` (${plural(suitesFailed, 'suite')} failed to run)` : '';
  const counts = `${sum((result) => result.passed)} passed, ${sum((result) => result.failed)} failed${failedToRun}, ${sum((result) => result.skipped)} skipped`;
  const red = results.filter((result) => !result.ok);
  if (exitCodeFor(results) === 0) return `${counts}: green`;
  if (red.length === 0) return `${counts}: red — nothing ran`;
  return `${counts}: red — ${red.map((result) => `${result.name} (${reasonsOf(result).join('; ')})`).join(', ')}`;
}

function reasonsOf(result) {
  const reasons = [];
  if (result.failed > 0) reasons.push(`${plural(result.failed, 'test')} failed`);
  if (result.suitesFailed.length > 0) reasons.push(`${plural(result.suitesFailed.length, 'suite')} failed to run`);
  return [...reasons, ...result.problems];
}

/** The lines printed above the closing line: each suite that failed to run, with its first error line. */
export function failedSuiteLines(results) {
  return results.flatMap((result) => result.suitesFailed.map((suite) => `  ✗ ${result.name}: ${suite.name}: ${suite.message}`));
}
