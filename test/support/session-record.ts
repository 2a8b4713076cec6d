/**
 * A session record for store tests that write records straight through a
 * store: a live session created at the fake clock's start, one hour of
 * idle timeout, no absolute lifetime, empty claims and data; `fields`
 * overrides any of it.
 *
 * @module
 */
import type { SessionRecord } from "../../lib/stores/store.js";
import { EPOCH, HOUR } from "./clock.js";

export function sessionRecord(userId: string, id: string, fields: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    userId,
    createdAt: EPOCH,
    lastUsedAt: EPOCH,
    idleTimeout: HOUR,
    absoluteLifetime: null,
    rememberMe: false,
    claims: "",
    data: "",
    ip: "",
    userAgent: "",
    ...fields,
  };
}
