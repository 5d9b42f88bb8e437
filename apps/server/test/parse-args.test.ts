// Unit tests of the pure parser: parseArgs(argv, env) → help | version | run(config, warnings).
import { describe, expect, it } from 'vitest'
import { envNames, FLAGS } from '../src/flags.js'
import { helpText } from '../src/help.js'
import { parseArgs } from '../src/parse-args.js'
import { run, usage } from './parse-helpers.js'

describe('parseArgs: the command', () => {
  it('takes the command after --, untouched: nothing after -- is read as a flag or split', () => {
    const c = run(['--port', '4000', '--', 'node', 'server.js', '--port', 'x y'])
    expect(c.plugin.command).toBe('node')
    expect(c.plugin.args).toEqual(['server.js', '--port', 'x y'])
    expect(c.port).toBe(4000)
  })

  it('takes a bare command: the first word that is not a flag starts it', () => {
    const c = run(['--host', '::1', 'npx', '-y', '@modelcontextprotocol/server-everything'])
    expect(c.plugin.command).toBe('npx')
    expect(c.plugin.args).toEqual(['-y', '@modelcontextprotocol/server-everything'])
    expect(c.host).toBe('::1')
  })

  it('takes --command (split on spaces, like the original port) and --args (comma list, appended, repeatable)', () => {
    const c = run(['--command', 'npx -y pkg', '--args', 'a,b', '--args', 'c'])
    expect(c.plugin.command).toBe('npx')
    expect(c.plugin.args).toEqual(['-y', 'pkg', 'a', 'b', 'c'])
  })

  it('reads MCP_PROXY_COMMAND and MCP_PROXY_ARGS; a command on the command line wins over them', () => {
    expect(run([], { MCP_PROXY_COMMAND: 'node', MCP_PROXY_ARGS: 'a.js,--x' }).plugin).toMatchObject({ command: 'node', args: ['a.js', '--x'] })
    expect(run(['--', 'python', 'b.py'], { MCP_PROXY_COMMAND: 'node', MCP_PROXY_ARGS: 'a.js' }).plugin).toMatchObject({ command: 'python', args: ['b.py'] })
  })

  it('skips the extra leading -- that `pnpm start -- …` passes through', () => {
    expect(run(['--', '--port', '1', '--', 'x'])).toMatchObject({ port: 1, plugin: { command: 'x' } })
    expect(run(['--', '--', 'node', 'a']).plugin).toMatchObject({ command: 'node', args: ['a'] })
    // A plain `-- command` is still the command.
    expect(run(['--', 'node', 'a']).plugin).toMatchObject({ command: 'node', args: ['a'] })
  })

  it('refuses no command, and a command or arguments given two ways', () => {
    expect(usage([])).toMatch(/command/)
    expect(usage(['--port', '1', '--'])).toMatch(/command/)
    expect(usage(['--command', 'a', '--', 'b'])).toMatch(/either with --command or after --/)
    expect(usage(['--args', 'x', '--', 'b'])).toMatch(/either with --args or after the command/)
  })

  it('answers --help and --version without a command, whatever else is given', () => {
    expect(parseArgs(['--help'], {})).toEqual({ action: 'help' })
    expect(parseArgs(['-h'], {})).toEqual({ action: 'help' })
    expect(parseArgs(['--version'], {})).toEqual({ action: 'version' })
    expect(parseArgs(['-v'], {})).toEqual({ action: 'version' })
    expect(parseArgs(['--port', '1', '--help'], { MCP_PROXY_PORT: 'not a number' })).toEqual({ action: 'help' })
  })
})

