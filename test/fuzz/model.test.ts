// Stateful fuzzing: random sequences of logins (with and without remember
// me), refreshes (of the current token, and of spent ones inside and after
// the reuse window), logouts (by access token and by refresh token), global
// logout, logout of the others, revoke by id, eviction by
// maxSessionsPerUser and clock jumps past idle and absolute deadlines, run
// through the HTTP routes against a small model of which sessions must be
// alive. Every step's answer is predicted exactly (status and error code,
// token expiry, the events it fires), and after every step the store's
// session list (ids, order, last use) agrees with the model. On MemoryStore
// and RedisStore.
import fc from "fast-check";
import request from "supertest";
import { expect } from "chai";
import type { Store } from "../../lib/index.js";
import { MemoryStore } from "../../lib/index.js";
import { buildApp, PASSWORD, redisFixture, SECRET, type RedisFixture, type TestApp } from "../http/app.js";
import { DAY, HOUR, MINUTE, SECOND } from "../support/clock.js";
import { COMMANDS_REPLAY_PATH, fuzzParameters, fuzzTimeout, LONG_RUN } from "./settings.js";

const IDLE = HOUR;
const ABSOLUTE = 4 * HOUR;
const REMEMBERED_IDLE = DAY;
const REMEMBERED_ABSOLUTE = 2 * DAY;
const ACCESS_TTL = 15 * MINUTE;
const REUSE_WINDOW = 30 * SECOND;
const MAX_SESSIONS = 3;
const USERS = ["ada", "bob"] as const;
// Multiples of 10 s: a RedisStore key expires in real time (its TTL is the
// deadline less the fake now), so no step may leave a session a few real
// milliseconds from its deadline.
const ADVANCES = [10 * SECOND, 20 * SECOND, 40 * SECOND, 10 * MINUTE, 16 * MINUTE, 50 * MINUTE, 2 * HOUR, 5 * HOUR, 20 * HOUR, 30 * HOUR];

interface ModelSession {
  id: string;
  user: string;
  rememberMe: boolean;
  createdAt: number;
  lastUsedAt: number;
  /** Ended by a logout, a revoke, an eviction or reuse (deadlines are computed). */
  ended: boolean;
  /** Every refresh token issued, by generation. */
  refresh: string[];
  rotatedAt: number | null;
  access: string;
  /** `exp` of `access`, in seconds. */
  accessExp: number;
}

interface Model {
  now: number;
  sessions: ModelSession[];
}

interface Real {
  t: TestApp;
  /** The run's user names (unique per run, so runs can share one Redis). */
  users: Record<(typeof USERS)[number], string>;
}

type Event = { event: string; payload: Record<string, unknown> };

const idleOf = (s: ModelSession) => (s.rememberMe ? REMEMBERED_IDLE : IDLE);
const absoluteOf = (s: ModelSession) => (s.rememberMe ? REMEMBERED_ABSOLUTE : ABSOLUTE);
const deadline = (s: ModelSession) => Math.min(s.lastUsedAt + idleOf(s), s.createdAt + absoluteOf(s));
const alive = (m: Model, s: ModelSession) => !s.ended && m.now < deadline(s);
const accessExpired = (m: Model, s: ModelSession) => Math.floor(m.now / 1000) >= s.accessExp;

/** The `exp` the guard must write at `now`: the TTL, cut by the absolute deadline, never at or before `iat`. */
function expectedExp(now: number, s: ModelSession): number {
  const iat = Math.floor(now / 1000);
  const exp = Math.min(Math.floor((now + ACCESS_TTL) / 1000), Math.floor((s.createdAt + absoluteOf(s)) / 1000));
  return exp <= iat ? iat + 1 : exp;
}

function expOf(accessToken: string): number {
  return (JSON.parse(Buffer.from(accessToken.split(".")[1], "base64url").toString("utf8")) as { exp: number }).exp;
}

/** Takes a new access token into the model, checking its expiry. */
function takeAccess(m: Model, s: ModelSession, accessToken: string): void {
  s.access = accessToken;
  s.accessExp = expOf(accessToken);
  expect(s.accessExp, "exp of a new access token").to.equal(expectedExp(m.now, s));
}

const bearer = (s: ModelSession) => `Bearer ${s.access}`;
const sortEvents = (events: Event[]) => events.map((e) => JSON.stringify(e)).sort();

