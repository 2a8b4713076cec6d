/**
 * Model-based fuzzing: random sequences of logins (standard and
 * remember-me), refreshes of current and old refresh tokens (inside and after
 * the reuse window), logouts by access and by refresh token, logout-all and
 * logout-others, revocation by id, eviction by `maxSessionsPerUser`, session
 * lists and fake-clock jumps past idle and absolute deadlines, driven through
 * the HTTP routes, against a small model of which sessions are alive, their
 * last use, deadlines and refresh generation, and which tokens each holds.
 *
 * Every answer is predicted by the model (status, error code, token
 * lifetimes, the session as sent, the successor refresh token, the list in
 * its order) and every event the guard emits is compared with the ones the
 * model expects. After every step the stores are compared with the model:
 * - through the API (`guard.sessions.list` of every user, `get` of every
 *   session): after every step on MemoryStore, and on RedisStore either after
 *   every step or, in runs that leave dead records for the scripts to meet
 *   (listing prunes them), at `inspect` steps and at the end;
 * - on RedisStore also in Redis itself after every step, without changing
 *   anything: every live session's record (its times, deadlines,
 *   remember-me flag, generation and rotation time), its place and score in
 *   the user's index, the record's TTL at its deadline, an index that never
 *   expires before its sessions, and no record of an ended session.
 *
 * Runs on MemoryStore and on RedisStore (a fresh key prefix per run).
 */
import type http from "node:http";
import { expect } from "chai";
import express from "express";
import fc from "fast-check";
import { Redis } from "ioredis";
import request from "supertest";
import { createSessionRouter, MemoryStore, RedisStore, sessionGuard, type Guard, type SessionEvents, type Store } from "../../lib/index.js";
import { PASSWORD, ready, SAFE_CLIENT, SECRET } from "../http/app.js";
import { DAY, HOUR, MINUTE, SECOND, fakeClock, type FakeClock } from "../support/clock.js";
import { sharedRedis } from "../support/redis-server.js";
import { genuineRefresh } from "./inputs.js";
import { COMMANDS_REPLAY_PATH, fuzz, fuzzTimeout, printOutcomes } from "./settings.js";

const REFRESH_SECRET = "model-refresh-secret-0123456789-abcdefghijklmnop";
const USERS = ["alice", "bob", "ü{x}:s:1"];
const ACCESS_TTL = 15 * MINUTE;
const TOLERANCE_S = 30;
const REUSE_WINDOW = 10 * SECOND;
const TOUCH_INTERVAL = MINUTE;
const STANDARD = { idleTimeout: HOUR, absoluteLifetime: 3 * HOUR };
/** How far Redis's real clock may have moved a PTTL from what the model computes (the run's real duration). */
const TTL_SLACK_MS = 10_000;
const EVENT_NAMES: Array<keyof SessionEvents> = ["login", "refresh", "logout", "revoke", "reuse_detected", "store_error"];

type Deadlines = { idleTimeout: number | null; absoluteLifetime: number | null };

interface RunConfig {
  maxSessions: number;
  remember: Deadlines;
  /** RedisStore: compare through the API after every step (which prunes dead records), or only at `inspect` steps. */
  listEveryStep: boolean;
}

const configArb: fc.Arbitrary<RunConfig> = fc.record({
  maxSessions: fc.constantFrom(2, 3),
  remember: fc.constantFrom<Deadlines>(
    { idleTimeout: 6 * HOUR, absoluteLifetime: DAY },
    { idleTimeout: null, absoluteLifetime: null },
    { idleTimeout: 6 * HOUR, absoluteLifetime: null },
    { idleTimeout: null, absoluteLifetime: 12 * HOUR },
  ),
  listEveryStep: fc.boolean(),
});

// ---------------------------------------------------------------------------
// The model

interface ModelSession {
  id: string;
  user: string;
  remember: boolean;
  createdAt: number;
  lastUsedAt: number;
  idle: number | null;
  absolute: number | null;
  generation: number;
  /** When the current token's predecessor was spent (null: never rotated). */
  rotatedAt: number | null;
  /** The refresh seed (from the first token), to predict successors. */
  seed: Buffer;
  /** Ended by the library: logout, revocation, eviction, reuse. */
  ended: boolean;
  /** When the record's TTL was last written (fake time): create, touch, rotation. */
  ttlWrittenAt: number;
}

interface ModelAccess {
  token: string;
  sid: string;
  user: string;
  iat: number;
  exp: number;
}

interface ModelRefresh {
  token: string;
  sid: string;
  user: string;
  generation: number;
}

interface Model {
  config: RunConfig;
  sessions: ModelSession[];
  access: ModelAccess[];
  refresh: ModelRefresh[];
}

type EventRecord = { event: string; payload: Record<string, unknown> };

interface Real {
  clock: FakeClock;
  guard: Guard;
  server: http.Server;
  events: EventRecord[];
  store: "memory" | "redis";
  redis?: { client: Redis; prefix: string };
  outcomes: Map<string, number>;
}

