// Sums every test report in a folder into one line, "N passed, M failed", so a run that tested nothing
// shows as "0 passed". Reads vitest's JSON reporter output and the conformance runner's summary.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.argv[2] ?? 'reports'
let passed = 0
let failed = 0
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
  } else if (typeof report.passed === 'number' && typeof report.failed === 'number') {
    passed += report.passed
    failed += report.failed
  }
}
console.log(`${passed} passed, ${failed} failed`)
