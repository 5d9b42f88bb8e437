import type { FastifyRequest } from 'fastify'
import { HttpError } from '../errors.js'
import type { AuthRefusal, RequestAuth } from '../hooks/authenticate.js'
import type { ResolvedOptions } from '../options.js'
import { ApiKeys, apiKeyAuthenticate, API_KEY_CHALLENGE } from './api-keys.js'
import { OAuthResource, type Endpoints } from './oauth/oauth-resource.js'
import type { AuthFailure } from './principal.js'

/** How one plugin instance authenticates: the scheme for the hook, and the OAuth resource (for its metadata routes). */
export interface AuthSetup {
  auth: RequestAuth | undefined
  oauth: OAuthResource | undefined
}

/**
 * The scheme the options ask for, built once: the user's `authenticate`, OAuth (with API keys beside it),
 * API keys alone, or nothing.
 */
export function authSetup(options: ResolvedOptions, endpoints: Endpoints): AuthSetup {
  const keys = options.apiKeys.length > 0 ? new ApiKeys(options.apiKeys) : undefined
  const oauth = options.oauth ? new OAuthResource(options.oauth, endpoints, keys) : undefined
  const oauthRefusal = oauth ? (request: FastifyRequest, failure: AuthFailure): AuthRefusal => oauth.refusal(request, failure) : undefined
  if (options.authenticate) {
    // The user's scheme: with OAuth set too, its challenges; otherwise a 403, which starts no OAuth login.
    const ownRefusal = (_request: FastifyRequest, failure: AuthFailure): AuthRefusal => ({
      error: failure.kind === 'insufficient_scope' ? HttpError.InsufficientScope : HttpError.AuthRefused,
      challenge: undefined,
    })
    const refusal = oauthRefusal ?? ownRefusal
    return { auth: { authenticate: options.authenticate, refusal }, oauth }
  }
  if (oauth && oauthRefusal) return { auth: { authenticate: (request) => oauth.authenticate(request), refusal: oauthRefusal }, oauth }
  if (keys) {
    const check = apiKeyAuthenticate(keys)
    const refusal = (): AuthRefusal => ({ error: HttpError.ApiKeyRequired, challenge: API_KEY_CHALLENGE })
    return { auth: { authenticate: (request: FastifyRequest) => check(request.headers), refusal }, oauth: undefined }
  }
  return { auth: undefined, oauth: undefined }
}
