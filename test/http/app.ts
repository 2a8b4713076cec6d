/**
 * Shared fixtures of the HTTP and security suites: a small Express app with
 * a guard and the session router built from options, a login helper, an
 * event recorder, and RedisStores on the shared test server with a fresh
 * key prefix per test (so tests never see each other's keys).
 *
 * Time is always the fake clock handed to the guard as `now`.
 *
 * @module
 */
import cookieParser from "cookie-parser";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { Redis } from "ioredis";
import request from "supertest";
import { expect } from "chai";
import { createSessionRouter, MemoryStore, RedisStore, sessionGuard } from "../../lib/index.js";
import type { Guard, SessionEvents, SessionGuardOptions, SessionRouterOptions, Store, TokenSet } from "../../lib/index.js";
import { fakeClock, type FakeClock } from "../support/clock.js";
import { sharedRedis } from "../support/redis-server.js";

/** A 48-byte HS256 secret for tests. */
export const SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/** The password `authenticate` accepts for every user. */
export const PASSWORD = "correct horse battery staple";
/** Where the router is mounted. */
export const MOUNT = "/auth";

type EventName = keyof SessionEvents;
const EVENT_NAMES: EventName[] = ["login", "refresh", "logout", "revoke", "reuse_detected", "store_error"];

/** Every event the guard emitted, in order. */
export type EventLog = Array<{ event: EventName; payload: Record<string, unknown> }>;

export interface AppOptions {
  /** Guard options; `store`, `now` and `secret` default to a MemoryStore, the fake clock and {@link SECRET}. */
  guard?: Partial<SessionGuardOptions>;
  /** Router options besides `authenticate` (which may be replaced too). */
  router?: Partial<SessionRouterOptions>;
  /** The fake clock; a fresh one by default. */
  clock?: FakeClock;
  /** Mount cookie-parser before everything. Default true. */
  cookieParser?: boolean;
  /** Mount path of the router. Default {@link MOUNT}. */
  mount?: string;
  /** Adds the test's own routes (before the final error handler). */
  routes?: (app: Express, guard: Guard) => void;
}

export interface TestApp {
  app: Express;
  guard: Guard;
  store: Store;
  clock: FakeClock;
  events: EventLog;
  /** Events of one name, payloads only. */
  eventsOf(event: EventName): Array<Record<string, unknown>>;
}

/**
 * Builds an app: cookie-parser, the router at `/auth`, `express.json()`, and
 * - `GET /me`: guarded, answers the session handle's fields;
 * - `GET /maybe`: `guard.optional`, answers `{ user }` (null without a session);
 * - `POST /me/revoke`, `/me/revoke-others`, `/me/revoke-all`: the handle's methods.
 *
 * `authenticate` accepts `{ user, password }` with {@link PASSWORD} and
 * returns `{ userId: user, claims: { role: "member" }, data: { plan: "pro" } }`.
 */
export function buildApp(options: AppOptions = {}): TestApp {
  const clock = options.clock ?? fakeClock();
  const guardOptions: SessionGuardOptions = {
    store: new MemoryStore({ sweepInterval: 0 }),
    now: clock.now,
    ...(options.guard?.jwt === undefined ? { secret: SECRET } : {}),
    ...options.guard,
  };
  const guard = sessionGuard(guardOptions);
  const events: EventLog = [];
  for (const event of EVENT_NAMES) {
    guard.on(event, (payload) => events.push({ event, payload: payload as unknown as Record<string, unknown> }));
  }
  const property = guardOptions.requestProperty ?? "session";
  const handle = (req: Request) => (req as unknown as Record<string, any>)[property];

  const app = express();
  if (options.cookieParser !== false) app.use(cookieParser());
  app.use(
    options.mount ?? MOUNT,
    createSessionRouter(guard, {
      authenticate: (req) => {
        const { user, password } = req.body as { user?: unknown; password?: unknown };
        if (typeof user !== "string" || password !== PASSWORD) return null;
        return { userId: user, claims: { role: "member" }, data: { plan: "pro" } };
      },
      ...options.router,
    }),
  );
  app.use(express.json());
  app.get("/me", guard, (req, res) => {
    const s = handle(req);
    res.json({
      id: s.id,
      userId: s.userId,
      role: s.claims.role,
      data: s.data,
      createdAt: s.createdAt.toISOString(),
      lastUsedAt: s.lastUsedAt.toISOString(),
      expiresAt: s.expiresAt === null ? null : s.expiresAt.toISOString(),
      rememberMe: s.rememberMe,
    });
  });
  app.post("/me", guard, (req, res) => res.json({ userId: handle(req).userId }));
  app.get("/maybe", guard.optional, (req, res) => res.json({ user: handle(req)?.userId ?? null }));
  // Written the Express 4 way (a rejection goes to next), as the suites also run on Express 4.
  app.post("/me/revoke", guard, (req, res, next) => {
    handle(req)
      .revoke()
      .then(() => res.sendStatus(204), next);
  });
  app.post("/me/revoke-others", guard, (req, res, next) => {
    handle(req)
      .revokeOthers()
      .then((revoked: number) => res.json({ revoked }), next);
  });
  app.post("/me/revoke-all", guard, (req, res, next) => {
    handle(req)
      .revokeAll()
      .then((revoked: number) => res.json({ revoked }), next);
  });
  options.routes?.(app, guard);
  app.use(guard.errorHandler);
  // Errors that are not SessionErrors would surface here: make them visible as JSON 500s.
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: "unexpected", message: err.message });
  });

  return {
    app,
    guard,
    store: guardOptions.store!,
    clock,
    events,
    eventsOf: (event) => events.filter((e) => e.event === event).map((e) => e.payload),
  };
}

