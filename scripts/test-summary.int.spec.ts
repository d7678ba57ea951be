import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error plain ESM runner module without type declarations
import { closingLine, exitCodeFor, runVitestStage, stepResult } from './test-summary.mjs';
// @ts-expect-error plain ESM runner module without type declarations
import { deathOf, stopChild, watchChild } from './test-processes.mjs';
import rootConfig from '../vitest.config.mts';

interface Result {
  name: string;
  ok: boolean;
  passed: number;
  failed: number;
  skipped: number;
  suitesFailed: { name: string; message: string }[];
  problems: string[];
}

const repoRoot = resolve(import.meta.dirname, '..');
const fixturesDir = 'scripts/fixtures/vitest-outcomes';
const scratch = mkdtempSync(join(tmpdir(), 'dirigen-test-summary-'));
const stopPromptlyMs = 2_000;

/**
 * The test modifiers no spec may carry, as data: the fixtures that prove the runner and lint refuse them are
 * written from these when this file runs (and removed after), so no committed file holds a focused or skipped test.
 */
const modifier = { focus: 'only', skip: 'skip', todo: 'todo' } as const;
const generatedFixtures: Record<string, string> = {
  // Red under allowOnly: false: a focused test left in a file would otherwise run alone and skip the rest silently.
  'focused.generated.fixture.ts': `import { expect, it } from 'vitest';\nit.${modifier.focus}('runs alone', () => expect(1).toBe(1));\nit('would be skipped silently', () => expect(1).toBe(1));\n`,
  // Green: one test passes; a skipped test and a todo are counted as skipped, not as passed.
  'passing.generated.fixture.ts': `import { describe, expect, it } from 'vitest';\ndescribe('a suite that passes', () => {\n  it('passes', () => expect(1 + 1).toBe(2));\n  it.${modifier.skip}('is skipped', () => expect(1).toBe(1));\n  it.${modifier.todo}('is still to write');\n});\n`,
};
for (const [file, source] of Object.entries(generatedFixtures)) writeFileSync(join(repoRoot, fixturesDir, file), source);
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  for (const file of Object.keys(generatedFixtures)) rmSync(join(repoRoot, fixturesDir, file), { force: true });
});

/** Runs vitest on fixture files exactly as `npm test` runs a stage, quietly. */
function runFixtures(...files: string[]): Result {
  return runVitestStage({ name: 'fixtures', args: ['--root', fixturesDir, ...files], outcomeFile: join(scratch, 'outcome.json'), cwd: repoRoot, stdio: 'pipe' });
}

function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timed out'> {
  return Promise.race([promise, new Promise<'timed out'>((resolve) => setTimeout(() => resolve('timed out'), timeoutMs))]);
}

describe("npm test's closing line and exit code", () => {
  it('calls a run green only when every test passed, counting a skipped test and a todo as skipped', () => {
    const result = runFixtures('passing.generated.fixture.ts');
    expect(closingLine([result])).toBe('1 passed, 0 failed, 2 skipped: green');
    expect(exitCodeFor([result])).toBe(0);
  });

  it('turns the run red for a failing test, with the count', () => {
    const result = runFixtures('failing-test.fixture.ts');
    expect(closingLine([result])).toBe('1 passed, 1 failed, 0 skipped: red — fixtures (1 test failed)');
    expect(exitCodeFor([result])).toBe(1);
  });

  it('counts a failing beforeAll as a suite that failed to run, beside a test that failed in the same file', () => {
    const result = runFixtures('failing-before-all.fixture.ts');
    expect(result.suitesFailed).toEqual([{ name: 'failing-before-all.fixture.ts > a suite whose set-up fails', message: 'set-up failed on purpose' }]);
    expect(closingLine([result])).toBe('1 passed, 1 failed (1 suite failed to run), 2 skipped: red — fixtures (1 test failed; 1 suite failed to run)');
    expect(exitCodeFor([result])).toBe(1);
  });

  it('counts a file that throws at import, which has no test to fail, as a suite that failed to run', () => {
    const result = runFixtures('throws-at-import.fixture.ts');
    expect(result.suitesFailed).toEqual([{ name: 'throws-at-import.fixture.ts', message: 'import failed on purpose' }]);
    expect(closingLine([result])).toBe('0 passed, 0 failed (1 suite failed to run), 0 skipped: red — fixtures (1 suite failed to run)');
    expect(exitCodeFor([result])).toBe(1);
  });

  it('fails a .only instead of running that test alone (allowOnly: false)', () => {
    const result = runFixtures('focused.generated.fixture.ts');
    expect(result).toMatchObject({ ok: false, passed: 0, failed: 1 });
    expect(exitCodeFor([result])).toBe(1);
  });

  it('turns the run red for an error that escaped the tests, though every test passed', () => {
    const result = runFixtures('unhandled-error.fixture.ts');
    expect(result).toMatchObject({ ok: false, passed: 1, failed: 0, problems: ['1 unhandled error: rejection left behind on purpose'] });
    expect(exitCodeFor([result])).toBe(1);
  });

  it('adds up every stage: all the fixtures together, and a failed step such as lint', () => {
    const fixtures = runFixtures();
    const lint = stepResult('lint', false, 'exited 1');
    expect(closingLine([fixtures, lint])).toBe(
      '4 passed, 3 failed (2 suites failed to run), 5 skipped: red — fixtures (3 tests failed; 2 suites failed to run; 1 unhandled error: rejection left behind on purpose), lint (exited 1)',
    );
  });

  it('turns a stage that dies before writing its report red, never reusing the report of an earlier run', () => {
    const outcomeFile = join(scratch, 'stale.json');
    writeFileSync(outcomeFile, JSON.stringify({ passed: 812, failed: 0, skipped: 0, suitesFailed: [], unhandledErrors: [], reason: 'passed' }));
    const result = runVitestStage({ name: 'e2e tests', args: ['--config', join(scratch, 'no-such-config.mts')], outcomeFile, cwd: repoRoot, stdio: 'pipe' });
    expect(result).toMatchObject({ ok: false, passed: 0, problems: ['exited 1 without a report'] });
    expect(closingLine([result])).toBe('0 passed, 0 failed, 0 skipped: red — e2e tests (exited 1 without a report)');
  });

  it('keeps every project of the root config from running a .only', () => {
    const projects = rootConfig.test!.projects as { test: { name: string; allowOnly?: boolean } }[];
    expect(projects.map((project) => [project.test.name, project.test.allowOnly])).toEqual([
      ['unit', false],
      ['int', false],
      ['e2e', false],
      ['scan', false],
    ]);
  });

  it('refuses a .only, .skip or .todo in a spec file at lint', async () => {
    const [report] = await new ESLint({ cwd: repoRoot }).lintText(
      `import { describe, it } from 'vitest';\ndescribe.${modifier.focus}('a', () => {\n  it.${modifier.skip}('b', () => undefined);\n  it.${modifier.todo}('c');\n  it('d', () => undefined);\n});\n`,
      { filePath: join(repoRoot, 'libs/probe.unit.spec.ts') },
    );
    expect(report!.messages.filter((message) => message.ruleId === 'no-restricted-syntax').map((message) => message.line)).toEqual([2, 3, 4]);
  });
});

