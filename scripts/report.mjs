// Prints the plain closing line `N passed, N failed` from vitest's JSON report, so a run that
// executed no test is told apart from a green one.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
if (!existsSync(file)) {
  console.log(`no vitest report at ${file}: the tests did not run`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const passed = report.numPassedTests ?? 0;
// a test file that failed to load has no failed test in it; count it as one failure
const brokenFiles = (report.testResults ?? []).filter(
  (file) => file.status === 'failed' && (file.assertionResults ?? []).every((test) => test.status !== 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
if (brokenFiles > 0) console.log(`${brokenFiles} test file(s) failed outside any test`);
if (skipped > 0) console.log(`${skipped} skipped (gated: see test/README.md)`);
// the last line, exactly `N passed, N failed`
console.log(`${passed} passed, ${failed} failed`);
