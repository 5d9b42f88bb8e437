import { envName, FLAGS } from './flags.js'

/** The `--help` text, generated from the flag table. */
export function helpText(): string {
  const rows = FLAGS.map((f) => {
    const names = [f.name, ...f.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(', ')
    const value = f.type === 'boolean' ? '' : f.choices ? ` <${f.choices.join('|')}>` : f.type === 'integer' ? ' <n>' : f.type === 'list' ? ' <a,b,…>' : ' <value>'
    const notes = [f.default === undefined ? '' : `default: ${f.default}`, f.name === 'help' || f.name === 'version' ? '' : `env: ${envName(f)}`]
      .filter(Boolean)
      .join('; ')
    return `  ${names}${value}\n      ${f.help}${notes ? ` (${notes})` : ''}`
  })
  return [
    'mcp-proxy: serve a stdio MCP server over Streamable HTTP (/mcp) and legacy HTTP+SSE (/sse).',
    '',
    'Usage:',
    '  mcp-proxy [options] -- <command> [args…]',
    '  mcp-proxy <command> [args…]',
    '  mcp-proxy [options] --command <command> --args a,b,c',
    '',
    'Options (every one can also be set as MCP_PROXY_<NAME>; flags win):',
    ...rows,
    '',
    'Example:',
    '  mcp-proxy --port 3000 -- npx -y @modelcontextprotocol/server-everything',
    '',
  ].join('\n')
}