function deadlineOf(s: ModelSession): number | null {
  const idle = s.idle === null ? null : s.lastUsedAt + s.idle;
  const absolute = s.absolute === null ? null : s.createdAt + s.absolute;
  if (idle === null) return absolute;
  if (absolute === null) return idle;
  return Math.min(idle, absolute);
}

function alive(s: ModelSession, now: number): boolean {
  if (s.ended) return false;
  const deadline = deadlineOf(s);
  return deadline === null || now < deadline;
}

function sessionOf(m: Model, sid: string): ModelSession {
  const s = m.sessions.find((x) => x.id === sid);
  if (s === undefined) throw new Error(`the model knows no session ${sid}`);
  return s;
}

function liveOf(m: Model, user: string, now: number): ModelSession[] {
  return m.sessions.filter((s) => s.user === user && alive(s, now));
}

/** The order lists come in: newest first, then by id. */
function listOrder(sessions: ModelSession[]): ModelSession[] {
  return sessions.slice().sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
}

/** The access token's `iat` and `exp` the library signs at `now`, in seconds. */
function accessTimes(s: ModelSession, now: number): { iat: number; exp: number } {
  const iat = Math.floor(now / 1000);
  let exp = Math.floor((now + ACCESS_TTL) / 1000);
  if (s.absolute !== null) exp = Math.min(exp, Math.floor((s.createdAt + s.absolute) / 1000));
  if (exp <= iat) exp = iat + 1;
  return { iat, exp };
}

/** What jsonwebtoken decides for a well-signed token at `now` (the guard's clock tolerance included). */
function accessExpired(a: ModelAccess, now: number): boolean {
  return Math.floor(now / 1000) >= a.exp + TOLERANCE_S;
}

/** The guard's check: the session of a verified token, touched when due; or the error it answers. */
function modelCheck(m: Model, a: ModelAccess, now: number): ModelSession | "token_expired" | "session_inactive" {
  if (accessExpired(a, now)) return "token_expired";
  const s = sessionOf(m, a.sid);
  if (!alive(s, now)) return "session_inactive";
  touch(s, now);
  return s;
}

function touch(s: ModelSession, now: number): void {
  if (now - s.lastUsedAt >= TOUCH_INTERVAL) {
    s.lastUsedAt = now;
    if (deadlineOf(s) !== null) s.ttlWrittenAt = now;
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

// ---------------------------------------------------------------------------
// Checks of answers

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) as Record<string, unknown>;
}

function expectCode(res: request.Response, status: number, code: string, what: string): void {
  expect({ status: res.status, error: (res.body as { error?: unknown }).error }, `${what}: ${JSON.stringify(res.body)}`).to.deep.equal({
    status,
    error: code,
  });
}

function expectSessionJson(json: Record<string, unknown>, s: ModelSession, current: boolean, what: string): void {
  expect(json, what).to.deep.include({
    id: s.id,
    current,
    created_at: iso(s.createdAt),
    last_used_at: iso(s.lastUsedAt),
    expires_at: iso(deadlineOf(s)),
    remember_me: s.remember,
  });
}

/** A token set as login and refresh send it; records the new access token (and refresh token, when `refreshToken` says so). */
function takeTokens(m: Model, real: Real, res: request.Response, s: ModelSession, what: string): { access: ModelAccess; refresh: string } {
  const now = real.clock.now();
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(200);
  const body = res.body as {
    access_token: string;
    refresh_token: string;
    expires_in: number;
    token_type: string;
    session: Record<string, unknown>;
  };
  const { iat, exp } = accessTimes(s, now);
  expect(body.token_type).to.equal("Bearer");
  expect(body.expires_in, `${what}: expires_in`).to.equal(exp - iat);
  const payload = payloadOf(body.access_token);
  expect({ sub: payload.sub, sid: payload.sid, iat: payload.iat, exp: payload.exp }, `${what}: access token claims`).to.deep.equal({
    sub: s.user,
    sid: s.id,
    iat,
    exp,
  });
  expectSessionJson(body.session, s, true, `${what}: session`);
  const access = { token: body.access_token, sid: s.id, user: s.user, iat, exp };
  m.access.push(access);
  return { access, refresh: body.refresh_token };
}

/** The refresh token of a generation, as the library makes it. */
function refreshTokenOf(s: ModelSession, generation: number): string {
  return genuineRefresh(REFRESH_SECRET, Buffer.from(s.user, "utf8").toString("base64url"), s.id, String(generation), s.seed);
}

// ---------------------------------------------------------------------------
// Commands

type Cmd = fc.AsyncCommand<Model, Real>;

/** Asserts that exactly `expected` was emitted since `from` (in any order within the step). */
function expectEvents(real: Real, from: number, expected: EventRecord[], what: string): void {
  const got = real.events.slice(from).map((e) => JSON.stringify(e));
  expect(got.sort(), `${what}: events`).to.deep.equal(expected.map((e) => JSON.stringify(e)).sort());
}

const ev = (event: string, s: ModelSession, extra: Record<string, unknown> = {}): EventRecord => ({
  event,
  payload: { sessionId: s.id, userId: s.user, ...extra },
});

