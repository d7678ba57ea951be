// A vitest reporter that writes what `npm test` needs to tell the truth about one stage, to the file named by
// DIRIGEN_TEST_OUTCOME_FILE: tests by state, every suite (file or describe) that failed on its own, before or
// outside its tests (a file that throws at import, a failing beforeAll/afterAll), every unhandled error, and why
// the run ended. Vitest's JSON report cannot say which describe's hook failed when a test in the same file
// failed too; its reporter API can, so the closing line counts what went wrong, not what the JSON implies.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const outcomeFileVariable = 'DIRIGEN_TEST_OUTCOME_FILE';
const messageCharsMax = 300;

const firstLine = (error) => String(error?.message ?? error).split('\n')[0].slice(0, messageCharsMax);

export default class TestOutcomeReporter {
  onTestRunEnd(testModules, unhandledErrors, reason) {
    const file = process.env[outcomeFileVariable];
    if (!file) throw new Error(`${outcomeFileVariable} names no file for the test outcome`);
    const outcome = { passed: 0, failed: 0, skipped: 0, suitesFailed: [], unhandledErrors: unhandledErrors.map(firstLine), reason };
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests()) {
        const { state } = test.result();
        // 'pending' is a test that never ran (an interrupted run): not passed, so it counts with the skipped.
        if (state === 'passed') outcome.passed++;
        else if (state === 'failed') outcome.failed++;
        else outcome.skipped++;
      }
      for (const suite of [testModule, ...testModule.children.allSuites()]) {
        const [error] = suite.errors();
        if (!error) continue;
        const name = suite === testModule ? testModule.relativeModuleId : `${testModule.relativeModuleId} > ${suite.fullName}`;
        outcome.suitesFailed.push({ name, message: firstLine(error) });
      }
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(outcome, null, 2));
  }
}
