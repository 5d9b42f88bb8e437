// scripts/test-summary.mjs, the last step of CI: one total line over every report, and before it the name of
// each failed test (or of a report that failed without tests), so a log cut to its tail still says what broke.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const SCRIPT = join(import.meta.dirname, '../../scripts/test-summary.mjs')
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The script's output lines for a folder holding `reports` (file name → JSON). */
function summarize(reports: Record<string, unknown>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'test-summary-'))
  dirs.push(dir)
  for (const [name, report] of Object.entries(reports)) writeFileSync(join(dir, name), JSON.stringify(report))
  return execFileSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' }).trim().split('\n')
}

const vitestReport = (results: Array<{ name: string; status: string; message?: string; tests: Array<[string, string]> }>) => {
  const all = results.flatMap((r) => r.tests)
  const failed = all.filter(([, status]) => status === 'failed').length
  return {
    numPassedTests: all.length - failed,
    numFailedTests: failed,
    numPendingTests: 0,
    success: results.every((r) => r.status === 'passed'),
    testResults: results.map((r) => ({ name: r.name, status: r.status, message: r.message, assertionResults: r.tests.map(([fullName, status]) => ({ fullName, status })) })),
  }
}

describe('scripts/test-summary.mjs', () => {
  it('all green: only the total line', () => {
    expect(summarize({ 'vitest.json': vitestReport([{ name: '/x/a.test.ts', status: 'passed', tests: [['a works', 'passed']] }]), 'lint.json': { passed: 3, failed: 0 } })).toEqual(['4 passed, 0 failed'])
  })

  it('names each failed test, a file that did not load and a failed report before the total, which stays last', () => {
    const lines = summarize({
      'vitest.json': vitestReport([
        { name: '/x/a.test.ts', status: 'failed', tests: [['a works', 'passed'], ['a breaks', 'failed']] },
        { name: '/x/b.test.ts', status: 'failed', message: 'SyntaxError: boom', tests: [] },
      ]),
      'node22.json': { passed: 0, failed: 1, skipped: 0, error: 'Node 22 could not be obtained' },
      'conformance.json': { passed: 5, failed: 0, skipped: 1 },
    })
    expect(lines.at(-1)).toBe('6 passed, 2 failed, 1 skipped')
    expect(lines.slice(0, -1).sort()).toEqual([
      'failed: node22.json: 1 failed (Node 22 could not be obtained)',
      'failed: vitest.json: /x/a.test.ts > a breaks',
      'failed: vitest.json: /x/b.test.ts (did not load: SyntaxError: boom)',
    ])
  })

  it('no reports at all: 0 passed', () => {
    expect(summarize({})).toEqual(['0 passed, 0 failed'])
  })
})
