// readConfig(file, env): the MCP server configs people already have (Claude Desktop, Claude Code, Cursor,
// VS Code) → checked, expanded stdio server entries. Every file is written to a fresh temporary folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, sep } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseEnvFile } from '../src/config-file/env-file.js'
import { parseJsonc, stripJsonc } from '../src/config-file/jsonc.js'
import { readConfig } from '../src/config-file/read-config.js'
import { UsageError } from '../src/parse-args.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-proxy-config-'))
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Write `text` (or an object as JSON) at `relative` under the temporary folder; return its path. */
function write(relative: string, content: string | object): string {
  const path = join(dir, relative)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return path
}

/** The message of the UsageError `fn` throws (fails the test if it throws anything else, or nothing). */
function usage(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as UsageError).message
  }
  throw new Error('expected a UsageError')
}

const HOME = '/home/tester'

/** readConfig of one file, with a fixed home. */
function read(path: string, env: NodeJS.ProcessEnv = {}) {
  return readConfig(path, env, { home: HOME })
}

/** The one server of a `mcpServers` file holding just `entry`. */
function one(entry: object, env: NodeJS.ProcessEnv = {}) {
  return read(write('claude.json', { mcpServers: { srv: entry } }), env).servers[0]!
}

describe('readConfig: formats', () => {
  it('reads Claude Desktop / Cursor / Claude Code mcpServers, filling in what is not given', () => {
    const path = write('claude_desktop_config.json', {
      mcpServers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'] },
        git: { type: 'stdio', command: 'uvx', args: ['mcp-server-git'], env: { GIT_DIR: '/repo' }, cwd: '/srv' },
      },
    })
    const config = read(path)
    expect(config).toMatchObject({ path, format: 'mcpServers', warnings: [] })
    expect(config.servers.map(({ fingerprint: _, ...rest }) => rest)).toEqual([
      { name: 'files', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/tmp'], env: {}, cwd: undefined, settings: {} },
      { name: 'git', command: 'uvx', args: ['mcp-server-git'], env: { GIT_DIR: '/repo' }, cwd: '/srv', settings: {} },
    ])
  })

  it('reads VS Code servers (inputs are ignored when unused) and returns an absolute path', () => {
    write('ws/.vscode/mcp.json', {
      inputs: [{ type: 'promptString', id: 'token', description: 'Token', password: true }],
      servers: { github: { type: 'stdio', command: 'docker', args: ['run', '-i', 'ghcr.io/github/github-mcp-server'] } },
    })
    const relative = join(dir, 'ws', '.vscode', 'x', '..', 'mcp.json')
    const config = read(relative)
    expect(config.format).toBe('vscode')
    expect(config.path).toBe(join(dir, 'ws', '.vscode', 'mcp.json'))
    expect(config.servers[0]).toMatchObject({ name: 'github', command: 'docker', args: ['run', '-i', 'ghcr.io/github/github-mcp-server'] })
  })

  it('reads the servers under "mcp" in a VS Code settings.json', () => {
    const path = write('settings.json', { 'editor.tabSize': 2, mcp: { servers: { time: { command: 'uvx', args: ['mcp-server-time'] } } } })
    expect(read(path)).toMatchObject({ format: 'vscode', servers: [{ name: 'time', command: 'uvx' }] })
  })

  it('refuses a file with both mcpServers and servers, or with neither', () => {
    const both = write('both.json', { mcpServers: { a: { command: 'x' } }, servers: { b: { command: 'y' } } })
    expect(usage(() => read(both))).toBe(`${both} has both mcpServers and servers: keep one`)
    const neither = write('neither.json', { other: {} })
    expect(usage(() => read(neither))).toMatch(/has no mcpServers \(Claude, Cursor\) or servers \(VS Code\) object$/)
    expect(usage(() => read(write('array.json', '[]')))).toMatch(/expected a JSON object at the top$/)
    expect(usage(() => read(write('list.json', { mcpServers: [] })))).toMatch(/mcpServers must be an object$/)
  })

  it('names the path and the reason code when the file cannot be read', () => {
    const missing = join(dir, 'nope.json')
    expect(usage(() => read(missing))).toBe(`cannot read ${missing}: ENOENT`)
    expect(usage(() => read(dir))).toBe(`cannot read ${dir}: EISDIR`)
  })
})

