// Authentication and authorization: a bearer token in `authorization` names a principal (admin, or brokers of some
// clusters). The interceptor refuses unknown callers and non-admins on AdminService before any handler runs; each
// broker handler then checks the request's cluster with `requireCluster`. Refusals carry no ControllerError detail
// (the condition enum has no credential conditions).
import { createHash } from 'node:crypto';
import {
  Code,
  ConnectError,
  createContextKey,
  type HandlerContext,
  type Interceptor,
} from '@connectrpc/connect';
import { AdminService } from '@regent/proto/admin';
import type { Principal } from './config.js';

/** The principal of the current call, set by the auth interceptor. */
export const principalKey = createContextKey<Principal | undefined>(undefined);

const adminPrincipal: Principal = Object.freeze({ role: 'admin' });
const bearerPattern = /^Bearer ([^\s]+)$/i;

export interface Authenticator {
  /** The caller's principal from its `authorization` header; throws UNAUTHENTICATED. */
  principalOf(authorization: string | null): Principal;
}

/**
 * Tokens are looked up by their SHA-256 digest, so the lookup's timing depends on the digest, not on how many
 * leading characters of a guess match a real token.
 */
export function createAuthenticator(
  tokens: ReadonlyMap<string, Principal>,
  options: { disabled: boolean },
): Authenticator {
  const byDigest = new Map<string, Principal>();
  for (const [token, principal] of tokens) byDigest.set(digest(token), principal);
  return {
    principalOf: (authorization) => {
      if (options.disabled) return adminPrincipal;
      const match = authorization === null ? null : bearerPattern.exec(authorization.trim());
      if (match === null)
        throw new ConnectError('missing bearer token (authorization: Bearer <token>)', Code.Unauthenticated);
      const principal = byDigest.get(digest(match[1]!));
      if (principal === undefined) throw new ConnectError('unknown token', Code.Unauthenticated);
      return principal;
    },
  };
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Authenticates every call; AdminService needs the admin role. */
export function createAuthInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    const principal = authenticator.principalOf(req.header.get('authorization'));
    if (req.service.typeName === AdminService.typeName && principal.role !== 'admin') {
      throw new ConnectError('AdminService needs an admin token', Code.PermissionDenied);
    }
    req.contextValues.set(principalKey, principal);
    return next(req);
  };
}

/** True when the principal may act on the cluster. */
export function mayActOn(principal: Principal, clusterName: string): boolean {
  return principal.role === 'admin' || principal.clusters.has('*') || principal.clusters.has(clusterName);
}

/** Refuses with PERMISSION_DENIED unless the call's principal may act on `clusterName`. */
export function requireCluster(ctx: HandlerContext, clusterName: string): void {
  const principal = ctx.values.get(principalKey);
  // The interceptor runs before every handler; a missing principal is a wiring bug.
  if (principal === undefined)
    throw new Error('no principal on the call: the auth interceptor is not installed');
  requirePrincipalCluster(principal, clusterName);
}

/** Refuses with PERMISSION_DENIED unless `principal` may act on `clusterName`. */
export function requirePrincipalCluster(principal: Principal, clusterName: string): void {
  if (!mayActOn(principal, clusterName)) {
    throw new ConnectError(
      `this token may not act on cluster ${JSON.stringify(clusterName)}`,
      Code.PermissionDenied,
    );
  }
}
