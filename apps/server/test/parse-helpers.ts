// Helpers of the pure parser tests: a command line that must parse, and one that must be refused.
import { expect } from 'vitest'
import { parseArgs, UsageError, type RunConfig } from '../src/parse-args.js'

/** The run config of a command line that must parse. */
export function run(argv: string[], env: NodeJS.ProcessEnv = {}): RunConfig {
  const result = parseArgs(argv, env)
  if (result.action !== 'run') throw new Error(`expected a run, got ${result.action}`)
  return result.config
}

/** The message of the UsageError a command line must raise. */
export function usage(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseArgs(argv, env)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    return (error as Error).message
  }
  throw new Error(`no UsageError for ${JSON.stringify(argv)}`)
}
