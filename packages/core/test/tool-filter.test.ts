import { describe, expect, it } from 'vitest'
import { ToolFilter } from '../src/index.js'

const call = (name: unknown): { jsonrpc: '2.0'; id: number; method: string; params: Record<string, unknown> } => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } })

describe('ToolFilter', () => {
  it('matches globs whole: * any run, ? one character, every other character literally', () => {
    const filter = new ToolFilter({ allowed: ['read_*', 'list_?', 'a.b'] })
    expect(['read_file', 'read_', 'list_x', 'a.b'].filter((n) => filter.allows(n))).toEqual(['read_file', 'read_', 'list_x', 'a.b'])
    expect(['write_file', 'xread_file', 'list_xy', 'aXb', 'read'].some((n) => filter.allows(n))).toBe(false)
  })

  it('denied wins over allowed; with neither list nothing is hidden', () => {
    const filter = new ToolFilter({ allowed: ['*'], denied: ['*_secret', 'drop?'] })
    expect(filter.allows('get_secret')).toBe(false)
    expect(filter.allows('drops')).toBe(false)
    expect(filter.allows('get_public')).toBe(true)
    expect(new ToolFilter({}).allows('anything')).toBe(true)
  })

  it('refuses a tools/call of a hidden tool with -32602 "Unknown tool", and nothing else', () => {
    const filter = new ToolFilter({ denied: ['rm'] })
    expect(filter.refusal(call('rm'))).toEqual({ code: -32602, message: 'Unknown tool: rm' })
    expect(filter.refusal(call('ls'))).toBeUndefined()
    // Not a tool name the filter can judge: the server answers it as it would.
    expect(filter.refusal(call(42))).toBeUndefined()
    expect(filter.refusal({ jsonrpc: '2.0', id: 2, method: 'prompts/get', params: { name: 'rm' } })).toBeUndefined()
  })

  it('leaves hidden tools out of a tools/list result, keeping every other field; the same object when none is hidden', () => {
    const filter = new ToolFilter({ denied: ['b*'] })
    const result = { tools: [{ name: 'a' }, { name: 'bee' }, { name: 'c' }, { nameless: true }], nextCursor: 'x' }
    expect(filter.filterList(result)).toEqual({ tools: [{ name: 'a' }, { name: 'c' }, { nameless: true }], nextCursor: 'x' })
    const untouched = { tools: [{ name: 'a' }] }
    expect(filter.filterList(untouched)).toBe(untouched)
    expect(filter.filterList({ nope: 1 })).toEqual({ nope: 1 })
  })
})
