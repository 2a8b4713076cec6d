/**
 * Stateless fuzzing of every route: generated requests (any Authorization
 * and Cookie headers, origins, content types, methods and JSON bodies of any
 * shape, and tokens mutated from real ones or forged with the right keys)
 * against three apps on one real Redis, each with sessions logged in
 * beforehand:
 *
 * - `header`: Bearer tokens, cookie-parser mounted;
 * - `cookie`: cookie transport with a trusted origin, cookie-parser mounted;
 * - `both`: header and cookies, no cookie-parser (the guard reads the Cookie
 *   header itself), `express.json()` before the router (the router reuses
 *   the parsed body), cookies without `Secure` (names without prefixes).
 *
 * For every request:
 * - an answer comes, never a 5xx, and no uncaught exception or unhandled
 *   rejection happens meanwhile;
 * - a route of the library answers JSON: a documented error code with its
 *   status and `WWW-Authenticate`, or the route's documented success;
 *   a request no route serves gets the app's own 404 (or Express's
 *   OPTIONS answer);
 * - a rejected request (4xx) changes nothing in Redis (every key's type,
 *   value and expiry instant) and emits no event; the one rejection that changes something by design,
 *   `refresh_token_reused`, deletes exactly its session and emits
 *   `reuse_detected`;
 * - an error message never carries a token;
 * - an unsafe request that succeeds on a cookie app proved it is not
 *   cross-site (trusted origin or CSRF header), or did not rest on a cookie.
 *
 * Every run starts from the same Redis content (the baseline is put back
 * when a run changed it), so runs do not depend on each other.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import cookieParser from "cookie-parser";
import express, { type NextFunction, type Request, type Response } from "express";
import fc from "fast-check";
import { createSessionRouter, ERROR_STATUS, sessionGuard, type Guard, type SessionErrorCode, type SessionEvents } from "../../lib/index.js";
import { PASSWORD, redisFixture, SECRET, type RedisFixture } from "../http/app.js";
import { fakeClock } from "../support/clock.js";
import {
  genuineRefresh,
  renderRequest,
  requestSpec,
  TRUSTED_ORIGIN,
  type PoolSession,
  type RenderContext,
  type RenderedRequest,
  type RouteName,
} from "./inputs.js";
import { diffStates, readState, restoreBaseline, takeBaseline, type Baseline, type RedisState } from "./redis-state.js";
import { fuzz, fuzzTimeout, printOutcomes } from "./settings.js";

const REFRESH_SECRET = "fuzz-refresh-secret-0123456789-abcdefghijklmnopq";
const ANSWER_TIMEOUT_MS = 5000;
/** Header of the answers the fuzz app gives itself (its 404, body-parser's refusals). */
const APP_ANSWER = "x-fuzz-app-answer";
const EVENT_NAMES: Array<keyof SessionEvents> = ["login", "refresh", "logout", "revoke", "reuse_detected", "store_error"];

type Kind = "header" | "cookie" | "both";
const KINDS: Kind[] = ["header", "cookie", "both"];

interface FuzzApp {
  kind: Kind;
  guard: Guard;
  app: express.Express;
  server: http.Server;
  port: number;
  redis: RedisFixture;
  cookieNames: { access: string; refresh: string };
  events: Array<{ event: string; payload: Record<string, unknown> }>;
  /** Errors that reached the app's last error handler (answered 500). */
  unexpected: unknown[];
}

/** Users of the pool: plain, and one whose id has key syntax and unicode in it. */
const USERS = ["alice", "bob", "ü{x}:s:1 ☃"];

