// The flag tables of the root README are generated from src/flags.ts (like --help): this test fails when
// they drift. To regenerate: UPDATE_FLAG_TABLE=1 npx vitest run --project server apps/server/test/readme-flags.test.ts
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { flagTableMarkdown } from '../src/help.js'

const README = fileURLToPath(new URL('../../../README.md', import.meta.url))
const START = '<!-- flags:start -->\n'
const END = '<!-- flags:end -->'

describe('the README flag table', () => {
  it('is the one generated from src/flags.ts', () => {
    const text = readFileSync(README, 'utf8')
    const from = text.indexOf(START)
    const to = text.indexOf(END)
    expect(from, 'the flags:start marker').toBeGreaterThan(-1)
    expect(to, 'the flags:end marker').toBeGreaterThan(from)
    const generated = flagTableMarkdown()
    if (process.env.UPDATE_FLAG_TABLE === '1') writeFileSync(README, text.slice(0, from + START.length) + generated + text.slice(to))
    else expect(text.slice(from + START.length, to)).toBe(generated)
  })
})