function count(real: Real, outcome: string): void {
  real.outcomes.set(outcome, (real.outcomes.get(outcome) ?? 0) + 1);
}

/** The `k`-th most recent item (0: the latest). */
function recent<T>(items: T[], k: number): T | undefined {
  return items.length === 0 ? undefined : items[items.length - 1 - (k % items.length)];
}

class Login implements Cmd {
  constructor(
    readonly user: number,
    readonly remember: boolean,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const user = USERS[this.user];
    const now = real.clock.now();
    const from = real.events.length;
    const res = await request(real.server).post("/auth/login").send({ user, password: PASSWORD, remember_me: this.remember });
    expect(res.status, `${this}: ${JSON.stringify(res.body)}`).to.equal(200);
    const body = res.body as { session: { id: string }; refresh_token: string };
    const deadlines = this.remember ? m.config.remember : STANDARD;
    const s: ModelSession = {
      id: body.session.id,
      user,
      remember: this.remember,
      createdAt: now,
      lastUsedAt: now,
      idle: deadlines.idleTimeout,
      absolute: deadlines.absoluteLifetime,
      generation: 0,
      rotatedAt: null,
      seed: Buffer.from(body.refresh_token.split(".")[3], "base64url").subarray(0, 16),
      ended: false,
      ttlWrittenAt: now,
    };
    // Eviction: the least recently used live sessions beyond the cap. Among
    // equal last uses the store may pick any: the events say which it took.
    const live = liveOf(m, user, now).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    const excess = Math.max(0, live.length - (m.config.maxSessions - 1));
    const evicted = real.events
      .slice(from)
      .filter((e) => e.event === "revoke" && e.payload.reason === "evicted")
      .map((e) => e.payload.sessionId as string);
    expect(evicted, `${this}: evicted`).to.have.length(excess);
    if (excess > 0) {
      const boundary = live[excess - 1].lastUsedAt;
      const must = live.filter((x) => x.lastUsedAt < boundary).map((x) => x.id);
      const may = live.filter((x) => x.lastUsedAt === boundary).map((x) => x.id);
      expect(evicted, `${this}: the least recently used are evicted`).to.include.members(must);
      for (const id of evicted) expect([...must, ...may], `${this}: evicted ${id}`).to.include(id);
    }
    const expected = [ev("login", s, { rememberMe: this.remember })];
    for (const id of evicted) {
      const x = sessionOf(m, id);
      x.ended = true;
      expected.push(ev("revoke", x, { reason: "evicted" }));
    }
    m.sessions.push(s);
    expectEvents(real, from, expected, String(this));
    const { refresh } = takeTokens(m, real, res, s, String(this));
    expect(refresh, `${this}: the first refresh token`).to.equal(refreshTokenOf(s, 0));
    m.refresh.push({ token: refresh, sid: s.id, user, generation: 0 });
    count(real, `login${excess > 0 ? " evicting" : ""}`);
  }
  toString = () => `login(${USERS[this.user]}${this.remember ? ", remember_me" : ""})`;
}

class Refresh implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => m.refresh.length > 0;
  run = (m: Model, real: Real) => refreshWith(m, real, recent(m.refresh, this.k)!, String(this));
  toString = () => `refresh(#${this.k})`;
}

/** POST /auth/refresh with `r`, the answer and events the model predicts. */
async function refreshWith(m: Model, real: Real, r: ModelRefresh, label: string): Promise<void> {
  {
    const s = sessionOf(m, r.sid);
    const now = real.clock.now();
    const what = `${label} (generation ${r.generation} of ${s.id}, current ${s.generation})`;
    let outcome: "rotated" | "repeated" | "reused" | "invalid";
    if (!alive(s, now)) outcome = "invalid";
    else if (r.generation === s.generation) outcome = "rotated";
    else if (r.generation === s.generation - 1) outcome = now - s.rotatedAt! <= REUSE_WINDOW ? "repeated" : "reused";
    else outcome = "reused";
    const from = real.events.length;
    const res = await request(real.server).post("/auth/refresh").send({ refresh_token: r.token });
    count(real, `refresh ${outcome}`);
    switch (outcome) {
      case "invalid":
        expectCode(res, 401, "refresh_token_invalid", what);
        expectEvents(real, from, [], what);
        return;
      case "reused":
        expectCode(res, 401, "refresh_token_reused", what);
        s.ended = true;
        expectEvents(real, from, [ev("reuse_detected", s)], what);
        return;
      case "rotated": {
        s.generation += 1;
        s.rotatedAt = now;
        s.lastUsedAt = now;
        if (deadlineOf(s) !== null) s.ttlWrittenAt = now;
        expectEvents(real, from, [ev("refresh", s)], what);
        const { refresh } = takeTokens(m, real, res, s, what);
        expect(refresh, `${what}: the successor`).to.equal(refreshTokenOf(s, s.generation));
        m.refresh.push({ token: refresh, sid: s.id, user: s.user, generation: s.generation });
        return;
      }
      case "repeated": {
        // The same successor again, and nothing changes.
        expectEvents(real, from, [], what);
        const { refresh } = takeTokens(m, real, res, s, what);
        expect(refresh, `${what}: the same successor`).to.equal(refreshTokenOf(s, s.generation));
        return;
      }
    }
  }
}