function buildFuzzApp(kind: Kind, redis: RedisFixture, now: () => number): Omit<FuzzApp, "server" | "port"> {
  const guard = sessionGuard({
    store: redis.store,
    now,
    secret: SECRET,
    refreshSecret: REFRESH_SECRET,
    transport: kind,
    trustedOrigins: [TRUSTED_ORIGIN],
    ...(kind === "both" ? { cookie: { secure: false } } : {}),
  });
  const events: FuzzApp["events"] = [];
  for (const event of EVENT_NAMES)
    guard.on(event, (payload) => events.push({ event, payload: payload as unknown as Record<string, unknown> }));
  const unexpected: unknown[] = [];
  const app = express();
  if (kind !== "both") app.use(cookieParser());
  else app.use(express.json());
  app.use(
    "/auth",
    createSessionRouter(guard, {
      // Claims and data come from the body when given: values from user
      // input must be a 400 at login, never a 500.
      authenticate: (req) => {
        const { user, password, claims, data } = req.body as Record<string, unknown>;
        if (typeof user !== "string" || password !== PASSWORD) return null;
        return {
          userId: user,
          claims: claims === undefined ? { role: "member" } : (claims as Record<string, unknown>),
          data: data === undefined ? { plan: "pro" } : data,
        };
      },
    }),
  );
  app.get("/me", guard, (req, res) => {
    res.json({
      id: req.session.id,
      userId: req.session.userId,
      role: req.session.claims.role,
      data: req.session.data,
      rememberMe: req.session.rememberMe,
    });
  });
  app.post("/me", guard, (req, res) => res.json({ userId: req.session.userId }));
  app.get("/maybe", guard.optional, (req, res) => res.json({ user: req.session?.userId ?? null }));
  app.use(guard.errorHandler);
  // The app's own answers carry a header, so that they are told apart from the library's (HEAD has no body).
  app.use((_req: Request, res: Response) => res.status(404).set(APP_ANSWER, "no_route").json({ error: "no_route" }));
  app.use((err: { type?: unknown; status?: unknown; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    // body-parser's own refusals (bad JSON, charset, size) are the app's answers, not the library's.
    if (typeof err?.type === "string" && typeof err.status === "number" && err.status >= 400 && err.status < 500) {
      res.status(err.status).set(APP_ANSWER, "body_parser").json({ error: "app_body_parser" });
      return;
    }
    unexpected.push(err);
    res.status(500).json({ error: "unexpected", message: String(err?.message) });
  });
  const secure = kind !== "both";
  const cookieNames = { access: secure ? "__Host-sg-access" : "sg-access", refresh: secure ? "__Secure-sg-refresh" : "sg-refresh" };
  return { kind, guard, app, redis, cookieNames, events, unexpected };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(port: number, r: RenderedRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: r.method,
        path: r.path,
        headers: [["Host", `127.0.0.1:${port}`], ...r.headers].flat(),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          answered = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(ANSWER_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    // The server may answer (a 400 for a body over the limit) and close before the body is sent.
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    if (r.body !== null && r.chunked) {
      const half = r.body.length >> 1;
      req.write(r.body.subarray(0, half));
      req.write(r.body.subarray(half));
    } else if (r.body !== null) req.write(r.body);
    req.end();
  });
}

/** Every error code each route may answer (csrf_failed only on unsafe methods). */
const ROUTE_CODES: Record<Exclude<RouteName, "none">, SessionErrorCode[]> = {
  login: ["invalid_request", "invalid_credentials"],
  refresh: ["invalid_request", "refresh_token_invalid", "refresh_token_reused", "csrf_failed"],
  logout: [
    "invalid_request",
    "token_missing",
    "token_invalid",
    "token_expired",
    "session_inactive",
    "refresh_token_invalid",
    "refresh_token_reused",
    "csrf_failed",
  ],
  logoutAll: ["invalid_request", "token_missing", "token_invalid", "token_expired", "session_inactive", "csrf_failed"],
  sessions: ["invalid_request", "token_missing", "token_invalid", "token_expired", "session_inactive"],
  revoke: ["invalid_request", "token_missing", "token_invalid", "token_expired", "session_inactive", "csrf_failed", "not_found"],
  me: ["invalid_request", "token_missing", "token_invalid", "token_expired", "session_inactive"],
  mePost: ["invalid_request", "token_missing", "token_invalid", "token_expired", "session_inactive", "csrf_failed"],
  maybe: ["invalid_request", "token_invalid", "token_expired", "session_inactive"],
};

const SESSION_KEYS = ["created_at", "current", "expires_at", "id", "ip", "last_used_at", "remember_me", "user_agent"];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function checkSessionJson(session: Record<string, unknown>): void {
  expect(Object.keys(session).sort()).to.deep.equal(SESSION_KEYS);
  expect(session.id).to.match(/^[A-Za-z0-9_-]{24}$/);
  expect(session.current).to.be.a("boolean");
  expect(session.created_at).to.match(ISO);
  expect(session.last_used_at).to.match(ISO);
  if (session.expires_at !== null) expect(session.expires_at).to.match(ISO);
  expect(session.remember_me).to.be.a("boolean");
}

/** The route's documented success. */
function checkSuccess(route: Exclude<RouteName, "none">, app: FuzzApp, answer: Answer, json: Record<string, unknown>, head: boolean): void {
  const expected = route === "logout" || route === "revoke" ? 204 : 200;
  expect(answer.status, "success status").to.equal(expected);
  if (expected === 204) {
    expect(answer.body.length, "a 204 has no body").to.equal(0);
    return;
  }
  expect(answer.headers["content-type"]).to.match(/^application\/json/);
  if (head) return;
  switch (route) {
    case "login":
    case "refresh": {
      expect(answer.headers["cache-control"]).to.equal("no-store");
      const tokenKeys =
        app.kind === "cookie"
          ? ["expires_in", "session", "token_type"]
          : ["access_token", "expires_in", "refresh_token", "session", "token_type"];
      expect(Object.keys(json).sort()).to.deep.equal(tokenKeys);
      expect(json.token_type).to.equal("Bearer");
      expect(json.expires_in).to.equal(900);
      checkSessionJson(json.session as Record<string, unknown>);
      expect((json.session as { current: boolean }).current).to.equal(true);
      if (app.kind !== "header") {
        const cookies = ((answer.headers["set-cookie"] ?? []) as string[]).map((line) => line.slice(0, line.indexOf("=")));
        expect(cookies).to.have.members([app.cookieNames.access, app.cookieNames.refresh]);
      }
      return;
    }
    case "logoutAll":
      expect(Object.keys(json)).to.deep.equal(["revoked"]);
      expect(json.revoked).to.be.a("number").and.satisfy(Number.isInteger).and.at.least(0);
      return;
    case "sessions": {
      expect(Object.keys(json)).to.deep.equal(["sessions"]);
      const list = json.sessions as Array<Record<string, unknown>>;
      expect(list).to.be.an("array").with.length.at.least(1);
      list.forEach(checkSessionJson);
      expect(
        list.filter((s) => s.current === true),
        "exactly one current session",
      ).to.have.length(1);
      return;
    }
    case "me":
      // `role` and `data` come from the login body when it gave them, and JSON drops them when undefined.
      expect(["data", "id", "rememberMe", "role", "userId"]).to.include.members(Object.keys(json));
      expect(json).to.include.keys("id", "userId", "rememberMe");
      expect(json.id).to.match(/^[A-Za-z0-9_-]{24}$/);
      expect(json.userId).to.be.a("string");
      return;
    case "mePost":
      expect(json.userId).to.be.a("string");
      return;
    case "maybe":
      expect(Object.keys(json)).to.deep.equal(["user"]);
      return;
  }
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** True when the body is a JSON object with an own property `name`. */
function bodyField(body: Buffer | null, name: string): boolean {
  const json = body === null ? undefined : parseJson(body);
  return json !== undefined && Object.prototype.hasOwnProperty.call(json, name);
}

/** The keys of a session in Redis: its record and its user's index. */
function sessionKeys(state: RedisState, sid: string): { record: string; index: string } | undefined {
  for (const key of state.keys.keys()) {
    if (key.endsWith(`}:s:${sid}`)) return { record: key, index: `${key.slice(0, key.length - `s:${sid}`.length)}i` };
  }
  return undefined;
}

/** `before` with one session deleted, as a reuse detection leaves it (the index's expiry is free). */
function withoutSession(before: RedisState, sid: string): { expected: RedisState; index: string } {
  const keys = sessionKeys(before, sid);
  expect(keys, `the reused session ${sid} was in Redis`).to.not.equal(undefined);
  const expected = new Map(before.keys);
  expected.delete(keys!.record);
  const index = expected.get(keys!.index);
  if (index !== undefined) {
    const lines = index.value.split("\n");
    const kept: string[] = [];
    for (let i = 0; i < lines.length; i += 2) if (lines[i] !== sid) kept.push(lines[i], lines[i + 1]);
    if (kept.length === 0) expected.delete(keys!.index);
    else expected.set(keys!.index, { ...index, value: kept.join("\n") });
  }
  return { expected: { keys: expected }, index: keys!.index };
}

describe("fuzz: stateless inputs against every route", function () {
  this.timeout(fuzzTimeout(120_000));
  const clock = fakeClock();
  const apps: FuzzApp[] = [];
  const pool: PoolSession[] = [];
  let baseline: Baseline;
  const stray: unknown[] = [];
  const onStray = (err: unknown) => stray.push(err);

  async function poolLogin(app: FuzzApp, index: number, user: string, rememberMe: boolean): Promise<void> {
    const body = Buffer.from(JSON.stringify({ user, password: PASSWORD, remember_me: rememberMe }));
    const headers: Array<[string, string]> = [
      ["Content-Type", "application/json"],
      ["Content-Length", String(body.length)],
    ];
    const answer = await send(app.port, { method: "POST", path: "/auth/login", route: "login", headers, body, chunked: false, tokens: [] });
    expect(answer.status, answer.body.toString()).to.equal(200);
    const tokens = tokensOf(app, answer);
    const refresh = tokens.refresh;
    pool.push({
      app: index,
      user,
      sid: (parseJson(answer.body)!.session as { id: string }).id,
      access: tokens.access,
      refresh,
      generation: 0,
      seed: Buffer.from(refresh.split(".")[3], "base64url").subarray(0, 16),
    });
  }

  function tokensOf(app: FuzzApp, answer: Answer): { access: string; refresh: string } {
    const json = parseJson(answer.body)!;
    if (app.kind === "header") return { access: json.access_token as string, refresh: json.refresh_token as string };
    const cookies: Record<string, string> = {};
    for (const line of (answer.headers["set-cookie"] ?? []) as string[]) {
      const pair = line.slice(0, line.indexOf(";"));
      cookies[pair.slice(0, pair.indexOf("="))] = decodeURIComponent(pair.slice(pair.indexOf("=") + 1));
    }
    return { access: cookies[app.cookieNames.access], refresh: cookies[app.cookieNames.refresh] };
  }

  async function poolRefresh(session: PoolSession): Promise<void> {
    const app = apps[session.app];
    const body = Buffer.from(JSON.stringify({ refresh_token: session.refresh }));
    const headers: Array<[string, string]> = [
      ["Content-Type", "application/json"],
      ["Content-Length", String(body.length)],
    ];
    const answer = await send(app.port, {
      method: "POST",
      path: "/auth/refresh",
      route: "refresh",
      headers,
      body,
      chunked: false,
      tokens: [],
    });
    expect(answer.status, answer.body.toString()).to.equal(200);
    const tokens = tokensOf(app, answer);
    session.access = tokens.access;
    session.refresh = tokens.refresh;
    session.generation += 1;
  }

  before(async () => {
    for (const kind of KINDS) {
      const redis = await redisFixture();
      const built = buildFuzzApp(kind, redis, clock.now);
      const server = http.createServer(built.app);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      apps.push({ ...built, server, port: (server.address() as AddressInfo).port });
    }
    for (const [index, app] of apps.entries()) {
      await poolLogin(app, index, USERS[0], false);
      await poolLogin(app, index, USERS[0], true);
      await poolLogin(app, index, USERS[1], false);
      await poolLogin(app, index, USERS[2], true);
    }
    // One session per app two rotations on: its generation-0 token is reuse, its generation-1 token a repeat.
    for (const session of pool.filter((s, i) => i % 4 === 1)) {
      await poolRefresh(session);
      await poolRefresh(session);
    }
    // The fuzzer's own genuine refresh tokens must be the library's.
    for (const s of pool) {
      expect(genuineRefresh(REFRESH_SECRET, Buffer.from(s.user).toString("base64url"), s.sid, String(s.generation), s.seed)).to.equal(
        s.refresh,
      );
    }
    baseline = await takeBaseline(
      apps[0].redis.client,
      apps.map((a) => a.redis.prefix),
    );
    expect(baseline.state.keys.size).to.equal(apps.length * (USERS.length + pool.length / apps.length));
    process.on("unhandledRejection", onStray);
    process.on("uncaughtException", onStray);
  });

  after(async () => {
    process.off("unhandledRejection", onStray);
    process.off("uncaughtException", onStray);
    for (const app of apps) {
      await new Promise((resolve) => app.server.close(resolve));
      await app.guard.close();
      await app.redis.close();
    }
  });

  it("answers every generated request with a documented JSON answer, never a 5xx, and a rejection changes nothing", async () => {
    const client = () => apps[0].redis.client;
    const prefixes = () => apps.map((a) => a.redis.prefix);
    const outcomes = new Map<string, number>();
    const property = fc.asyncProperty(requestSpec(KINDS.length), async (spec) => {
      await restoreBaseline(client(), baseline);
      for (const a of apps) {
        a.events.length = 0;
        a.unexpected.length = 0;
      }
      stray.length = 0;
      const app = apps[spec.app];
      const ctx: RenderContext = {
        pool: [...pool.filter((p) => p.app === spec.app), ...pool.filter((p) => p.app !== spec.app)],
        secret: SECRET,
        refreshSecret: REFRESH_SECRET,
        nowSeconds: Math.floor(clock.now() / 1000),
        cookieNames: app.cookieNames,
        otherCookieNames: apps.flatMap((a) => [a.cookieNames.access, a.cookieNames.refresh]),
      };
      const rendered = renderRequest(spec, ctx, PASSWORD);
      const before = await readState(client(), prefixes());
      const answer = await send(app.port, rendered);
      await new Promise((resolve) => setImmediate(resolve));
      const after = await readState(client(), prefixes());
      const events = apps.flatMap((a) => a.events);
      const unexpected = apps.flatMap((a) => a.unexpected);

      const context = () => `${rendered.method} ${rendered.path} -> ${answer.status} ${answer.body.toString("utf8").slice(0, 300)}`;
      expect(stray, `uncaught exception or unhandled rejection: ${stray.map(String).join("; ")}`).to.deep.equal([]);
      expect(unexpected.map(String), `errors reached the app's last handler (${context()})`).to.deep.equal([]);
      expect(answer.status, `a 5xx (${context()})`).to.be.below(500);
      expect(
        events.filter((e) => e.event === "store_error"),
        "no store errors",
      ).to.deep.equal([]);

      const head = rendered.method === "HEAD";
      const json = head ? undefined : parseJson(answer.body);
      const served = rendered.route !== "none";
      const ok = answer.status < 300;
      const outcome = `${app.kind} ${rendered.route} ${answer.status} ${answer.headers[APP_ANSWER] ?? (json?.error as string | undefined) ?? ""}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);

      if (!served) {
        // No route of the library or the app: the app's 404, or Express's automatic OPTIONS answer.
        if (rendered.method === "OPTIONS" && answer.status === 200) expect(answer.headers.allow, context()).to.be.a("string");
        else if (app.kind === "both" && answer.headers[APP_ANSWER] === "body_parser")
          expect(answer.status, context()).to.be.within(400, 499);
        else if (/^\/auth\/sessions\/[^/?]*%/i.test(rendered.path) && answer.status === 400 && answer.headers[APP_ANSWER] === undefined) {
          // Express decodes a path parameter while matching, before the method: the router answers a bad encoding for any method.
          expect(answer.headers["content-type"], context()).to.match(/^application\/json/);
          if (!head)
            expect(json, context()).to.deep.equal({ error: "invalid_request", message: "The path is not valid percent-encoding." });
        } else {
          expect(answer.status, context()).to.equal(404);
          expect(answer.headers[APP_ANSWER], context()).to.equal("no_route");
        }
      } else if (app.kind === "both" && answer.headers[APP_ANSWER] === "body_parser") {
        // express.json() refused the body before the router ran.
        expect(answer.status, context()).to.be.within(400, 499);
      } else if (ok) {
        checkSuccess(rendered.route as Exclude<RouteName, "none">, app, answer, json ?? {}, head);
      } else {
        expect(answer.headers["content-type"], context()).to.match(/^application\/json/);
        if (!head) {
          expect(json, context()).to.not.equal(undefined);
          expect(Object.keys(json!).sort(), context()).to.deep.equal(["error", "message"]);
          const code = json!.error as SessionErrorCode;
          const allowed = ROUTE_CODES[rendered.route as Exclude<RouteName, "none">].filter(
            (c) => c !== "csrf_failed" || ["POST", "PUT", "PATCH", "DELETE"].includes(rendered.method),
          );
          expect(allowed, `an undocumented code for this route (${context()})`).to.include(code);
          expect(answer.status, context()).to.equal(ERROR_STATUS[code]);
          expect(json!.message).to.be.a("string").and.not.equal("");
          const message = json!.message as string;
          for (const token of [...rendered.tokens, ...pool.flatMap((s) => [s.access, s.refresh])]) {
            expect(message.includes(token), `the error message carries a token (${context()})`).to.equal(false);
          }
        }
        if (answer.status === 401) expect(answer.headers["www-authenticate"], context()).to.match(/^Bearer realm="session-guard"/);
      }

      // CSRF: an unsafe request that succeeds on a cookie app came from a
      // trusted origin, carried the CSRF header, or was authenticated by
      // something other than a cookie (a Bearer header, a refresh token in
      // the body), or needed no session (login).
      if (ok && served && app.kind !== "header" && ["POST", "PUT", "PATCH", "DELETE"].includes(rendered.method)) {
        const header = (name: string) => rendered.headers.find(([n]) => n.toLowerCase() === name)?.[1];
        const csrfPassed = header("origin") === TRUSTED_ORIGIN || header("x-requested-with") !== undefined;
        const authorization = header("authorization");
        const bearer = app.kind === "both" && authorization !== undefined && /^bearer$/i.test(authorization.split(" ")[0]);
        const bodyToken = bodyField(rendered.body, "refresh_token") && (rendered.route === "refresh" || rendered.route === "logout");
        expect(
          csrfPassed || bearer || bodyToken || rendered.route === "login",
          `a cookie-authenticated unsafe request passed without CSRF proof (${context()})`,
        ).to.equal(true);
      }

      // Rejections change nothing, and emit nothing; except reuse, which ends its session.
      if (!ok || !served) {
        const reused = !head && json?.error === "refresh_token_reused";
        if (reused) {
          expect(events.map((e) => e.event)).to.deep.equal(["reuse_detected"]);
          const sid = events[0].payload.sessionId as string;
          const { expected, index } = withoutSession(before, sid);
          const diff = diffStates(expected, after, new Set([index]));
          expect(diff, `reuse deleted more than its session (${context()}):\n${diff.join("\n")}`).to.deep.equal([]);
        } else {
          expect(events, `a rejected request emitted events (${context()})`).to.deep.equal([]);
          const diff = diffStates(before, after);
          expect(diff, `a rejected request changed Redis (${context()}):\n${diff.join("\n")}`).to.deep.equal([]);
        }
      }
    });
    await fuzz("stateless", "test/fuzz/stateless.test.ts", property, { seed: 20240601, numRuns: 3000, chunkRuns: 1000 });
    printOutcomes("stateless", outcomes);
  });
});