describe('readConfig: remote and disabled entries', () => {
  it('skips remote servers with one warning each and serves the rest', () => {
    const path = write('mcp.json', {
      mcpServers: {
        web: { type: 'http', url: 'https://example.com/mcp' },
        events: { type: 'sse', url: 'https://example.com/sse' },
        stream: { type: 'streamable-http', url: 'https://example.com/mcp' },
        bare: { url: 'https://example.com/mcp', headers: { Authorization: 'Bearer x' } },
        old: { command: 'node', disabled: true },
        local: { command: 'node', args: ['server.js'] },
      },
    })
    const config = read(path)
    expect(config.servers.map((s) => s.name)).toEqual(['local'])
    expect(config.warnings).toEqual([
      `server web in ${path} is a remote server (type http); only stdio servers are served — skipped`,
      `server events in ${path} is a remote server (type sse); only stdio servers are served — skipped`,
      `server stream in ${path} is a remote server (type streamable-http); only stdio servers are served — skipped`,
      `server bare in ${path} is a remote server (url); only stdio servers are served — skipped`,
      `server old in ${path} is disabled — skipped`,
    ])
  })

  it('skips VS Code remote types the same way, and does not check the names of skipped entries', () => {
    const path = write('.vscode/mcp.json', { servers: { 'remote.one': { type: 'http', url: 'https://x/mcp' }, ok: { command: 'node' } } })
    expect(read(path).warnings).toEqual([`server remote.one in ${path} is a remote server (type http); only stdio servers are served — skipped`])
  })

  it('refuses a file left with no stdio server', () => {
    const path = write('remote.json', { mcpServers: { web: { type: 'http', url: 'https://example.com/mcp' } } })
    expect(usage(() => read(path))).toBe(`no stdio server in ${path}`)
    expect(usage(() => read(write('empty.json', { servers: {} })))).toMatch(/^no stdio server in /)
  })
})