/**
 * Spends a refresh token, lets `gap` pass (around the reuse window), and
 * presents the same token again: to refresh, or to log out.
 */
class SpendTwice implements Cmd {
  constructor(
    readonly k: number,
    readonly gap: number,
    readonly then: "refresh" | "logout",
  ) {}
  check = (m: Readonly<Model>) => m.refresh.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const r = recent(m.refresh, this.k)!;
    await refreshWith(m, real, r, `${this}: first`);
    moveClock(m, real, real.clock.now() + this.gap);
    if (this.then === "refresh") await refreshWith(m, real, r, `${this}: again`);
    else await logoutWithRefresh(m, real, r, undefined, `${this}: logout`);
  }
  toString = () => `spendTwice(#${this.k}, ${this.gap} ms later, ${this.then})`;
}

class LogoutByAccess implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const a = recent(m.access, this.k)!;
    const s = sessionOf(m, a.sid);
    const now = real.clock.now();
    const from = real.events.length;
    const res = await request(real.server).post("/auth/logout").set("Authorization", `Bearer ${a.token}`);
    if (accessExpired(a, now)) {
      expectCode(res, 401, "token_expired", String(this));
      expectEvents(real, from, [], String(this));
      count(real, "logout expired");
    } else if (!alive(s, now)) {
      expectCode(res, 401, "session_inactive", String(this));
      expectEvents(real, from, [], String(this));
      count(real, "logout inactive");
    } else {
      expect(res.status, `${this}: ${JSON.stringify(res.body)}`).to.equal(204);
      s.ended = true;
      expectEvents(real, from, [ev("logout", s)], String(this));
      count(real, "logout ended");
    }
  }
  toString = () => `logout(access #${this.k})`;
}

class LogoutByRefresh implements Cmd {
  constructor(
    readonly k: number,
    /** Also send this access token (when not expired, it decides). */
    readonly accessK: number | null,
  ) {}
  check = (m: Readonly<Model>) => m.refresh.length > 0;
  run = (m: Model, real: Real) =>
    logoutWithRefresh(
      m,
      real,
      recent(m.refresh, this.k)!,
      this.accessK === null ? undefined : recent(m.access, this.accessK),
      String(this),
    );
  toString = () => `logout(refresh #${this.k}${this.accessK === null ? "" : `, access #${this.accessK}`})`;
}

/** POST /auth/logout with `r` in the body (and `a` as Bearer), the answer and events the model predicts. */
async function logoutWithRefresh(m: Model, real: Real, r: ModelRefresh, a: ModelAccess | undefined, label: string): Promise<void> {
  {
    const now = real.clock.now();
    const from = real.events.length;
    const req = request(real.server).post("/auth/logout");
    if (a !== undefined) req.set("Authorization", `Bearer ${a.token}`);
    const res = await req.send({ refresh_token: r.token });
    if (a !== undefined && !accessExpired(a, now)) {
      // A live access token decides which session ends.
      const s = sessionOf(m, a.sid);
      if (!alive(s, now)) {
        expectCode(res, 401, "session_inactive", label);
        expectEvents(real, from, [], label);
        count(real, "logout-refresh by access: inactive");
        return;
      }
      expect(res.status, `${label}: ${JSON.stringify(res.body)}`).to.equal(204);
      s.ended = true;
      expectEvents(real, from, [ev("logout", s)], label);
      count(real, "logout-refresh by access: ended");
      return;
    }
    const s = sessionOf(m, r.sid);
    const what = `${label} (generation ${r.generation} of ${s.id}, current ${s.generation})`;
    if (!alive(s, now)) {
      expectCode(res, 401, "refresh_token_invalid", what);
      expectEvents(real, from, [], what);
      count(real, "logout-refresh invalid");
      return;
    }
    const current = r.generation === s.generation;
    const justSpent = r.generation === s.generation - 1 && now - s.rotatedAt! <= REUSE_WINDOW;
    s.ended = true;
    if (current || justSpent) {
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(204);
      expectEvents(real, from, [ev("logout", s)], what);
      count(real, `logout-refresh ${current ? "current" : "just spent"}`);
    } else {
      expectCode(res, 401, "refresh_token_reused", what);
      expectEvents(real, from, [ev("reuse_detected", s)], what);
      count(real, "logout-refresh reused");
    }
  }
}

/**
 * A guarded route: sends the request, and answers the model's session
 * (touched when due), or `undefined` after asserting the refusal the model
 * predicts (expired, inactive).
 */
async function guarded(
  m: Model,
  real: Real,
  a: ModelAccess,
  send: () => Promise<request.Response>,
  what: string,
): Promise<{ res: request.Response; s?: ModelSession }> {
  const checkedSession = modelCheck(m, a, real.clock.now());
  const res = await send();
  if (typeof checkedSession === "string") {
    expectCode(res, 401, checkedSession, what);
    return { res };
  }
  return { res, s: checkedSession };
}