/** Expects an error answer with this status and code. */
function expectRefused(res: request.Response, status: number, code: string): void {
  expect({ status: res.status, error: res.body?.error }).to.deep.equal({ status, error: code });
}

/** The guard's answer for a session's access token before the route runs, or null when it passes. */
function guardRefusal(m: Model, s: ModelSession): [number, string] | null {
  if (accessExpired(m, s)) return [401, "token_expired"];
  if (!alive(m, s)) return [401, "session_inactive"];
  return null;
}

/**
 * Runs one step: advances the clock a millisecond (so no two uses share a
 * time), runs `body`, which returns the events it expects, then compares
 * those and every user's session list with the model.
 */
async function step(m: Model, r: Real, body: () => Promise<Event[]>): Promise<void> {
  r.t.clock.advance(1);
  m.now += 1;
  const before = r.t.events.length;
  const expected = await body();
  expect(sortEvents(r.t.events.slice(before)), "events of the step").to.deep.equal(sortEvents(expected));
  await expectListsAgree(m, r);
}

async function expectListsAgree(m: Model, r: Real): Promise<void> {
  for (const user of Object.values(r.users)) {
    const listed = (await r.t.guard.sessions.list(user)).map((info) => ({
      id: info.id,
      lastUsedAt: info.lastUsedAt.getTime(),
      rememberMe: info.rememberMe,
    }));
    const expected = m.sessions
      .filter((s) => s.user === user && alive(m, s))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      .map((s) => ({ id: s.id, lastUsedAt: s.lastUsedAt, rememberMe: s.rememberMe }));
    expect(listed, `sessions of ${user}`).to.deep.equal(expected);
  }
}

const pick = (m: Model, k: number) => m.sessions[k % m.sessions.length];
/** The refresh token `back` generations before the current one (the first when there are fewer). */
const refreshTokenOf = (s: ModelSession, back: number) => {
  const generation = Math.max(0, s.refresh.length - 1 - back);
  return { token: s.refresh[generation], generation, current: s.refresh.length - 1 };
};
/** Whether a spent token of `generation` is the one spent last, inside the reuse window. */
const withinWindow = (m: Model, s: ModelSession, generation: number, current: number) =>
  generation === current - 1 && s.rotatedAt !== null && m.now - s.rotatedAt <= REUSE_WINDOW;

type Command = fc.AsyncCommand<Model, Real>;
const hasSessions = (m: Readonly<Model>) => m.sessions.length > 0;

class Login implements Command {
  constructor(
    readonly user: (typeof USERS)[number],
    readonly rememberMe: boolean,
  ) {}
  check = () => true;
  run = (m: Model, r: Real) =>
    step(m, r, async () => {
      const user = r.users[this.user];
      const res = await request(r.t.app).post("/auth/login").send({ user, password: PASSWORD, remember_me: this.rememberMe });
      expect(res.status).to.equal(200);
      const live = m.sessions.filter((s) => s.user === user && alive(m, s)).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
      const evicted = live.slice(0, Math.max(0, live.length - MAX_SESSIONS + 1));
      for (const s of evicted) s.ended = true;
      const s: ModelSession = {
        id: res.body.session.id,
        user,
        rememberMe: this.rememberMe,
        createdAt: m.now,
        lastUsedAt: m.now,
        ended: false,
        refresh: [res.body.refresh_token],
        rotatedAt: null,
        access: "",
        accessExp: 0,
      };
      takeAccess(m, s, res.body.access_token);
      expect(res.body.expires_in).to.equal(s.accessExp - Math.floor(m.now / 1000));
      m.sessions.push(s);
      return [
        { event: "login", payload: { sessionId: s.id, userId: user, rememberMe: this.rememberMe } },
        ...evicted.map((e) => ({ event: "revoke", payload: { sessionId: e.id, userId: user, reason: "evicted" } })),
      ];
    });
  toString = () => `login(${this.user}${this.rememberMe ? ", remember me" : ""})`;
}

/** A step that sends a session's access token; `expect` predicts the answer once the guard let it through. */
abstract class AccessTokenStep implements Command {
  constructor(readonly k: number) {}
  abstract send(r: Real, s: ModelSession): request.Test;
  abstract expect(m: Model, s: ModelSession, res: request.Response): Event[];
  check = hasSessions;
  run = (m: Model, r: Real) =>
    step(m, r, async () => {
      const s = pick(m, this.k);
      const res = await this.send(r, s).set("Authorization", bearer(s));
      const refusal = guardRefusal(m, s);
      if (refusal) return (expectRefused(res, ...refusal), []);
      return this.expect(m, s, res);
    });
}