describe('readConfig: entries are checked', () => {
  it('refuses names that cannot be a path segment, and allows names differing only in case', () => {
    for (const name of ['my server', 'a/b', '-lead', 'dot.ted', 'x'.repeat(65)]) {
      const path = write('names.json', { mcpServers: { [name]: { command: 'node' } } })
      expect(usage(() => read(path))).toBe(`${path}: server name '${name}' cannot be a URL path segment: use letters, digits, - and _ (at most 64, starting with a letter or digit)`)
    }
    const path = write('case.json', { mcpServers: { Git: { command: 'a' }, git: { command: 'b' }, ['9_x-' + 'y'.repeat(60)]: { command: 'c' } } })
    expect(read(path).servers.map((s) => s.name)).toEqual(['Git', 'git', '9_x-' + 'y'.repeat(60)])
  })

  it('refuses an entry with no command and no url, or an empty command', () => {
    const path = write('bad.json', { mcpServers: { srv: { args: ['x'] } } })
    expect(usage(() => read(path))).toBe(`${path}: server srv has no command (and no url)`)
    expect(usage(() => one({ command: '' }))).toMatch(/server srv has no command/)
    expect(usage(() => one({ type: 'stdio', url: 'https://x' }))).toMatch(/server srv has no command/)
  })

  it('checks the type of every field, naming the key', () => {
    expect(usage(() => one({ command: 1 }))).toMatch(/: server srv, command must be a string, not a number$/)
    expect(usage(() => one({ command: 'x', args: 'a b' }))).toMatch(/: server srv, args must be an array of strings$/)
    expect(usage(() => one({ command: 'x', args: ['a', 2] }))).toMatch(/: server srv, args\[1\] must be a string, not a number$/)
    expect(usage(() => one({ command: 'x', env: ['A=1'] }))).toMatch(/: server srv, env must be an object of strings$/)
    expect(usage(() => one({ command: 'x', env: { A: null } }))).toMatch(/: server srv, env\.A must be a string, not null$/)
    expect(usage(() => one({ command: 'x', env: { A: { b: 1 } } }))).toMatch(/: server srv, env\.A must be a string, not an object$/)
    expect(usage(() => one({ command: 'x', cwd: ['/'] }))).toMatch(/: server srv, cwd must be a string, not an array$/)
    expect(usage(() => one({ command: 'x', type: 3 }))).toMatch(/: server srv, type must be a string, not a number$/)
    expect(usage(() => one({ command: 'x', 'x-mcp-proxy': true }))).toMatch(/: server srv, x-mcp-proxy must be an object$/)
    expect(usage(() => read(write('s.json', { mcpServers: { srv: 'node' } })))).toMatch(/: server srv must be an object$/)
  })

  it('takes numbers and booleans in env as their text', () => {
    expect(one({ command: 'x', env: { PORT: 8080, DEBUG: true, NAME: 'a' } }).env).toEqual({ PORT: '8080', DEBUG: 'true', NAME: 'a' })
  })

  it('resolves a relative cwd against the file\'s folder, or the workspace folder for .vscode/mcp.json', () => {
    expect(one({ command: 'x', cwd: 'sub/dir' }).cwd).toBe(join(dir, 'sub', 'dir'))
    expect(one({ command: 'x', cwd: '/abs' }).cwd).toBe('/abs')
    const path = write('ws/.vscode/mcp.json', { servers: { s: { command: 'x', cwd: 'tools' } } })
    expect(read(path).servers[0]!.cwd).toBe(join(dir, 'ws', 'tools'))
  })
})

describe('readConfig: JSON with comments', () => {
  it('reads comments and trailing commas, keeping // and /* inside strings', () => {
    const path = write(
      '.vscode/mcp.json',
      `\uFEFF// VS Code writes JSONC
{
  /* the servers */
  "servers": {
    "web": {
      "command": "node", // the runtime
      "args": ["https://example.com/a//b", "/* not a comment */", "say \\"hi\\" // still a string", "back\\\\",],
      "env": { "A": "1", /* trailing */ },
    },
  },
}
`,
    )
    expect(read(path).servers[0]).toMatchObject({
      command: 'node',
      args: ['https://example.com/a//b', '/* not a comment */', 'say "hi" // still a string', 'back\\'],
      env: { A: '1' },
    })
  })

  it('keeps every position, so offsets in the stripped text are offsets in the file', () => {
    const text = '{ // c\n  "a": [1, 2, /* x\n y */ ],\n}'
    const stripped = stripJsonc(text)
    expect(stripped).toHaveLength(text.length)
    expect(stripped.split('\n')).toHaveLength(4)
    expect(JSON.parse(stripped)).toEqual({ a: [1, 2] })
    expect(stripJsonc('[",]", 1,]')).toBe('[",]", 1 ]')
    expect(stripJsonc('{,}[1,,]{"a":,}')).toBe('{,}[1,,]{"a":,}')
  })

  it('reports a syntax error with the file, line and column', () => {
    expect(usage(() => parseJsonc('{\n  // ok\n  "a": 1\n  "b": 2\n}', 'f.json'))).toBe("f.json:4:3: not valid JSON: Expected ',' or '}' after property value")
    expect(usage(() => parseJsonc('{\n  "a": 1 /* open', 'f.json'))).toBe('f.json:2:10: not valid JSON: unterminated /* comment')
    expect(usage(() => parseJsonc('{"a": [1', 'f.json'))).toMatch(/^f\.json:1:9: not valid JSON: /)
    expect(usage(() => parseJsonc('', 'f.json'))).toBe('f.json:1:1: not valid JSON: unexpected end of the file')
    expect(usage(() => parseJsonc('{"a": x}', 'f.json'))).toMatch(/^f\.json(:1:7)?: not valid JSON: Unexpected token/)
    const path = write('broken.json', '{"mcpServers": {,}}')
    expect(usage(() => read(path))).toMatch(new RegExp(`^${escape(path)}:1:17: not valid JSON: `))
  })
})