class LogoutAll implements Cmd {
  constructor(
    readonly k: number,
    readonly keepCurrent: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const a = recent(m.access, this.k)!;
    const from = real.events.length;
    const { res, s } = await guarded(
      m,
      real,
      a,
      () =>
        request(real.server).post("/auth/logout-all").set("Authorization", `Bearer ${a.token}`).send({ keep_current: this.keepCurrent }),
      String(this),
    );
    const expected: EventRecord[] = [];
    if (s !== undefined) {
      const ended = liveOf(m, s.user, real.clock.now()).filter((x) => !this.keepCurrent || x.id !== s.id);
      expect(res.status, `${this}: ${JSON.stringify(res.body)}`).to.equal(200);
      expect(res.body, String(this)).to.deep.equal({ revoked: ended.length });
      for (const x of ended) {
        x.ended = true;
        expected.push(ev("revoke", x, { reason: this.keepCurrent ? "logout-others" : "logout-all" }));
      }
    }
    expectEvents(real, from, expected, String(this));
    count(real, `logout-all ${s === undefined ? "refused" : this.keepCurrent ? "others" : "all"}`);
  }
  toString = () => `logoutAll(access #${this.k}${this.keepCurrent ? ", keep_current" : ""})`;
}

class RevokeById implements Cmd {
  constructor(
    readonly k: number,
    readonly target: number,
  ) {}
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const a = recent(m.access, this.k)!;
    const target = recent(m.sessions, this.target)!;
    const from = real.events.length;
    const { res, s } = await guarded(
      m,
      real,
      a,
      () => request(real.server).delete(`/auth/sessions/${target.id}`).set("Authorization", `Bearer ${a.token}`),
      String(this),
    );
    const expected: EventRecord[] = [];
    let label = "refused";
    if (s !== undefined) {
      if (target.user === s.user && alive(target, real.clock.now())) {
        expect(res.status, `${this}: ${JSON.stringify(res.body)}`).to.equal(204);
        target.ended = true;
        expected.push(ev("revoke", target, { reason: "revoked" }));
        label = target.id === s.id ? "itself" : "another";
      } else {
        expectCode(res, 404, "not_found", String(this));
        label = target.user === s.user ? "not live" : "another user's";
      }
    }
    expectEvents(real, from, expected, String(this));
    count(real, `revoke ${label}`);
  }
  toString = () => `revoke(access #${this.k}, session #${this.target})`;
}

class ListSessions implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const a = recent(m.access, this.k)!;
    const from = real.events.length;
    const { res, s } = await guarded(
      m,
      real,
      a,
      () => request(real.server).get("/auth/sessions").set("Authorization", `Bearer ${a.token}`),
      String(this),
    );
    expectEvents(real, from, [], String(this));
    count(real, `list ${s === undefined ? "refused" : "listed"}`);
    if (s === undefined) return;
    expect(res.status, `${this}: ${JSON.stringify(res.body)}`).to.equal(200);
    const list = (res.body as { sessions: Array<Record<string, unknown>> }).sessions;
    const want = listOrder(liveOf(m, s.user, real.clock.now()));
    expect(
      list.map((x) => x.id),
      `${this}: ids in order`,
    ).to.deep.equal(want.map((x) => x.id));
    want.forEach((x, i) => expectSessionJson(list[i], x, x.id === s.id, `${this}: session ${i}`));
  }
  toString = () => `list(access #${this.k})`;
}

class Me implements Cmd {
  constructor(readonly k: number) {}
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const from = real.events.length;
    await checkMe(m, real, recent(m.access, this.k)!, String(this));
    expectEvents(real, from, [], String(this));
  }
  toString = () => `me(access #${this.k})`;
}

async function checkMe(m: Model, real: Real, a: ModelAccess, what: string): Promise<void> {
  const { res, s } = await guarded(m, real, a, () => request(real.server).get("/me").set("Authorization", `Bearer ${a.token}`), what);
  count(real, `me ${s === undefined ? (res.body as { error: string }).error : "ok"}`);
  if (s === undefined) return;
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(200);
  expect(res.body, what).to.deep.equal({
    id: s.id,
    userId: s.user,
    lastUsedAt: iso(s.lastUsedAt),
    expiresAt: iso(deadlineOf(s)),
    rememberMe: s.remember,
  });
}

/** Every known access token (the latest dozen) on a guarded route, newest first: which of them work. */
class ProbeAll implements Cmd {
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const from = real.events.length;
    for (const a of m.access.slice(-12).reverse()) await checkMe(m, real, a, `${this}: a token of ${a.sid}`);
    expectEvents(real, from, [], String(this));
  }
  toString = () => "probeAll()";
}

/**
 * Closer to a live session's deadline than this, a RedisStore run moves the
 * clock on to the deadline itself. Redis counts TTLs down in real time while
 * the guard's clock stands still: a record or index written when its session
 * has 1 ms left (fake time) gets a 1 ms TTL and vanishes a real millisecond
 * later, before the fake deadline. With real clocks both agree (the key goes
 * when the session dies); with a fake one only keys written well before
 * their deadline behave. The instants just before a deadline are covered on
 * MemoryStore; on Redis the scripts' comparisons at and after it.
 */