describe('the test broker, a child process the run owns', () => {
  it('turns the run red when it died before the run stopped it, and stopping it then resolves at once', async () => {
    const broker = spawn(process.execPath, ['-e', 'process.exit(3)']);
    await once(broker, 'exit');
    const watch = watchChild(broker, 'the test Kafka broker');
    expect(watch.diedEarly()).toBe('the test Kafka broker exited 3 before the run stopped it');
    // Before the fix the runner awaited an 'exit' that had already happened: Node emptied its loop and exited 0.
    expect(await within(watch.stop(60_000), stopPromptlyMs)).toBeUndefined();
    const results = [stepResult('e2e tests', true), stepResult('test broker', false, watch.diedEarly())];
    expect(closingLine(results)).toBe('0 passed, 0 failed, 0 skipped: red — test broker (the test Kafka broker exited 3 before the run stopped it)');
    expect(exitCodeFor(results)).toBe(1);
  });

  it('notices a broker killed while it is watched', async () => {
    const broker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const watch = watchChild(broker, 'the test Kafka broker');
    expect(watch.diedEarly()).toBeUndefined();
    broker.kill('SIGKILL');
    await once(broker, 'exit');
    expect(watch.diedEarly()).toBe('the test Kafka broker killed by SIGKILL before the run stopped it');
  });

  it('notices a broker that died while a stage held the event loop, as every stage does (spawnSync)', async () => {
    const broker = spawn(process.execPath, ['-e', "require('node:net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port) })"]);
    const [portLine] = await once(broker.stdout!, 'data');
    const port = Number(String(portLine).trim());
    const watch = watchChild(broker, 'the test Kafka broker');
    expect(await deathOf(watch, 'the test Kafka broker', port)).toBeUndefined();
    spawnSync(process.execPath, ['-e', `process.kill(${broker.pid}, 'SIGKILL'); setTimeout(() => {}, 200)`]);
    // Its 'exit' event has not been delivered yet: the loop was blocked while it died.
    expect(watch.diedEarly()).toBeUndefined();
    expect(await deathOf(watch, 'the test Kafka broker', port)).toMatch(/^the test Kafka broker (killed by SIGKILL before the run stopped it|no longer answers on 127\.0\.0\.1:\d+)$/);
  });

  it('stops a live broker, which is no early death', async () => {
    const broker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    const watch = watchChild(broker, 'the test Kafka broker');
    expect(await within(watch.stop(60_000), stopPromptlyMs)).toBeUndefined();
    expect(broker.signalCode).toBe('SIGTERM');
    expect(watch.diedEarly()).toBeUndefined();
    expect(await within(stopChild(broker, 60_000), stopPromptlyMs)).toBeUndefined();
  });
});