describe('readConfig: variables', () => {
  it('expands ${env:NAME} in command, args, env values, envFile and cwd', () => {
    write('secrets/prod.env', 'FROM_FILE=yes\n')
    const server = one(
      { command: '${env:BIN}/node', args: ['--token=${env:TOKEN}'], env: { KEY: '${env:TOKEN}' }, envFile: '${env:STAGE}.env', cwd: '${env:STAGE}' },
      { BIN: '/opt/bin', TOKEN: 's3cret', STAGE: 'secrets/prod' },
    )
    expect(server).toMatchObject({
      command: '/opt/bin/node',
      args: ['--token=s3cret'],
      env: { FROM_FILE: 'yes', KEY: 's3cret' },
      cwd: join(dir, 'secrets', 'prod'),
    })
  })

  it('expands ${workspaceFolder} and ${workspaceFolderBasename}: the folder holding .vscode/, else the file\'s folder', () => {
    const vscode = write('proj/.vscode/mcp.json', { servers: { s: { command: 'x', args: ['${workspaceFolder}', '${workspaceFolderBasename}'] } } })
    expect(read(vscode).servers[0]!.args).toEqual([join(dir, 'proj'), 'proj'])
    const plain = write('proj/.mcp.json', { mcpServers: { s: { command: 'x', args: ['${workspaceFolder}/a', '${workspaceFolderBasename}'] } } })
    expect(read(plain).servers[0]!.args).toEqual([join(dir, 'proj') + '/a', 'proj'])
  })

  it('expands ${userHome} (the home option, else the user\'s), ${pathSeparator} and ${/}', () => {
    expect(one({ command: 'x', args: ['${userHome}', 'a${pathSeparator}b${/}c'] }).args).toEqual([HOME, `a${sep}b${sep}c`])
  })

  it('leaves a ${ that is not a variable as it is', () => {
    expect(one({ command: 'x', args: ['cost: $5', '${', 'a ${b', '$env:X', '{env:X}'] }).args).toEqual(['cost: $5', '${', 'a ${b', '$env:X', '{env:X}'])
  })

  it('refuses an unset ${env:NAME}, naming the file, the server and the key', () => {
    const path = write('mcp.json', { mcpServers: { github: { command: 'x', args: ['a', 'b', '--token=${env:GITHUB_TOKEN}'] } } })
    expect(usage(() => read(path))).toBe(`${path}: server github, args[2]: \${env:GITHUB_TOKEN} is not set`)
    expect(usage(() => one({ command: 'x', env: { K: '${env:NOPE}' } }))).toMatch(/: server srv, env\.K: \$\{env:NOPE\} is not set$/)
    expect(usage(() => one({ command: 'x', cwd: '${env:NOPE}' }))).toMatch(/: server srv, cwd: \$\{env:NOPE\} is not set$/)
    // Set but empty is set.
    expect(one({ command: 'x', args: ['[${env:EMPTY}]'] }, { EMPTY: '' }).args).toEqual(['[]'])
  })

  it('refuses ${input:ID}: nobody can answer the prompt', () => {
    const path = write('.vscode/mcp.json', { servers: { gh: { command: 'x', env: { TOKEN: '${input:token}' } } } })
    expect(usage(() => read(path))).toBe(
      `${path}: server gh, env.TOKEN uses \${input:token}: inputs are prompts a client answers, and a server cannot; put the value in the environment and use \${env:NAME}`,
    )
  })

  it('refuses every other VS Code variable as unsupported, naming it', () => {
    for (const variable of ['${config:python.path}', '${command:pickFile}', '${file}', '${workspaceFolder:api}', '${}']) {
      const path = write('.vscode/mcp.json', { servers: { s: { command: 'x', args: [variable] } } })
      expect(usage(() => read(path))).toMatch(new RegExp(`^${escape(path)}: server s, args\\[0\\]: ${escape(variable)} is not supported; the variables are `))
    }
  })

  it('in VS Code files, refuses ${NAME} and points at ${env:NAME}', () => {
    const path = write('.vscode/mcp.json', { servers: { s: { command: 'x', env: { T: '${TOKEN}' } } } })
    expect(usage(() => read(path))).toMatch(/env\.T: \$\{TOKEN\} is not supported \(write \$\{env:TOKEN\} for an environment variable\)/)
  })

  it('in mcpServers files, expands Claude Code\'s ${NAME} and ${NAME:-default} too', () => {
    const env = { TOKEN: 'abc', EMPTY: '' }
    expect(one({ command: 'x', args: ['${TOKEN}', '${MISSING:-dflt}', '${EMPTY:-dflt}', '${TOKEN:-dflt}', '${MISSING:-}'] }, env).args).toEqual(['abc', 'dflt', 'dflt', 'abc', ''])
    expect(usage(() => one({ command: 'x', args: ['${MISSING}'] }))).toMatch(/args\[0\]: \$\{MISSING\} is not set$/)
  })
})