const REDIS_DEADLINE_MARGIN = 10 * SECOND;

/** Sets the fake clock to `to` (forward only), then for Redis away from the last moments before a deadline. */
function moveClock(m: Model, real: Real, to: number): void {
  real.clock.set(Math.max(to, real.clock.now()));
  if (real.redis === undefined) return;
  for (;;) {
    const now = real.clock.now();
    const close = m.sessions
      .filter((s) => alive(s, now))
      .map(deadlineOf)
      .filter((d): d is number => d !== null && d - now < REDIS_DEADLINE_MARGIN);
    if (close.length === 0) return;
    real.clock.set(Math.min(...close));
  }
}

class Advance implements Cmd {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    moveClock(m, real, real.clock.now() + this.ms);
  }
  toString = () => `advance(${this.ms} ms)`;
}

type Boundary = "touch" | "deadline" | "absolute" | "window" | "accessExpiry";

/**
 * Moves the clock to just before, at or just after an instant that matters
 * to a recent session or token: its touch interval, its deadline or absolute
 * deadline, the end of its reuse window, or an access token's expiry (with
 * the clock tolerance). No move when that instant has passed or is none.
 */
class AdvanceTo implements Cmd {
  constructor(
    readonly k: number,
    readonly boundary: Boundary,
    readonly delta: -1 | 0 | 1,
  ) {}
  check = (m: Readonly<Model>) => m.access.length > 0;
  async run(m: Model, real: Real): Promise<void> {
    const a = recent(m.access, this.k)!;
    const s = sessionOf(m, a.sid);
    const at: Record<Boundary, number | null> = {
      touch: s.lastUsedAt + TOUCH_INTERVAL,
      deadline: deadlineOf(s),
      absolute: s.absolute === null ? null : s.createdAt + s.absolute,
      window: s.rotatedAt === null ? null : s.rotatedAt + REUSE_WINDOW,
      accessExpiry: (a.exp + TOLERANCE_S) * 1000,
    };
    const target = at[this.boundary];
    if (target !== null && target + this.delta > real.clock.now()) moveClock(m, real, target + this.delta);
  }
  toString = () => `advanceTo(${this.boundary} of access #${this.k} ${this.delta < 0 ? "- 1 ms" : this.delta > 0 ? "+ 1 ms" : ""})`;
}

/** Compares through the API (list and get), which prunes dead records. */
class Inspect implements Cmd {
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    await agreeThroughApi(m, real, String(this));
  }
  toString = () => "inspect()";
}

const k = fc.nat({ max: 7 });
/** Mostly the first user, so that the cap and global logouts have sessions to act on. */
const userIndex = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.nat({ max: USERS.length - 1 }), weight: 1 });
const login = fc.tuple(userIndex, fc.boolean()).map(([u, r]) => new Login(u, r) as Cmd);
const refresh = k.map((x) => new Refresh(x) as Cmd);
const shortAdvance = fc.integer({ min: 0, max: 20 * SECOND }).map((ms) => new Advance(ms) as Cmd);
const advanceTo = fc
  .tuple(k, fc.constantFrom<Boundary>("touch", "deadline", "absolute", "window", "accessExpiry"), fc.constantFrom<-1 | 0 | 1>(-1, 0, 1))
  .map(([x, boundary, delta]) => new AdvanceTo(x, boundary, delta) as Cmd);
/** fc.commands picks each arbitrary alike: repeated ones come up more often. */
const commands = [
  login,
  login,
  login,
  refresh,
  refresh,
  refresh,
  fc
    .tuple(
      k,
      fc.constantFrom(0, 1, REUSE_WINDOW - 1, REUSE_WINDOW, REUSE_WINDOW + 1, 3 * REUSE_WINDOW),
      fc.constantFrom<"refresh" | "logout">("refresh", "refresh", "logout"),
    )
    .map(([x, gap, then]) => new SpendTwice(x, gap, then) as Cmd),
  k.map((x) => new LogoutByAccess(x) as Cmd),
  fc.tuple(k, fc.option(k)).map(([x, y]) => new LogoutByRefresh(x, y) as Cmd),
  fc.tuple(k, fc.boolean()).map(([x, keep]) => new LogoutAll(x, keep) as Cmd),
  fc.tuple(k, fc.nat({ max: 11 })).map(([x, t]) => new RevokeById(x, t) as Cmd),
  k.map((x) => new ListSessions(x) as Cmd),
  k.map((x) => new Me(x) as Cmd),
  k.map((x) => new Me(x) as Cmd),
  fc.constant(new ProbeAll() as Cmd),
  fc.constant(new Inspect() as Cmd),
  fc
    .oneof(
      // The reuse window, the touch interval, the access token's life and tolerance.
      fc.constantFrom(1, 999, 1000, 5 * SECOND, 10 * SECOND - 1, 10 * SECOND, 10 * SECOND + 1, 59_999, MINUTE, 61 * SECOND),
      fc.constantFrom(14 * MINUTE, 15 * MINUTE, 15 * MINUTE + 29_999, 15 * MINUTE + 30_000, 15 * MINUTE + 31_000),
      // Idle and absolute deadlines (standard 1 h / 3 h, remember-me up to 24 h).
      fc.constantFrom(HOUR - 1, HOUR, HOUR + 1, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY + 1),
      fc.integer({ min: 0, max: 2 * HOUR }),
    )
    .map((ms) => new Advance(ms) as Cmd),
  shortAdvance,
  advanceTo,
  advanceTo,
];

