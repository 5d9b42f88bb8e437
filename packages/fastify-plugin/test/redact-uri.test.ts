import { describe, expect, it } from 'vitest'
import { redactUri } from '../src/redact-uri.js'

describe('redactUri: what a span or an audit line may show of a resource URI', () => {
  it.each([
    ['test://static', 'test://static'],
    ['file:///srv/data/a.txt', 'file:///srv/data/a.txt'],
    ['https://user:pw@example.com/x?token=abc&api_key=SEKRIT#frag', 'https://***@example.com/x?token=***&api_key=***'],
    ['postgres://admin:hunter2@db:5432/app', 'postgres://***@db:5432/app'],
    ['mailto:user:pw@x.example', 'mailto:***'],
    ['not a uri at all', '***'],
  ])('%s → %s', (uri, shown) => {
    expect(redactUri(uri)).toBe(shown)
    expect(redactUri(uri)).not.toMatch(/hunter2|SEKRIT|pw@|abc/)
  })
})