class Me extends AccessTokenStep {
  send = (r: Real) => request(r.t.app).get("/me");
  expect(m: Model, s: ModelSession, res: request.Response): Event[] {
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(s.id);
    s.lastUsedAt = m.now; // touchInterval is 1 ms: every check touches
    return [];
  }
  override toString = () => `me(#${this.k})`;
}

/** A step that sends a session's refresh token `back` generations old to `path`; `expect` predicts the rest for a live session. */
abstract class RefreshTokenStep implements Command {
  constructor(
    readonly k: number,
    readonly back: number,
  ) {}
  abstract readonly path: string;
  abstract expect(m: Model, s: ModelSession, res: request.Response, generation: number, current: number): Event[];
  check = hasSessions;
  run = (m: Model, r: Real) =>
    step(m, r, async () => {
      const s = pick(m, this.k);
      const { token, generation, current } = refreshTokenOf(s, this.back);
      const res = await request(r.t.app).post(this.path).send({ refresh_token: token });
      if (!alive(m, s)) return (expectRefused(res, 401, "refresh_token_invalid"), []);
      return this.expect(m, s, res, generation, current);
    });
}

class Refresh extends RefreshTokenStep {
  readonly path = "/auth/refresh";
  expect(m: Model, s: ModelSession, res: request.Response, generation: number, current: number): Event[] {
    const about = { sessionId: s.id, userId: s.user };
    if (generation === current) {
      expect(res.status).to.equal(200);
      s.refresh.push(res.body.refresh_token);
      s.rotatedAt = m.now;
      s.lastUsedAt = m.now;
      takeAccess(m, s, res.body.access_token);
      return [{ event: "refresh", payload: about }];
    }
    if (withinWindow(m, s, generation, current)) {
      // A retry of the last rotation: the same successor, a fresh access token, nothing stored changes.
      expect(res.status).to.equal(200);
      expect(res.body.refresh_token).to.equal(s.refresh[current]);
      takeAccess(m, s, res.body.access_token);
      return [];
    }
    expectRefused(res, 401, "refresh_token_reused");
    s.ended = true;
    return [{ event: "reuse_detected", payload: about }];
  }
  override toString = () => `refresh(#${this.k}, ${this.back} back)`;
}

class LogoutByRefresh extends RefreshTokenStep {
  readonly path = "/auth/logout";
  expect(m: Model, s: ModelSession, res: request.Response, generation: number, current: number): Event[] {
    const about = { sessionId: s.id, userId: s.user };
    s.ended = true;
    if (generation === current || withinWindow(m, s, generation, current)) {
      expect(res.status).to.equal(204);
      return [{ event: "logout", payload: about }];
    }
    expectRefused(res, 401, "refresh_token_reused");
    return [{ event: "reuse_detected", payload: about }];
  }
  override toString = () => `logout by refresh token(#${this.k}, ${this.back} back)`;
}

class Logout extends AccessTokenStep {
  send = (r: Real) => request(r.t.app).post("/auth/logout");
  expect(_m: Model, s: ModelSession, res: request.Response): Event[] {
    expect(res.status).to.equal(204);
    s.ended = true;
    return [{ event: "logout", payload: { sessionId: s.id, userId: s.user } }];
  }
  override toString = () => `logout(#${this.k})`;
}

class LogoutAll implements Command {
  constructor(
    readonly k: number,
    readonly keepCurrent: boolean,
  ) {}
  check = hasSessions;
  run = (m: Model, r: Real) =>
    step(m, r, async () => {
      const s = pick(m, this.k);
      const res = await request(r.t.app).post("/auth/logout-all").set("Authorization", bearer(s)).send({ keep_current: this.keepCurrent });
      const refusal = guardRefusal(m, s);
      if (refusal) return (expectRefused(res, ...refusal), []);
      s.lastUsedAt = m.now;
      const ended = m.sessions.filter((o) => o.user === s.user && alive(m, o) && !(this.keepCurrent && o === s));
      for (const o of ended) o.ended = true;
      expect({ status: res.status, body: res.body }).to.deep.equal({ status: 200, body: { revoked: ended.length } });
      const reason = this.keepCurrent ? "logout-others" : "logout-all";
      return ended.map((o) => ({ event: "revoke", payload: { sessionId: o.id, userId: o.user, reason } }));
    });
  toString = () => `logout-all(#${this.k}${this.keepCurrent ? ", keep current" : ""})`;
}

