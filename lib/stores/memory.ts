/**
 * An in-process store with the same semantics as `RedisStore`, for tests and
 * single-process apps. Every operation is synchronous inside its promise, so
 * each is atomic. Dead sessions are removed when met and by a periodic sweep
 * (an unref'd timer, stopped by `close()`), so memory does not grow with them.
 *
 * @module
 */
import { deadlineOf } from "./store.js";
import type { CreateInput, RefreshLogoutResult, RotateInput, RotateResult, SessionRecord, Store } from "./store.js";

interface Entry {
  /**
   * A snapshot, replaced (never changed in place) on a touch or a rotation,
   * so it can be handed out as it is: no copy per request. Not frozen:
   * V8 keeps a frozen copy of a spread object in dictionary mode, twice the
   * memory.
   */
  record: SessionRecord;
  generation: number;
  currentHash: string;
  previousHash: string;
  rotatedAt: number;
}

/**
 * Options of {@link MemoryStore}.
 *
 * @example
 * ```ts
 * new MemoryStore({ sweepInterval: 0 }); // tests: no timer, dead sessions go when touched
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * How often dead sessions are swept, in milliseconds, against the real
   * clock (the time compared with deadlines is the one last passed to an
   * operation). Default 60000; `0` disables the sweep.
   */
  sweepInterval?: number;
}

/**
 * Keeps sessions in this process's memory. Not shared between processes:
 * use `RedisStore` as soon as more than one process serves the app.
 *
 * @example
 * ```ts
 * const guard = sessionGuard({ store: new MemoryStore(), secret });
 * ```
 */
export class MemoryStore implements Store {
  /** userId → (sessionId → entry). One map per user plays the per-user index. */
  private readonly users = new Map<string, Map<string, Entry>>();
  private readonly sweepTimer: NodeJS.Timeout | undefined;
  private lastNow = 0;

  constructor(options: MemoryStoreOptions = {}) {
    for (const key of Object.keys(options)) {
      if (key !== "sweepInterval") throw new TypeError(`MemoryStore: unknown option \`${key}\``);
    }
    const interval = options.sweepInterval ?? 60_000;
    if (typeof interval !== "number" || !Number.isFinite(interval) || interval < 0 || interval > 2 ** 31 - 1) {
      throw new TypeError("MemoryStore: `sweepInterval` must be a number of milliseconds from 0 to 2147483647");
    }
    if (interval > 0) {
      this.sweepTimer = setInterval(() => this.sweep(this.lastNow), interval);
      this.sweepTimer.unref();
    }
  }

  /** The number of sessions held, live or not yet swept (for tests and benchmarks). */
  get size(): number {
    let n = 0;
    for (const sessions of this.users.values()) n += sessions.size;
    return n;
  }

  async create(input: CreateInput): Promise<string[]> {
    const { record, now } = input;
    this.lastNow = now;
    let sessions = this.users.get(record.userId);
    if (!sessions) {
      sessions = new Map();
      this.users.set(record.userId, sessions);
    }
    this.prune(sessions, now);
    const evicted: string[] = [];
    if (input.maxSessions !== null && sessions.size >= input.maxSessions) {
      const byLastUse = [...sessions.values()].sort((a, b) => a.record.lastUsedAt - b.record.lastUsedAt);
      for (const entry of byLastUse.slice(0, sessions.size - input.maxSessions + 1)) {
        sessions.delete(entry.record.id);
        evicted.push(entry.record.id);
      }
    }
    sessions.set(record.id, { record: { ...record }, generation: 0, currentHash: input.refreshHash, previousHash: "", rotatedAt: now });
    return evicted;
  }

