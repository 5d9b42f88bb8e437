import { resolveOptions, type ResolvedOptions } from '@proxy/fastify-plugin'
import { envNames, FLAGS, type Flag, type FlagGroup } from './flags.js'

// The plugin's defaults, as the plugin itself resolves them: help never repeats a number by hand.
const PLUGIN_DEFAULTS: ResolvedOptions = resolveOptions({ command: 'unused' })

// The options of the 2026-07-28 leg are resolved into one object (false when the leg is off).
const MODERN = PLUGIN_DEFAULTS.modern || undefined
const MODERN_DEFAULTS: Readonly<Record<string, unknown>> = {
  modern: MODERN !== undefined,
  upstreamProtocol: MODERN?.upstreamProtocol,
  modernCacheTtl: MODERN?.cache.ttlMs,
  modernCacheScope: MODERN?.cache.cacheScope,
  maxListenStreams: MODERN?.maxListenStreams,
  modernInteractive: MODERN?.interactive,
  modernMaxChildren: MODERN?.maxChildren,
  modernInputTtl: MODERN?.inputTtlMs,
  modernMaxParked: MODERN?.maxParked,
}

/** The default a flag shows in help: the CLI's own, or the plugin option's resolved default. */
export function defaultOf(flag: Flag): string | undefined {
  if (flag.default !== undefined) return flag.default
  if (!flag.option) return undefined
  // `args`, `cwd` and `shell` are resolved into `command`.
  const { command } = PLUGIN_DEFAULTS
  const value: unknown =
    flag.option in command
      ? command[flag.option as keyof typeof command]
      : flag.option in MODERN_DEFAULTS
        ? MODERN_DEFAULTS[flag.option]
        : PLUGIN_DEFAULTS[flag.option as keyof ResolvedOptions]
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string' && value !== '') return value
  return undefined
}

/** Word-wrap `text` to `width` columns, every line indented by `indent`. */
function wrap(text: string, indent: number, width = 100): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(' '.repeat(indent) + line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(' '.repeat(indent) + line)
  return lines
}

function usageOf(flag: Flag): string {
  const names = [flag.name, ...flag.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ')
  return flag.type === 'boolean' ? names : `${names} ${flag.value ?? 'VALUE'}`
}

/** Flags in help order, by group. */
function byGroup(): Map<FlagGroup, Flag[]> {
  const groups = new Map<FlagGroup, Flag[]>()
  for (const flag of FLAGS) groups.set(flag.group, [...(groups.get(flag.group) ?? []), flag])
  return groups
}

/**
 * The flag tables of the root README (between `<!-- flags:start -->` and `<!-- flags:end -->`), generated
 * from the same table as `--help`; `test/readme-flags.test.ts` keeps the README in sync with it.
 */
export function flagTableMarkdown(): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|')
  const sections: string[] = []
  for (const [group, flags] of byGroup()) {
    const rows = flags.map((flag) => {
      const names = [flag.name, ...flag.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`))
      const usage = names.map((n, i) => `\`${i === 0 && flag.type !== 'boolean' ? `${n} ${flag.value ?? 'VALUE'}` : n}\``).join(', ')
      const env = envNames(flag).map((n) => `\`${n}\``).join(', ')
      return `| ${cell(usage)} | ${cell(defaultOf(flag) ?? '—')} | ${env || '—'} | ${cell(flag.help)} |`
    })
    sections.push([`**${group}**`, '', '| Flag | Default | Environment | What it does |', '|---|---|---|---|', ...rows].join('\n'))
  }
  return sections.join('\n\n') + '\n'
}

/** The `--help` text, generated from the flag table. */
export function helpText(): string {
  const lines = [
    'mcp-proxy: serve a stdio MCP server over Streamable HTTP (/mcp) and legacy HTTP+SSE (/sse).',
    '',
    'Usage:',
    '  mcp-proxy [options] -- <command> [args…]',
    '  mcp-proxy <command> [args…]',
    '  mcp-proxy [options] --command <command> [--args a,b,c]',
    '',
    'Every flag can also be set in the environment as MCP_PROXY_<NAME> (upper snake case of the flag or',
    'of an alias: MCP_PROXY_API_KEY, MCP_PROXY_PORT…); a flag on the command line wins. Booleans take',
    '--flag, --flag=false or --no-flag; durations are in milliseconds.',
  ]
  for (const [group, flags] of byGroup()) {
    lines.push('', `${group}:`)
    for (const flag of flags) {
      const notes = [defaultOf(flag) === undefined ? '' : `default: ${defaultOf(flag)}`, envNames(flag)[0] ?? '']
        .filter((n) => n !== '')
        .join('; ')
      lines.push(`  ${usageOf(flag)}`, ...wrap(`${flag.help}${notes ? ` [${notes}]` : ''}`, 6))
    }
  }
  lines.push(
    '',
    'Examples:',
    '  mcp-proxy -- npx -y @modelcontextprotocol/server-everything',
    '  mcp-proxy --port 8080 --api-key "$KEY" --host 0.0.0.0 -- python -u server.py',
    '  MCP_PROXY_STATELESS=true mcp-proxy node server.js',
    '',
  )
  return lines.join('\n')
}