describe('parseArgs: values', () => {
  it('defaults to 127.0.0.1:3000 and info logs, and passes the plugin only what was given', () => {
    const c = run(['--', 'x'])
    expect(c).toMatchObject({ host: '127.0.0.1', port: 3000, logLevel: 'info', tls: undefined, exitOnStdinClose: false, keepAliveTimeout: 300_000 })
    expect(c.plugin).toEqual({ command: 'x', host: '127.0.0.1' })
    // …and the plugin's own defaults, resolved by the plugin.
    expect(c.resolved).toMatchObject({ streamEndpoint: '/mcp', sseEndpoint: '/sse', stateless: false })
  })

  it('reads --flag value, --flag=value and the camelCase names of the original', () => {
    const c = run(['--apiKey', 'k', '--max-body-size=1000', '--sseEndpoint', '/events', '--streamEndpoint=/rpc', '--', 'x'])
    expect(c.plugin).toMatchObject({ apiKey: ['k'], maxBodySize: 1000, sseEndpoint: '/events', streamEndpoint: '/rpc' })
    expect(run(['--maxBodySize', '2000', '--sessionIdleTimeout=0', '--', 'x']).plugin).toMatchObject({ maxBodySize: 2000, sessionIdleTimeout: 0 })
  })

  it('treats a flag and its alias as one flag', () => {
    expect(usage(['--max-body-size', '1', '--maxBodySize', '2', '--', 'x'])).toMatch(/given twice/)
  })

  it('adds each occurrence of a repeatable flag whole (a comma stays in the value), under either name', () => {
    expect(run(['--api-key', 'a,b', '--apiKey', 'c', '--', 'x']).plugin.apiKey).toEqual(['a,b', 'c'])
    const c = run(['--api-key', 'k', '--child-env-from-claim', 'MCP_USER=sub', '--child-env-from-claim', 'MCP_USER_EMAIL=email', '--', 'x'])
    expect(c.plugin.childEnvFromClaims).toEqual({ MCP_USER: 'sub', MCP_USER_EMAIL: 'email' })
    expect(usage(['--api-key', 'k', '--child-env-from-claim', 'sub', '--', 'x'])).toMatch(/--child-env-from-claim takes NAME=CLAIM entries, not 'sub'/)
    expect(usage(['--child-env-from-claim', 'U=sub', '--', 'x'])).toMatch(/--child-env-from-claim needs authentication/)
  })

  it('--config names the servers: no command beside it; --ready-requires-all and --metrics-port checked against it', () => {
    const c = run(['--config', 'servers.json', '--stateless'], {})
    expect(c.configFile).toBe('servers.json')
    expect(c.readyRequiresAll).toBe(false)
    expect(c.plugin.stateless).toBe(true)
    expect(run(['--config', 'servers.json', '--ready-requires-all']).readyRequiresAll).toBe(true)
    expect(run([], { MCP_PROXY_CONFIG: 'from-env.json' }).configFile).toBe('from-env.json')
    expect(usage(['--config', 'servers.json', '--', 'node', 'server.js'])).toMatch(/^--config names the servers: give either it or a command, not both/)
    expect(usage(['--config', 'servers.json', '--command', 'node'])).toMatch(/give either it or a command/)
    expect(usage(['--ready-requires-all', '--', 'x'])).toMatch(/^--ready-requires-all needs --config/)
    expect(usage(['--config', 'servers.json', '--metrics-port', '9464'])).toMatch(/^--metrics-port has no use with --config/)
  })

  it('builds the oauth option from the --oauth-* flags, which need --oauth-issuer', () => {
    const c = run(['--oauth-issuer', 'https://id.example.com', '--resource-url', 'https://mcp.example.com/mcp/', '--oauth-scopes', 'a,b', '--oauth-client-id', 'proxy', '--', 'x'], {
      MCP_PROXY_OAUTH_CLIENT_SECRET: 's3cret',
    })
    expect(c.plugin.oauth).toEqual({ issuer: 'https://id.example.com', resourceUrl: 'https://mcp.example.com/mcp/', scopes: ['a', 'b'], clientId: 'proxy', clientSecret: 's3cret' })
    expect(c.resolved.oauth).toMatchObject({ resourceUrl: 'https://mcp.example.com/mcp', scopes: ['a', 'b'], introspection: { url: undefined, clientId: 'proxy', clientSecret: 's3cret' } })
    expect(usage(['--oauth-scopes', 'a', '--', 'x'])).toMatch(/^--oauth-scopes needs --oauth-issuer/)
    expect(usage(['--oauth-issuer', 'http://id.example.com', '--', 'x'])).toMatch(/^--oauth-issuer must be https:/)
    expect(usage(['--oauth-issuer', 'https://id.example.com', '--oauth-algorithms', 'HS256', '--', 'x'])).toMatch(/^--oauth-algorithms: 'HS256' is not accepted/)
    expect(usage(['--host', '0.0.0.0', '--oauth-issuer', 'https://id.example.com', '--', 'x'])).toMatch(/^--resource-url is needed when any Host is allowed/)
  })

  it('reads booleans as --flag, --flag=false and --no-flag', () => {
    expect(run(['--stateless', '--', 'x']).plugin.stateless).toBe(true)
    expect(run(['--stateless=false', '--', 'x']).plugin.stateless).toBe(false)
    expect(run(['--no-inherit-env', '--', 'x']).plugin.inheritEnv).toBe(false)
    expect(run(['--json-response', '--', 'x']).plugin.jsonResponse).toBe(true)
    expect(run(['--enableJsonResponse', '--', 'x']).plugin.jsonResponse).toBe(true)
  })

  it('splits --env into KEY=VALUE entries (a value may hold =); repeatable', () => {
    expect(run(['--env', 'A=1,B=x=y', '--env', 'C=3', '--', 'x']).plugin.env).toEqual({ A: '1', B: 'x=y', C: '3' })
    expect(usage(['--env', 'NOEQUALS', '--', 'x'])).toMatch(/KEY=VALUE/)
  })

  it('maps --server and --endpoint onto the two transports', () => {
    expect(run(['--server', 'sse', '--', 'x']).plugin).toMatchObject({ streamEndpoint: false })
    expect(run(['--server', 'stream', '--', 'x']).plugin).toMatchObject({ sseEndpoint: false })
    expect(run(['--server', 'stream', '--endpoint', '/rpc', '--', 'x']).plugin).toMatchObject({ sseEndpoint: false, streamEndpoint: '/rpc' })
    expect(run(['--server', 'sse', '--endpoint', '/events', '--', 'x']).plugin).toMatchObject({ streamEndpoint: false, sseEndpoint: '/events' })
    expect(usage(['--server', 'both', '--', 'x'])).toMatch(/--server takes sse or stream, not 'both'/)
    expect(usage(['--endpoint', '/x', '--', 'x'])).toMatch(/--server/)
  })

  it('turns --no-event-store into eventStoreMaxEvents 0', () => {
    expect(run(['--no-event-store', '--', 'x']).plugin.eventStoreMaxEvents).toBe(0)
    expect(run(['--event-store-max-events', '5', '--', 'x']).plugin.eventStoreMaxEvents).toBe(5)
  })

  it('sets the log level from --verbose/--debug and --quiet, which exclude each other', () => {
    expect(run(['--verbose', '--', 'x']).logLevel).toBe('debug')
    expect(run(['--debug', '--', 'x']).logLevel).toBe('debug')
    expect(run(['--quiet', '--', 'x']).logLevel).toBe('error')
    expect(usage(['--verbose', '--quiet', '--', 'x'])).toMatch(/exclude each other/)
    expect(run(['--log-format', 'json', '--', 'x']).logFormat).toBe('json')
    expect(usage(['--log-format', 'xml', '--', 'x'])).toMatch(/pretty or json/)
  })

  it('takes the HTTPS files together only', () => {
    expect(run(['--ssl-cert', 'c.pem', '--ssl-key', 'k.pem', '--', 'x']).tls).toEqual({ cert: 'c.pem', key: 'k.pem' })
    expect(run(['--sslCert', 'c.pem', '--sslKey', 'k.pem', '--sslCa', 'ca.pem', '--', 'x']).tls).toEqual({ cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' })
    expect(usage(['--ssl-cert', 'c.pem', '--', 'x'])).toMatch(/--ssl-cert and --ssl-key go together/)
    expect(usage(['--ssl-key', 'k.pem', '--', 'x'])).toMatch(/--ssl-cert and --ssl-key go together/)
    expect(usage(['--ssl-ca', 'ca.pem', '--', 'x'])).toMatch(/--ssl-ca needs/)
  })

  it('reads --graceful-shutdown-timeout and --exit-on-stdin-close', () => {
    const c = run(['--gracefulShutdownTimeout', '7000', '--exitOnStdinClose', '--', 'x'])
    expect(c.shutdownTimeout).toBe(7000)
    expect(c.exitOnStdinClose).toBe(true)
    expect(run(['--', 'x']).shutdownTimeout).toBeGreaterThan(0)
  })
})

describe('parseArgs: mistakes are UsageErrors that say what is wrong', () => {
  it.each([
    [['--bogus', '--', 'x'], /unknown flag --bogus/],
    [['--bogus=1', '--', 'x'], /unknown flag --bogus/],
    [['--port', 'abc', '--', 'x'], /--port takes a whole number, not 'abc'/],
    [['--port', '-1', '--', 'x'], /--port/],
    [['--port', '1.5', '--', 'x'], /--port takes a whole number/],
    [['--port', '70000', '--', 'x'], /--port must be .*65535/],
    [['--port'], /--port needs a value/],
    [['--port', '--', 'x'], /--port needs a value/],
    [['--stateless=maybe', '--', 'x'], /--stateless takes true or false/],
    [['--host', 'a', '--host', 'b', '--', 'x'], /--host is given twice/],
    [['--max-body-size', '0', '--', 'x'], /--max-body-size/],
    [['--stream-endpoint', 'mcp', '--', 'x'], /--stream-endpoint/],
    [['--tunnel', '--', 'x'], /--tunnel is not supported/],
    [['--upstreamProtocol', 'sometimes', '--', 'x'], /--upstreamProtocol takes legacy or auto or modern/],
    [['--modern-cache-scope', 'shared', '--', 'x'], /--modern-cache-scope takes public or private/],
  ])('%j', (argv, message) => {
    expect(usage(argv)).toMatch(message)
  })
})

describe('parseArgs: the 2026-07-28 leg', () => {
  it('takes --no-modern / --modern, --upstream-protocol and its camelCase alias, the cache hints and the listen cap', () => {
    expect(run(['--no-modern', '--', 'x']).plugin.modern).toBe(false)
    expect(run(['--modern', '--', 'x']).plugin.modern).toBe(true)
    expect(run(['--', 'x']).plugin.modern).toBeUndefined()
    expect(run(['--upstreamProtocol', 'auto', '--', 'x']).plugin.upstreamProtocol).toBe('auto')
    expect(run(['--upstream-protocol', 'modern', '--', 'x']).plugin.upstreamProtocol).toBe('modern')
    const c = run(['--modern-cache-ttl', '60000', '--modern-cache-scope', 'public', '--max-listen-streams', '8', '--', 'x'])
    expect(c.plugin).toMatchObject({ modernCacheTtl: 60000, modernCacheScope: 'public', maxListenStreams: 8 })
    expect(run(['--', 'x'], { MCP_PROXY_UPSTREAM_PROTOCOL: 'modern' }).plugin.upstreamProtocol).toBe('modern')
  })
})

describe('parseArgs: the environment', () => {
  it('reads MCP_PROXY_<NAME> for the flags, and for camelCase aliases in upper snake case', () => {
    const c = run(['--', 'x'], {
      MCP_PROXY_PORT: '4001',
      MCP_PROXY_HOST: '0.0.0.0',
      MCP_PROXY_API_KEY: 'env-key',
      MCP_PROXY_STATELESS: 'yes',
      MCP_PROXY_ENV: 'A=1',
      MCP_PROXY_MAX_BODY_SIZE: '123',
      MCP_PROXY_CONNECTION_TIMEOUT: '9000',
      MCP_PROXY_DEBUG: '1',
    })
    expect(c).toMatchObject({ port: 4001, host: '0.0.0.0', logLevel: 'debug' })
    expect(c.plugin).toMatchObject({ apiKey: ['env-key'], stateless: true, env: { A: '1' }, maxBodySize: 123, initializeTimeout: 9000, host: '0.0.0.0' })
  })

  it('lets a flag win over the environment', () => {
    const c = run(['--port', '5000', '--api-key', 'flag-key', '--', 'x'], { MCP_PROXY_PORT: '4001', MCP_PROXY_API_KEY: 'env-key' })
    expect(c.port).toBe(5000)
    expect(c.plugin.apiKey).toEqual(['flag-key'])
  })

  it('names the variable in an error about its value', () => {
    expect(usage(['--', 'x'], { MCP_PROXY_PORT: 'eighty' })).toMatch(/MCP_PROXY_PORT takes a whole number, not 'eighty'/)
    expect(usage(['--', 'x'], { MCP_PROXY_STATELESS: 'perhaps' })).toMatch(/MCP_PROXY_STATELESS takes true or false/)
  })

  it('does not read --help or --version from the environment', () => {
    expect(envNames(FLAGS.find((f) => f.name === 'help')!)).toEqual([])
    expect(envNames(FLAGS.find((f) => f.name === 'version')!)).toEqual([])
    expect(parseArgs(['--', 'x'], { MCP_PROXY_HELP: '1', MCP_PROXY_VERSION: '1' }).action).toBe('run')
  })

  it('ignores variables outside MCP_PROXY_*', () => {
    expect(run(['--', 'x'], { PORT: '1', API_KEY: 'k', HOST: '0.0.0.0' })).toMatchObject({ port: 3000, host: '127.0.0.1' })
  })
})

describe('the flag table and --help', () => {
  it('gives every flag distinct names and distinct environment variables', () => {
    const names = FLAGS.flatMap((f) => [f.name, ...f.aliases])
    expect(new Set(names).size).toBe(names.length)
    const envs = FLAGS.flatMap((f) => envNames(f))
    expect(new Set(envs).size).toBe(envs.length)
  })

  it('lists every flag, its aliases and its environment variable in --help', () => {
    const help = helpText()
    for (const flag of FLAGS) {
      for (const name of [flag.name, ...flag.aliases]) expect(help).toContain(name.length === 1 ? `-${name}` : `--${name}`)
      if (envNames(flag).length > 0) expect(help).toContain(envNames(flag)[0])
    }
  })
})
