/** What the child's environment is built from. */
export interface ChildEnvironmentOptions {
  /** The environment to start from (usually `process.env`). */
  base: NodeJS.ProcessEnv
  /** Entries the user asked for (`--env KEY=VALUE`); they win over `base`. */
  extra?: Record<string, string>
  /** Names that never reach the child (the proxy's own settings and secrets). */
  deny?: (name: string) => boolean
  /** Secret values: any variable whose value equals one of them is dropped. */
  secrets?: string[]
}

/** Names the proxy itself reads: `MCP_PROXY_*` settings never reach the child. */
export function isProxySetting(name: string): boolean {
  return name.startsWith('MCP_PROXY_')
}

// The child gets the parent's environment minus the proxy's own settings and secrets, plus the
// user's entries. Explicit entries are kept even when they look like proxy settings: the user asked.
/** Build the explicit environment a child is spawned with. */
export function buildChildEnvironment(options: ChildEnvironmentOptions): Record<string, string> {
  const deny = options.deny ?? isProxySetting
  const secrets = new Set((options.secrets ?? []).filter((s) => s.length > 0))
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(options.base)) {
    if (value === undefined || deny(name) || secrets.has(value)) continue
    env[name] = value
  }
  return Object.assign(env, options.extra)
}