  async check(userId: string, sessionId: string, now: number, touchInterval: number): Promise<SessionRecord | null> {
    const entry = this.live(userId, sessionId, now);
    if (!entry) return null;
    if (now - entry.record.lastUsedAt >= touchInterval) entry.record = { ...entry.record, lastUsedAt: now };
    return entry.record;
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const entry = this.live(input.userId, input.sessionId, input.now);
    if (!entry) return { status: "invalid" };
    if (input.generation === entry.generation && input.presentedHash === entry.currentHash) {
      entry.previousHash = entry.currentHash;
      entry.currentHash = input.successorHash;
      entry.generation += 1;
      entry.rotatedAt = input.now;
      entry.record = { ...entry.record, lastUsedAt: input.now, ip: input.ip, userAgent: input.userAgent };
      return { status: "rotated", record: entry.record };
    }
    if (input.generation === entry.generation - 1 && input.presentedHash === entry.previousHash) {
      if (input.now - entry.rotatedAt <= input.reuseWindow) return { status: "repeated", record: entry.record };
      this.remove(input.userId, input.sessionId);
      return { status: "reused", record: entry.record };
    }
    if (input.generation < entry.generation - 1) {
      this.remove(input.userId, input.sessionId);
      return { status: "reused", record: entry.record };
    }
    return { status: "invalid" };
  }

  async revokeByRefresh(
    userId: string,
    sessionId: string,
    generation: number,
    presentedHash: string,
    now: number,
    reuseWindow: number,
  ): Promise<RefreshLogoutResult> {
    const entry = this.live(userId, sessionId, now);
    if (!entry) return "invalid";
    const isCurrent = generation === entry.generation && presentedHash === entry.currentHash;
    const isPrevious = generation === entry.generation - 1 && presentedHash === entry.previousHash;
    const isStale = generation < entry.generation - 1;
    if (!isCurrent && !isPrevious && !isStale) return "invalid";
    this.remove(userId, sessionId);
    return isCurrent || (isPrevious && now - entry.rotatedAt <= reuseWindow) ? "ended" : "reused";
  }

  async get(userId: string, sessionId: string, now: number): Promise<SessionRecord | null> {
    const entry = this.live(userId, sessionId, now);
    return entry ? entry.record : null;
  }

  async list(userId: string, now: number): Promise<SessionRecord[]> {
    this.lastNow = now;
    const sessions = this.users.get(userId);
    if (!sessions) return [];
    this.prune(sessions, now);
    if (sessions.size === 0) this.users.delete(userId);
    return [...sessions.values()].map((entry) => entry.record);
  }

  async revoke(userId: string, sessionId: string, now: number): Promise<boolean> {
    if (!this.live(userId, sessionId, now)) return false;
    this.remove(userId, sessionId);
    return true;
  }

  async revokeAll(userId: string, exceptId: string | undefined, now: number): Promise<string[]> {
    this.lastNow = now;
    const sessions = this.users.get(userId);
    if (!sessions) return [];
    const revoked: string[] = [];
    for (const [id, entry] of sessions) {
      if (id === exceptId) continue;
      sessions.delete(id);
      if (!isDead(entry, now)) revoked.push(id);
    }
    if (sessions.size === 0) this.users.delete(userId);
    return revoked;
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** The live entry, deleting it when dead. */
  private live(userId: string, sessionId: string, now: number): Entry | undefined {
    this.lastNow = now;
    const entry = this.users.get(userId)?.get(sessionId);
    if (!entry) return undefined;
    if (isDead(entry, now)) {
      this.remove(userId, sessionId);
      return undefined;
    }
    return entry;
  }

  private remove(userId: string, sessionId: string): void {
    const sessions = this.users.get(userId);
    if (!sessions) return;
    sessions.delete(sessionId);
    if (sessions.size === 0) this.users.delete(userId);
  }

  private prune(sessions: Map<string, Entry>, now: number): void {
    for (const [id, entry] of sessions) if (isDead(entry, now)) sessions.delete(id);
  }

  private sweep(now: number): void {
    for (const [userId, sessions] of this.users) {
      this.prune(sessions, now);
      if (sessions.size === 0) this.users.delete(userId);
    }
  }
}

function isDead(entry: Entry, now: number): boolean {
  const deadline = deadlineOf(entry.record);
  return deadline !== null && deadline <= now;
}
