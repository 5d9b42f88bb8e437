// Sums every test report in a folder into one line, "N passed, M failed[, K skipped]", so a run that
// tested nothing shows as "0 passed". Reads vitest's JSON reporter output and the conformance runner's
// totals (its expected failures, listed in conformance/expected-failures.yml, count as skipped). Each failed
// vitest test, and each other report with failures, is named on a line of its own before the total.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2] ?? 'reports'
let passed = 0
let failed = 0
let skipped = 0
const failures = []
let files = []
try {
  files = readdirSync(dir).filter((name) => name.endsWith('.json'))
} catch {
  // No reports at all: the totals stay 0.
}
for (const name of files) {
  const report = JSON.parse(readFileSync(join(dir, name), 'utf8'))
  if (typeof report.numPassedTests === 'number') {
    passed += report.numPassedTests
    failed += report.numFailedTests + (report.numRuntimeErrorTests ?? 0)
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
    // A suite that failed to load (syntax error, missing import) has no tests but must not read as green.
    if (report.success === false && report.numFailedTests === 0) failed += 1
    for (const file of report.testResults ?? []) {
      for (const test of file.assertionResults ?? []) {
        if (test.status === 'failed') failures.push(`${name}: ${file.name} > ${test.fullName ?? test.title}`)
      }
      if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failures.push(`${name}: ${file.name} (did not load: ${file.message ?? 'no message'})`)
    }
  } else if (typeof report.passed === 'number' && typeof report.failed === 'number') {
    passed += report.passed
    failed += report.failed
    skipped += report.skipped ?? 0
    if (report.failed > 0) failures.push(`${name}: ${report.failed} failed${report.error ? ` (${report.error})` : ''}`)
  }
}
// The names of what failed come first, so a CI log cut to its tail still says which test to look at.
for (const line of failures) console.log(`failed: ${line}`)
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