describe('readConfig: envFile', () => {
  it('reads the envFile relative to the workspace folder; env wins over it', () => {
    write('ws/.env', 'A=from-file\nB=from-file\n')
    const path = write('ws/.vscode/mcp.json', { servers: { s: { command: 'x', envFile: '${workspaceFolder}/.env', env: { B: 'from-env' } } } })
    expect(read(path).servers[0]!.env).toEqual({ A: 'from-file', B: 'from-env' })
    const relative = write('ws/.vscode/mcp.json', { servers: { s: { command: 'x', envFile: '.env' } } })
    expect(read(relative).servers[0]!.env).toEqual({ A: 'from-file', B: 'from-file' })
  })

  it('does not expand variables inside the envFile', () => {
    write('.env', 'A=${env:HOME} $HOME\n')
    expect(one({ command: 'x', envFile: '.env' }, { HOME: '/h' }).env).toEqual({ A: '${env:HOME} $HOME' })
  })

  it('refuses a missing envFile, naming it', () => {
    const path = write('mcp.json', { mcpServers: { s: { command: 'x', envFile: 'missing.env' } } })
    expect(usage(() => read(path))).toBe(`${path}: server s, envFile: cannot read ${join(dir, 'missing.env')}: ENOENT`)
  })

  it('parses dotenv lines: export, comments, blanks, quotes and escapes', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'export EXPORTED=yes',
      '  SPACED = around  ',
      'EMPTY=',
      'HASH=abc#def',
      'COMMENTED=abc # a comment',
      "SINGLE='a \\n $X # kept'",
      'DOUBLE="line1\\nline2 \\"q\\" \\\\ \\x" # after',
      'EQUALS=a=b=c',
      'PLAIN=last wins',
      'CRLF=x\r',
    ].join('\n')
    expect(parseEnvFile(text, 'f.env')).toEqual({
      PLAIN: 'last wins',
      EXPORTED: 'yes',
      SPACED: 'around',
      EMPTY: '',
      HASH: 'abc#def',
      COMMENTED: 'abc',
      SINGLE: 'a \\n $X # kept',
      DOUBLE: 'line1\nline2 "q" \\ \\x',
      EQUALS: 'a=b=c',
      CRLF: 'x',
    })
  })

  it('refuses lines it cannot read, with the file and line', () => {
    // The line itself is never quoted: a forgotten "=" leaves a key and its secret value side by side.
    expect(usage(() => parseEnvFile('A=1\nAPI_KEY sk-live-SECRET\n', 'f.env'))).toBe('f.env:2: expected KEY=VALUE (the line has no "=")')
    expect(usage(() => parseEnvFile('1A=x', 'f.env'))).toBe('f.env:1: the part before "=" is not a variable name')
    expect(usage(() => parseEnvFile('A="open', 'f.env'))).toBe('f.env:1: the " quote is not closed on this line')
    expect(usage(() => parseEnvFile("A='x' y", 'f.env'))).toBe('f.env:1: unexpected text after the closing quote')
  })
})

