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
export type { Store, SessionRecord, CreateInput, RotateInput, RotateResult } from "./stores/store.js";
export {
  SessionHandle,
  SessionManager,
  type SessionInfo,
  type SessionInfoJson,
  type TokenSet,
  type CreateSessionOptions,
  type ClientInfo,
} from "./sessions.js";
export type { SessionGuardOptions, JwtOptions, DeadlineOptions, CookieOptions, SessionEvents } from "./options.js";
export type { Duration } from "./duration.js";
export type { JwtAlgorithm, KeyInput, VerifyKey } from "./tokens/keys.js";