// ---------------------------------------------------------------------------
// Agreement with the stores

async function agreeThroughApi(m: Model, real: Real, what: string): Promise<void> {
  const now = real.clock.now();
  for (const user of USERS) {
    const list = await real.guard.sessions.list(user);
    const want = listOrder(liveOf(m, user, now));
    expect(
      list.map((x) => x.id),
      `${what}: sessions.list(${user}) ids in order`,
    ).to.deep.equal(want.map((x) => x.id));
    list.forEach((info, i) => {
      const s = want[i];
      expect(
        {
          createdAt: info.createdAt.getTime(),
          lastUsedAt: info.lastUsedAt.getTime(),
          expiresAt: info.expiresAt?.getTime() ?? null,
          rememberMe: info.rememberMe,
          current: info.current,
          userId: info.userId,
        },
        `${what}: sessions.list(${user})[${i}]`,
      ).to.deep.equal({
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt,
        expiresAt: deadlineOf(s),
        rememberMe: s.remember,
        current: false,
        userId: user,
      });
    });
  }
  for (const s of m.sessions) {
    const info = await real.guard.sessions.get(s.id, s.user);
    expect(info === null ? null : info.lastUsedAt.getTime(), `${what}: sessions.get(${s.id})`).to.equal(
      alive(s, now) ? s.lastUsedAt : null,
    );
  }
  if (real.redis !== undefined) {
    // Listing reset each index's expiry to its furthest deadline.
    for (const user of USERS) {
      const live = liveOf(m, user, now);
      if (live.length === 0) continue;
      const pttl = await real.redis.client.pttl(indexKeyOf(real.redis.prefix, user));
      const deadlines = live.map(deadlineOf);
      if (deadlines.includes(null)) expect(pttl, `${what}: the index of ${user} (a forever session) has no expiry`).to.equal(-1);
      else {
        const furthest = Math.max(...(deadlines as number[]));
        expect(pttl, `${what}: the index of ${user} expires at the furthest deadline`).to.be.within(
          furthest - now - TTL_SLACK_MS,
          furthest - now,
        );
      }
    }
  }
}

const userBase = (prefix: string, user: string) => `${prefix}{${Buffer.from(user, "utf8").toString("base64url")}}:`;
const indexKeyOf = (prefix: string, user: string) => `${userBase(prefix, user)}i`;
const recordKeyOf = (prefix: string, s: ModelSession) => `${userBase(prefix, s.user)}s:${s.id}`;

const base36 = (field: string) => (field === "" ? null : parseInt(field, 36));

/** Compares Redis itself with the model, changing nothing (no script runs). */
async function agreeInRedis(m: Model, real: Real, what: string): Promise<void> {
  const { client, prefix } = real.redis!;
  const now = real.clock.now();
  const keys = new Set(await client.keys(`${prefix}*`));
  const known = new Set<string>();
  for (const user of USERS) {
    const index = indexKeyOf(prefix, user);
    known.add(index);
    const members = new Map<string, number>();
    const flat = await client.zrange(index, 0, -1, "WITHSCORES");
    for (let i = 0; i < flat.length; i += 2) members.set(flat[i], Number(flat[i + 1]));
    const live = liveOf(m, user, now);
    for (const s of live) {
      expect(members.get(s.id), `${what}: ${s.id} in the index of ${user}, scored by its last use`).to.equal(s.lastUsedAt);
    }
    if (live.length > 0) {
      const pttl = await client.pttl(index);
      const deadlines = live.map(deadlineOf);
      if (deadlines.includes(null)) expect(pttl, `${what}: the index of ${user} holds a forever session`).to.equal(-1);
      else if (pttl !== -1) {
        expect(now + pttl, `${what}: the index of ${user} outlives its sessions`).to.be.at.least(
          Math.max(...(deadlines as number[])) - TTL_SLACK_MS,
        );
      }
    }
  }
  for (const s of m.sessions) {
    const key = recordKeyOf(prefix, s);
    known.add(key);
    const value = await client.get(key);
    if (s.ended) {
      expect(value, `${what}: the record of ended session ${s.id}`).to.equal(null);
      continue;
    }
    if (!alive(s, now)) continue; // dead by time: deleted when a script meets it
    expect(value, `${what}: the record of live session ${s.id}`).to.be.a("string");
    const [version, lu, ca, it, al, rm, g, rt] = value!.split("|");
    expect(
      { version, lu: base36(lu), ca: base36(ca), it: base36(it), al: base36(al), rm, g: Number(g), rt: base36(rt) },
      `${what}: the record of ${s.id}`,
    ).to.deep.equal({
      version: "2",
      lu: s.lastUsedAt,
      ca: s.createdAt,
      it: s.idle,
      al: s.absolute,
      rm: s.remember ? "1" : "0",
      g: s.generation,
      rt: s.rotatedAt,
    });
    const pttl = await client.pttl(key);
    const deadline = deadlineOf(s);
    if (deadline === null) expect(pttl, `${what}: the record of forever session ${s.id} has no expiry`).to.equal(-1);
    else {
      const ttl = deadline - s.ttlWrittenAt;
      expect(pttl, `${what}: the record of ${s.id} expires at its deadline`).to.be.within(ttl - TTL_SLACK_MS, ttl);
    }
  }
  const stray = [...keys].filter((key) => !known.has(key));
  expect(stray, `${what}: keys the model knows nothing of`).to.deep.equal([]);
}