/** Logs `user` in through `POST /auth/login` and returns the token set (asserting a 200). */
export async function login(t: TestApp, user: string, options: { rememberMe?: boolean; mount?: string } = {}): Promise<TokenSet> {
  const body: Record<string, unknown> = { user, password: PASSWORD };
  if (options.rememberMe !== undefined) body.remember_me = options.rememberMe;
  const res = await request(t.app)
    .post(`${options.mount ?? MOUNT}/login`)
    .send(body);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as TokenSet;
}

/** `GET /me` with a Bearer token. */
export function me(t: TestApp, accessToken: string): request.Test {
  return request(t.app).get("/me").set("Authorization", `Bearer ${accessToken}`);
}

/** `POST /auth/refresh` with a refresh token in the body. */
export function refresh(t: TestApp, refreshToken: string): request.Test {
  return request(t.app).post(`${MOUNT}/refresh`).send({ refresh_token: refreshToken });
}

/** Asserts an error answer: status, JSON `{ error, message }`, and for 401s the `WWW-Authenticate` header. */
export function expectError(res: request.Response, status: number, code: string, options: { tokenPresented?: boolean } = {}): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(res.headers["content-type"]).to.match(/^application\/json/);
  expect(res.body).to.have.all.keys("error", "message");
  expect(res.body.error).to.equal(code);
  expect(res.body.message).to.be.a("string").and.not.equal("");
  if (status === 401) {
    const expected = options.tokenPresented ? 'Bearer realm="session-guard", error="invalid_token"' : 'Bearer realm="session-guard"';
    expect(res.headers["www-authenticate"]).to.equal(expected);
  }
  if (status === 400 && options.tokenPresented !== undefined) {
    // A 400 from the guard names RFC 6750's invalid_request.
    expect(res.headers["www-authenticate"]).to.equal('Bearer realm="session-guard", error="invalid_request"');
  }
  if (status === 503) expect(res.headers["retry-after"]).to.match(/^\d+$/);
}

let prefixCounter = 0;

/** A RedisStore on the shared test server with a fresh prefix, and a raw client to inspect it. */
export interface RedisFixture {
  store: RedisStore;
  client: Redis;
  prefix: string;
  url: string;
  /** Every key under the prefix with its type, value and whether it has a TTL (for before/after comparisons). */
  snapshot(): Promise<Record<string, unknown>>;
  /** Keys under the prefix. */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** Client settings that cannot hang a request (and so raise no warning). */
export const SAFE_CLIENT = { enableOfflineQueue: false, commandTimeout: 2000, maxRetriesPerRequest: 1 } as const;

/** Resolves once an ioredis client (made without an offline queue) can take commands. */
export function ready(client: Redis): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      client.off("end", onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off("ready", onReady);
      reject(new Error("the Redis client ended before it was ready"));
    };
    client.once("ready", onReady);
    client.once("end", onEnd);
  });
}

export async function redisFixture(): Promise<RedisFixture> {
  const node = await sharedRedis();
  const prefix = `t${process.pid}-${++prefixCounter}:`;
  const storeClient = new Redis(node.url, SAFE_CLIENT);
  const client = new Redis(node.url, SAFE_CLIENT);
  await Promise.all([ready(storeClient), ready(client)]);
  const store = new RedisStore({ client: storeClient, prefix });
  const keys = async () => (await client.keys(`${prefix}*`)).sort();
  return {
    store,
    client,
    prefix,
    url: node.url,
    keys,
    async snapshot() {
      const out: Record<string, unknown> = {};
      for (const key of await keys()) {
        const type = await client.type(key);
        const value = type === "string" ? await client.get(key) : type === "zset" ? await client.zrange(key, 0, -1, "WITHSCORES") : type;
        out[key] = { type, value, ttl: (await client.pttl(key)) > 0 };
      }
      return out;
    },
    async close() {
      await store.close();
      storeClient.disconnect();
      client.disconnect();
    },
  };
}

/** Parsed `Set-Cookie` headers by cookie name: value and lower-cased attributes. */
export function setCookies(res: request.Response): Record<string, { value: string; attributes: Record<string, string | true> }> {
  const raw = res.headers["set-cookie"] as unknown as string[] | undefined;
  const out: Record<string, { value: string; attributes: Record<string, string | true> }> = {};
  for (const line of raw ?? []) {
    const [pair, ...attrs] = line.split(";").map((s) => s.trim());
    const eq = pair.indexOf("=");
    const attributes: Record<string, string | true> = {};
    for (const attr of attrs) {
      const i = attr.indexOf("=");
      if (i === -1) attributes[attr.toLowerCase()] = true;
      else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
    }
    out[pair.slice(0, eq)] = { value: decodeURIComponent(pair.slice(eq + 1)), attributes };
  }
  return out;
}
