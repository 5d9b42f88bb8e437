import { basename, sep } from 'node:path'
import { UsageError } from '../parse-args.js'

/** What `${…}` variables stand for in one config file. */
export interface Variables {
  env: NodeJS.ProcessEnv
  /** `${workspaceFolder}`: the folder holding `.vscode/` for `<ws>/.vscode/mcp.json`, else the file's folder. */
  workspaceFolder: string
  /** `${userHome}`. */
  userHome: string
  /**
   * Claude Code's own forms, `${NAME}` and `${NAME:-default}` (default when unset or empty, as in the shell):
   * on for `mcpServers` files, so a `.mcp.json` means here what it means to Claude Code. VS Code leaves such
   * text alone; in its files they are refused instead, pointing at `${env:NAME}`, rather than passed on raw.
   */
  bareNames: boolean
}

const PATTERN = /\$\{([^{}]*)\}/g
const BARE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s
const SUPPORTED = '${env:NAME}, ${workspaceFolder}, ${workspaceFolderBasename}, ${userHome}, ${pathSeparator}, ${/}'

/**
 * Replace VS Code's variables in one value of a config file, as VS Code does for MCP servers, except that an
 * unset `${env:NAME}` is an error rather than an empty string (a server started without its key fails later
 * and less clearly). `where` ("FILE: server X, args[2]") starts every error message. A `${` with no closing
 * `}` is not a variable and stays as it is.
 */
export function expandVariables(value: string, vars: Variables, where: string): string {
  return value.replace(PATTERN, (whole, inner: string) => {
    switch (inner) {
      case 'workspaceFolder':
        return vars.workspaceFolder
      case 'workspaceFolderBasename':
        return basename(vars.workspaceFolder)
      case 'userHome':
        return vars.userHome
      case 'pathSeparator':
      case '/':
        return sep
    }
    if (inner.startsWith('env:')) return lookUp(vars.env, inner.slice(4), whole, where)
    if (inner.startsWith('input:')) {
      throw new UsageError(`${where} uses ${whole}: inputs are prompts a client answers, and a server cannot; put the value in the environment and use \${env:NAME}`)
    }
    const bare = BARE.exec(inner)
    if (bare && vars.bareNames) {
      const name = bare[1]!
      const fallback = bare[2]
      if (fallback !== undefined) return vars.env[name] || fallback
      return lookUp(vars.env, name, whole, where)
    }
    // Upper case looks like an environment variable; VS Code's own (${file}, ${cwd}…) are camelCase.
    const hint = bare && /^[A-Z_][A-Z0-9_]*$/.test(bare[1]!) ? ` (write \${env:${bare[1]}} for an environment variable)` : ''
    throw new UsageError(`${where}: ${whole} is not supported${hint}; the variables are ${SUPPORTED}`)
  })
}

function lookUp(env: NodeJS.ProcessEnv, name: string, whole: string, where: string): string {
  const value = env[name]
  if (value === undefined) throw new UsageError(`${where}: ${whole} is not set`)
  return value
}