class RevokeById implements Command {
  constructor(
    readonly k: number,
    readonly target: number,
  ) {}
  check = hasSessions;
  run = (m: Model, r: Real) =>
    step(m, r, async () => {
      const s = pick(m, this.k);
      const mine = m.sessions.filter((o) => o.user === s.user);
      const target = mine[this.target % mine.length];
      const res = await request(r.t.app).delete(`/auth/sessions/${target.id}`).set("Authorization", bearer(s));
      const refusal = guardRefusal(m, s);
      if (refusal) return (expectRefused(res, ...refusal), []);
      s.lastUsedAt = m.now;
      if (!alive(m, target)) return (expectRefused(res, 404, "not_found"), []);
      expect(res.status).to.equal(204);
      target.ended = true;
      return [{ event: "revoke", payload: { sessionId: target.id, userId: target.user, reason: "revoked" } }];
    });
  toString = () => `revoke by id(#${this.k} revokes its user's #${this.target})`;
}

class Advance implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  run = (m: Model, r: Real) =>
    step(m, r, async () => {
      r.t.clock.advance(this.ms);
      m.now += this.ms;
      return [];
    });
  toString = () => `advance(${this.ms / SECOND} s)`;
}

const session = fc.nat({ max: 50 });
const back = fc.constantFrom(0, 1, 2);
const commands = fc.commands(
  [
    fc.tuple(fc.constantFrom(...USERS), fc.boolean()).map(([user, rememberMe]) => new Login(user, rememberMe)),
    session.map((k) => new Me(k)),
    fc.tuple(session, back).map(([k, b]) => new Refresh(k, b)),
    fc.tuple(session, back).map(([k, b]) => new LogoutByRefresh(k, b)),
    session.map((k) => new Logout(k)),
    fc.tuple(session, fc.boolean()).map(([k, keep]) => new LogoutAll(k, keep)),
    fc.tuple(session, session).map(([k, target]) => new RevokeById(k, target)),
    fc.constantFrom(...ADVANCES).map((ms) => new Advance(ms)),
  ],
  { maxCommands: LONG_RUN ? 80 : 40, size: "max", replayPath: COMMANDS_REPLAY_PATH },
);

interface StoreRow {
  name: string;
  open(): Promise<{ store: Store; close(): Promise<void> }>;
}

const STORES: StoreRow[] = [
  {
    name: "MemoryStore",
    async open() {
      const store = new MemoryStore({ sweepInterval: 0 });
      return { store, close: () => store.close() };
    },
  },
  {
    name: "RedisStore",
    async open() {
      const fixture: RedisFixture = await redisFixture();
      return { store: fixture.store, close: () => fixture.close() };
    },
  },
];

describe("fuzz: sessions against a model", function () {
  this.timeout(fuzzTimeout(60_000));

  for (const row of STORES) {
    it(`${row.name}: every step answers as the model says, and the session lists agree`, async function () {
      const { store, close } = await row.open();
      let run = 0;
      try {
        await fc.assert(
          fc.asyncProperty(commands, async (cmds) => {
            run++;
            const t = buildApp({
              guard: {
                store,
                jwt: { secret: SECRET, clockTolerance: 0 },
                accessTokenTtl: ACCESS_TTL,
                idleTimeout: IDLE,
                absoluteLifetime: ABSOLUTE,
                rememberMe: { idleTimeout: REMEMBERED_IDLE, absoluteLifetime: REMEMBERED_ABSOLUTE },
                touchInterval: 1,
                refreshReuseWindow: REUSE_WINDOW,
                maxSessionsPerUser: MAX_SESSIONS,
              },
            });
            const users = { ada: `run${run}-ada`, bob: `run${run}-bob` };
            const model: Model = { now: t.clock.now(), sessions: [] };
            await fc.asyncModelRun(() => ({ model, real: { t, users } }), cmds);
          }),
          fuzzParameters(this.test!.fullTitle(), 25),
        );
      } finally {
        await close();
      }
    });
  }
});