async function agree(m: Model, real: Real, what: string, full: boolean): Promise<void> {
  if (real.redis !== undefined) await agreeInRedis(m, real, what);
  if (full) await agreeThroughApi(m, real, what);
  expect(
    real.events.filter((e) => e.event === "store_error"),
    `${what}: store errors`,
  ).to.deep.equal([]);
}

/** Runs each command, then compares the stores with the model. */
function checked(cmd: Cmd): Cmd {
  return {
    check: (m) => cmd.check(m),
    run: async (m, real) => {
      await cmd.run(m, real);
      await agree(m, real, `after ${cmd}`, real.store === "memory" || m.config.listEveryStep);
    },
    toString: () => cmd.toString(),
  };
}

// ---------------------------------------------------------------------------
// The runs

function buildGuard(store: Store, clock: FakeClock, config: RunConfig): { guard: Guard; app: express.Express; events: EventRecord[] } {
  const guard = sessionGuard({
    store,
    now: clock.now,
    secret: SECRET,
    refreshSecret: REFRESH_SECRET,
    accessTokenTtl: ACCESS_TTL,
    ...STANDARD,
    rememberMe: config.remember,
    refreshReuseWindow: REUSE_WINDOW,
    maxSessionsPerUser: config.maxSessions,
  });
  const events: EventRecord[] = [];
  for (const event of EVENT_NAMES)
    guard.on(event, (payload) => events.push({ event, payload: { ...(payload as object) } as Record<string, unknown> }));
  const app = express();
  app.use(
    "/auth",
    createSessionRouter(guard, {
      authenticate: (req) => {
        const { user, password } = req.body as { user?: unknown; password?: unknown };
        return typeof user === "string" && password === PASSWORD ? { userId: user } : null;
      },
    }),
  );
  app.get("/me", guard, (req, res) => {
    res.json({
      id: req.session.id,
      userId: req.session.userId,
      lastUsedAt: req.session.lastUsedAt.toISOString(),
      expiresAt: req.session.expiresAt?.toISOString() ?? null,
      rememberMe: req.session.rememberMe,
    });
  });
  app.use(guard.errorHandler);
  return { guard, app, events };
}

for (const storeKind of ["memory", "redis"] as const) {
  describe(`fuzz: the session model on ${storeKind === "memory" ? "MemoryStore" : "RedisStore"}`, function () {
    this.timeout(fuzzTimeout(120_000));
    let client: Redis | undefined;
    let runs = 0;
    const outcomes = new Map<string, number>();

    before(async () => {
      if (storeKind === "redis") {
        client = new Redis((await sharedRedis()).url, SAFE_CLIENT);
        await ready(client);
      }
    });
    after(() => client?.disconnect());

    it("agrees with the model after every step: answers, events, lists, tokens and the store's content", async () => {
      const property = fc.asyncProperty(
        configArb,
        fc.commands(
          commands.map((c) => c.map(checked)),
          { maxCommands: 40, size: "max", replayPath: COMMANDS_REPLAY_PATH },
        ),
        async (config, cmds) => {
          const clock = fakeClock();
          const prefix = `fuzz-model-${process.pid}-${++runs}:`;
          const store = storeKind === "memory" ? new MemoryStore({ sweepInterval: 0 }) : new RedisStore({ client: client!, prefix });
          const { guard, app, events } = buildGuard(store, clock, config);
          const server = app.listen(0, "127.0.0.1");
          await new Promise<void>((resolve) => server.once("listening", () => resolve()));
          const real: Real = { clock, guard, server, events, store: storeKind, redis: client && { client, prefix }, outcomes };
          const model: Model = { config, sessions: [], access: [], refresh: [] };
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            // The last word through the API, also for runs that compared only in Redis.
            await agree(model, real, "at the end", true);
          } finally {
            await new Promise((resolve) => server.close(resolve));
            await guard.close();
            if (client !== undefined) {
              const keys = await client.keys(`${prefix}*`);
              if (keys.length > 0) await client.del(...keys);
            }
          }
        },
      );
      await fuzz(`model/${storeKind}`, "test/fuzz/model.test.ts", property, { seed: 20240602, numRuns: 200, chunkRuns: 50 });
      printOutcomes(`model/${storeKind}`, outcomes);
    });
  });
}