describe('readConfig: settings and fingerprint', () => {
  it('merges the top-level x-mcp-proxy under each entry\'s own (shallow)', () => {
    const path = write('mcp.json', {
      'x-mcp-proxy': { maxSessions: 4, roots: 'deny', nested: { a: 1 } },
      mcpServers: {
        a: { command: 'x', 'x-mcp-proxy': { maxSessions: 1, nested: { b: 2 } } },
        b: { command: 'y' },
      },
    })
    const [a, b] = read(path).servers
    expect(a!.settings).toEqual({ maxSessions: 1, roots: 'deny', nested: { b: 2 } })
    expect(b!.settings).toEqual({ maxSessions: 4, roots: 'deny', nested: { a: 1 } })
    expect(usage(() => read(write('bad.json', { 'x-mcp-proxy': [], mcpServers: { a: { command: 'x' } } })))).toMatch(/bad\.json, x-mcp-proxy must be an object$/)
  })

  it('expands variables in the settings at any depth, so a secret stays in the environment, never taken literally', () => {
    const path = write('secrets.json', { mcpServers: { a: { command: 'x', 'x-mcp-proxy': { apiKey: '${env:A_KEY}', oauth: { clientSecret: '${env:SECRET}' }, allowedTools: ['${env:TOOL}_*'] } } } })
    const [a] = read(path, { A_KEY: 'k1', SECRET: 's1', TOOL: 'read' }).servers
    expect(a!.settings).toEqual({ apiKey: 'k1', oauth: { clientSecret: 's1' }, allowedTools: ['read_*'] })
    expect(usage(() => read(path, { SECRET: 's1', TOOL: 'read' }))).toMatch(/server a, x-mcp-proxy\.apiKey: \$\{env:A_KEY\} is not set/)
  })

  it('changes the fingerprint when anything changes, and not when only key order does', () => {
    const base = one({ command: 'node', args: ['a'], env: { A: '1', B: '2' }, 'x-mcp-proxy': { p: 1, q: 2 } })
    const reordered = one({ 'x-mcp-proxy': { q: 2, p: 1 }, env: { B: '2', A: '1' }, args: ['a'], command: 'node' })
    expect(base.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    expect(reordered.fingerprint).toBe(base.fingerprint)
    for (const changed of [
      { command: 'node', args: ['b'], env: { A: '1', B: '2' }, 'x-mcp-proxy': { p: 1, q: 2 } },
      { command: 'node', args: ['a', 'b'], env: { A: '1', B: '2' }, 'x-mcp-proxy': { p: 1, q: 2 } },
      { command: 'node', args: ['a'], env: { A: '1', B: '3' }, 'x-mcp-proxy': { p: 1, q: 2 } },
      { command: 'node', args: ['a'], env: { A: '1', B: '2' }, 'x-mcp-proxy': { p: 1, q: 3 } },
      { command: 'node', args: ['a'], env: { A: '1', B: '2' }, 'x-mcp-proxy': { p: 1, q: 2 }, cwd: '/x' },
    ]) {
      expect(one(changed).fingerprint).not.toBe(base.fingerprint)
    }
    // An environment variable the entry uses is part of it.
    const withVar = { command: 'node', args: ['${env:V}'] }
    expect(one(withVar, { V: '1' }).fingerprint).not.toBe(one(withVar, { V: '2' }).fingerprint)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
