/**
 * session-guard: server-side session control for Express on top of JWTs.
 *
 * @packageDocumentation
 */
import "./types.js";

export { sessionGuard, type SessionGuardFactory } from "./session-guard.js";
export { createSessionRouter, type AuthenticateResult, type RouteName, type SessionRouterOptions } from "./http/router.js";
export type { Guard, SessionEventListener } from "./http/guard.js";
export { SessionError, ERROR_STATUS, isSessionError, type SessionErrorCode } from "./errors.js";
export { MemoryStore, type MemoryStoreOptions } from "./stores/memory.js";
export { RedisStore, type RedisStoreOptions } from "./stores/redis.js";
export type { ReplicaShortfall, WaitForReplicasOptions } from "./stores/redis/replicas.js";
export type { RedisClient } from "./stores/redis/client.js";
export type {
  Store,
  SessionRecord,
  CreateInput,
  RotateInput,
  RotateResult,
  RefreshLogoutResult,
  InvalidationListener,
  InvalidationFeed,
} from "./stores/store.js";
export { SessionHandle } from "./sessions/handle.js";
export { SessionManager } from "./sessions/manager.js";
export type { SessionInfo } from "./sessions/info.js";
export type { CreateSessionOptions } from "./sessions/engine.js";
export type { ClientInfo } from "./sessions/refresh-flow.js";
export type { SessionInfoJson, TokenSet } from "./http/json.js";
export type { SessionGuardOptions, JwtOptions, DeadlineOptions, CookieOptions, CacheOptions, SessionEvents } from "./options.js";
export type { SessionCacheStats } from "./sessions/cache.js";
export type { Duration } from "./duration.js";
export { TRACED_OPERATIONS, REJECTED_CHANNEL, type StoreCallContext, type RejectedRequest, type RejectionSource } from "./diagnostics.js";
export type { JwtAlgorithm, KeyInput, VerifyKey } from "./tokens/keys.js";
export type { AccessClaims } from "./tokens/access.js";
