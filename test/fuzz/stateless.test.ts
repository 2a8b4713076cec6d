// Stateless fuzzing: arbitrary requests against every route of the router
// and the guarded routes, on a real Redis, over real HTTP (so headers reach
// the app as a client sends them). A request is a recipe: which app (header
// or cookie transport), which route, and how its Authorization, Cookie,
// Origin, CSRF header, Content-Type and body are made — arbitrary text, or
// the live sessions' real tokens mutated (bit flips, cuts, swapped parts,
// re-encoded headers, claims edited and re-signed with the right key,
// refresh tokens with any part changed). The recipe is applied to the
// tokens live at run time, so counterexamples stay readable.
//
// Properties, for every request: never a 5xx; no uncaught exception or
// unhandled rejection; every answer is JSON (or an empty 204) and every
// error carries a documented code with its documented status; a refused
// request changes nothing in Redis (every key, type, value and expiry time
// compared before and after).
import fc from "fast-check";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import cookieParser from "cookie-parser";
import express, { type Express, type NextFunction, type Request, type Response } from "express";
import { createSessionRouter, ERROR_STATUS, sessionGuard, type SessionGuardOptions } from "../../lib/index.js";
import { PASSWORD, redisFixture, SECRET, type RedisFixture } from "../http/app.js";
import { fakeClock } from "../support/clock.js";
import { fuzzParameters, fuzzTimeout } from "./settings.js";

const TRUSTED = "http://trusted.example";
type AppName = "header" | "cookie";
type Who = "alice" | "bob";

interface Live {
  access: Record<Who, string>;
  refresh: Record<Who, string>;
  sid: Record<Who, string>;
}

// ---- recipes ---------------------------------------------------------------

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Text a client can put in a header: visible ASCII, space, tab and Latin-1. */
const headerText = (maxLength = 200) =>
  fc.string({
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff }))
      .map((c) => String.fromCharCode(c)),
    maxLength,
  });
const who = fc.constantFrom<Who>("alice", "bob");
const swapChar = fc.constantFrom(...(BASE64URL + ".=+/ %").split(""));

type AccessRecipe =
  | { kind: "real"; who: Who }
  | { kind: "flip"; who: Who; at: number; char: string }
  | { kind: "cut"; who: Who; at: number }
  | { kind: "swap"; parts: Array<[Who, number]> }
  | { kind: "header"; who: Who; header: Record<string, unknown>; resign: boolean }
  | { kind: "claims"; who: Who; claims: Record<string, unknown> }
  | { kind: "text"; text: string };

const claimValue = fc.oneof(
  fc.constantFrom(0, -1, 1e20, "1", null, true, [], {}),
  fc.integer(),
  fc.string({ maxLength: 30 }),
  fc.constant("__sid_of_bob__"),
  fc.constant(Math.floor(Date.now() / 1000) + 3600),
);
const accessRecipe: fc.Arbitrary<AccessRecipe> = fc.oneof(
  fc.record({ kind: fc.constant("real" as const), who }),
  fc.record({ kind: fc.constant("flip" as const), who, at: fc.nat(), char: swapChar }),
  fc.record({ kind: fc.constant("cut" as const), who, at: fc.nat() }),
  fc.record({ kind: fc.constant("swap" as const), parts: fc.array(fc.tuple(who, fc.nat({ max: 2 })), { minLength: 1, maxLength: 4 }) }),
  fc.record({
    kind: fc.constant("header" as const),
    who,
    header: fc.record(
      {
        alg: fc.constantFrom("none", "HS256", "HS384", "HS512", "RS256", "ES256", "hs256", "", null),
        typ: fc.constantFrom("at+jwt", "JWT", "application/at+jwt", "AT+JWT", "", 1),
        kid: fc.oneof(fc.constantFrom("k1", "", "../../etc/passwd"), fc.string({ maxLength: 20 })),
        crit: fc.constantFrom(["exp"], [], "b64", null),
        jku: fc.constant("http://127.0.0.1:1/keys"),
      },
      { requiredKeys: [] },
    ),
    resign: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("claims" as const),
    who,
    claims: fc.dictionary(fc.constantFrom("sub", "sid", "exp", "iat", "nbf", "jti", "iss", "aud", "role", "__proto__"), claimValue, {
      maxKeys: 4,
    }),
  }),
  fc.record({ kind: fc.constant("text" as const), text: headerText(100) }),
);

type RefreshRecipe =
  | { kind: "real"; who: Who }
  | { kind: "flip"; who: Who; at: number; char: string }
  | { kind: "part"; who: Who; part: number; value: string }
  | { kind: "borrow"; who: Who; part: number }
  | { kind: "text"; text: string };

const refreshRecipe: fc.Arbitrary<RefreshRecipe> = fc.oneof(
  fc.record({ kind: fc.constant("real" as const), who }),
  fc.record({ kind: fc.constant("flip" as const), who, at: fc.nat(), char: swapChar }),
  fc.record({
    kind: fc.constant("part" as const),
    who,
    part: fc.nat({ max: 3 }),
    value: fc.oneof(fc.constantFrom("", "0", "1", "01", "-1", "999999999999999", "9".repeat(40), "AAAA"), fc.string({ maxLength: 40 })),
  }),
  fc.record({ kind: fc.constant("borrow" as const), who, part: fc.nat({ max: 3 }) }),
  fc.record({ kind: fc.constant("text" as const), text: headerText(100) }),
);

type BodyRecipe =
  | { kind: "none" }
  | { kind: "json"; value: unknown }
  | { kind: "fields"; entries: Array<[string, unknown]>; refresh?: RefreshRecipe }
  | { kind: "text"; text: string }
  | { kind: "deep"; depth: number }
  | { kind: "large"; bytes: number }
  | { kind: "login"; user: string; claims: unknown; data: unknown; rememberMe: unknown };

const FIELD_NAMES = [
  "user",
  "password",
  "refresh_token",
  "remember_me",
  "keep_current",
  "claims",
  "data",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
];
const bodyRecipe: fc.Arbitrary<BodyRecipe> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("json" as const), value: fc.jsonValue({ maxDepth: 4 }) }),
  fc.record(
    {
      kind: fc.constant("fields" as const),
      entries: fc.array(
        fc.tuple(
          fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 10 })),
          fc.oneof(
            fc.constantFrom("alice", PASSWORD, true, false, null, "true", 1),
            fc.jsonValue({ maxDepth: 2 }),
            fc.dictionary(
              fc.constantFrom("role", "toString", "valueOf", "hasOwnProperty", "sub", "exp", "x".repeat(300)),
              fc.jsonValue({ maxDepth: 1 }),
              {
                maxKeys: 3,
              },
            ),
          ),
        ),
        { maxLength: 5 },
      ),
      refresh: refreshRecipe,
    },
    { requiredKeys: ["kind", "entries"] },
  ),
  fc.record({ kind: fc.constant("text" as const), text: fc.string({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant("deep" as const), depth: fc.integer({ min: 100, max: 20_000 }) }),
  fc.record({ kind: fc.constant("large" as const), bytes: fc.integer({ min: 16_000, max: 200_000 }) }),
  // A valid login whose user id, claims and data are anything: authenticate passes them on.
  fc.record({
    kind: fc.constant("login" as const),
    user: fc.oneof(fc.constant("alice"), fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 })),
    claims: fc.oneof(
      fc.dictionary(
        fc.oneof(fc.constantFrom("role", "toString", "valueOf", "hasOwnProperty", "__proto__", "sub", "exp"), fc.string({ maxLength: 8 })),
        fc.jsonValue({ maxDepth: 2 }),
        {
          maxKeys: 4,
        },
      ),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    data: fc.jsonValue({ maxDepth: 3 }),
    rememberMe: fc.constantFrom(true, false, "yes", undefined),
  }),
);

type CookieRecipe =
  { kind: "text"; text: string } | { kind: "tokens"; access?: AccessRecipe; refresh?: RefreshRecipe; twice: boolean; junk: string };

const cookieRecipe: fc.Arbitrary<CookieRecipe> = fc.oneof(
  fc.record({ kind: fc.constant("text" as const), text: headerText(200) }),
  fc.record(
    { kind: fc.constant("tokens" as const), access: accessRecipe, refresh: refreshRecipe, twice: fc.boolean(), junk: headerText(20) },
    { requiredKeys: ["kind", "twice", "junk"] },
  ),
);

/** A session id for the path: a live one, any text (percent-encoded), or a raw path segment such as `%zz`. */
type PathRecipe = { kind: "real"; who: Who } | { kind: "text"; text: string } | { kind: "raw"; segment: string };

const ROUTES = [
  { method: "POST", path: "/auth/login" },
  { method: "POST", path: "/auth/refresh" },
  { method: "POST", path: "/auth/logout" },
  { method: "POST", path: "/auth/logout-all" },
  { method: "GET", path: "/auth/sessions" },
  { method: "DELETE", path: "/auth/sessions/:id" },
  { method: "GET", path: "/me" },
  { method: "POST", path: "/me" },
  { method: "GET", path: "/maybe" },
  { method: "POST", path: "/me/revoke-others" },
] as const;

interface RequestRecipe {
  app: AppName;
  route: number;
  id: PathRecipe;
  authorization?: { scheme: string; token: AccessRecipe };
  cookie?: CookieRecipe;
  origin?: string;
  csrf?: boolean;
  contentType?: string;
  body: BodyRecipe;
}

const requestRecipe: fc.Arbitrary<RequestRecipe> = fc.record(
  {
    app: fc.constantFrom<AppName>("header", "cookie"),
    route: fc.nat({ max: ROUTES.length - 1 }),
    id: fc.oneof(
      fc.record({ kind: fc.constant("real" as const), who }),
      fc.record({ kind: fc.constant("text" as const), text: fc.string({ minLength: 1 }) }),
      fc.record({ kind: fc.constant("raw" as const), segment: fc.constantFrom("%", "%zz", "..", "%2e%2e", "%00", "x".repeat(3000)) }),
    ),
    authorization: fc.record({ scheme: fc.constantFrom("Bearer ", "bearer ", "Bearer  ", "Basic ", "", "Bearer\t"), token: accessRecipe }),
    cookie: cookieRecipe,
    origin: fc.oneof(fc.constantFrom(TRUSTED, "http://evil.example", "null", "http://trusted.example.evil.example"), headerText(60)),
    csrf: fc.boolean(),
    contentType: fc.oneof(
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=latin1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/vnd.api+json",
      ),
      headerText(60),
    ),
    body: bodyRecipe,
  },
  { requiredKeys: ["app", "route", "id", "body"] },
);

// ---- applying a recipe to the live tokens ------------------------------------

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const hs256 = (input: string) => createHmac("sha256", SECRET).update(input).digest("base64url");
const decodePart = (part: string): Record<string, unknown> => {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const flip = (s: string, at: number, char: string) =>
  s.length === 0 ? char : s.slice(0, at % s.length) + char + s.slice((at % s.length) + 1);

function accessToken(recipe: AccessRecipe, live: Live): string {
  switch (recipe.kind) {
    case "real":
      return live.access[recipe.who];
    case "flip":
      return flip(live.access[recipe.who], recipe.at, recipe.char);
    case "cut":
      return live.access[recipe.who].slice(0, recipe.at % live.access[recipe.who].length);
    case "swap":
      return recipe.parts.map(([w, i]) => live.access[w].split(".")[i]).join(".");
    case "header": {
      const [h, p, s] = live.access[recipe.who].split(".");
      const header = b64({ ...decodePart(h), ...recipe.header });
      return recipe.resign ? `${header}.${p}.${hs256(`${header}.${p}`)}` : `${header}.${p}.${s}`;
    }
    case "claims": {
      const [h, p] = live.access[recipe.who].split(".");
      const claims: Record<string, unknown> = { ...decodePart(p) };
      for (const [name, value] of Object.entries(recipe.claims)) claims[name] = value === "__sid_of_bob__" ? live.sid.bob : value;
      const payload = b64(claims);
      return `${h}.${payload}.${hs256(`${h}.${payload}`)}`;
    }
    case "text":
      return recipe.text;
  }
}

function refreshToken(recipe: RefreshRecipe, live: Live): string {
  switch (recipe.kind) {
    case "real":
      return live.refresh[recipe.who];
    case "flip":
      return flip(live.refresh[recipe.who], recipe.at, recipe.char);
    case "part": {
      const parts = live.refresh[recipe.who].split(".");
      parts[recipe.part] = recipe.value;
      return parts.join(".");
    }
    case "borrow": {
      const parts = live.refresh[recipe.who].split(".");
      parts[recipe.part] = live.refresh[recipe.who === "alice" ? "bob" : "alice"].split(".")[recipe.part];
      return parts.join(".");
    }
    case "text":
      return recipe.text;
  }
}

function bodyText(recipe: BodyRecipe, live: Live): string | undefined {
  switch (recipe.kind) {
    case "none":
      return undefined;
    case "json":
      return JSON.stringify(recipe.value);
    case "fields": {
      // Written out by hand, so `__proto__` is a real key of the JSON text.
      const entries: Array<[string, unknown]> = [...recipe.entries];
      if (recipe.refresh) entries.push(["refresh_token", refreshToken(recipe.refresh, live)]);
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`).join(",")}}`;
    }
    case "text":
      return recipe.text;
    case "deep":
      return "[".repeat(recipe.depth) + "]".repeat(recipe.depth);
    case "large":
      return JSON.stringify({ user: "alice", password: PASSWORD, pad: "x".repeat(recipe.bytes) });
    case "login": {
      const claims =
        recipe.claims !== null && typeof recipe.claims === "object" && !Array.isArray(recipe.claims) ? recipe.claims : undefined;
      // Claims written out by hand, so `__proto__` is a real key of the JSON text.
      const claimsText = claims
        ? `{${Object.entries(claims)
            .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`)
            .join(",")}}`
        : (JSON.stringify(recipe.claims) ?? "null");
      return `{"user":${JSON.stringify(recipe.user)},"password":${JSON.stringify(PASSWORD)},"claims":${claimsText},"data":${JSON.stringify(recipe.data) ?? "null"},"remember_me":${JSON.stringify(recipe.rememberMe) ?? "false"}}`;
    }
  }
}

// ---- the run -------------------------------------------------------------------

/**
 * Only the library's surface: cookie-parser, the router, guarded routes
 * and the error handler, with nothing of the app's own (no body parser)
 * that could answer first. Time stands still, so no check is due a touch
 * and a refused request has nothing to write.
 */
function fuzzApp(options: Partial<SessionGuardOptions>): Express {
  const clock = fakeClock();
  const guard = sessionGuard({ secret: SECRET, now: clock.now, ...options });
  const app = express();
  app.use(cookieParser());
  app.use(
    "/auth",
    createSessionRouter(guard, {
      // Claims and data straight from the body, as careless apps pass them on.
      authenticate: (req) =>
        req.body.password === PASSWORD && typeof req.body.user === "string"
          ? { userId: req.body.user, claims: req.body.claims as Record<string, unknown> | undefined, data: req.body.data }
          : null,
    }),
  );
  app.get("/me", guard, (req, res) => res.json({ id: req.session.id }));
  app.post("/me", guard, (req, res) => res.json({ id: req.session.id }));
  app.get("/maybe", guard.optional, (req, res) => res.json({ user: req.session?.userId ?? null }));
  app.post("/me/revoke-others", guard, (req, res, next) => {
    req.session.revokeOthers().then((revoked) => res.json({ revoked }), next);
  });
  app.use(guard.errorHandler);
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: "unexpected", message: err.message });
  });
  return app;
}

interface Server {
  port: number;
  close(): Promise<void>;
  accessName: string;
  refreshName: string;
}

async function serve(app: Express, cookieNames: { access: string; refresh: string }): Promise<Server> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accessName: cookieNames.access,
    refreshName: cookieNames.refresh,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

function send(server: Server, method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  // Framed explicitly: Node's client sends a GET body with neither length nor chunking.
  if (body !== undefined) headers = { ...headers, "content-length": String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: server.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, contentType: res.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("fuzz: arbitrary requests", function () {
  this.timeout(fuzzTimeout(60_000));
  let redis: RedisFixture;
  const servers = {} as Record<AppName, Server>;
  let live: Live;
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);

  /** Logs alice in on the header app and bob on the cookie app, from an empty store. */
  async function freshSessions(): Promise<void> {
    const keys = await redis.keys();
    if (keys.length > 0) await redis.client.del(...keys);
    const login = async (server: Server, user: string) => {
      const res = await send(
        server,
        "POST",
        "/auth/login",
        { "content-type": "application/json", origin: TRUSTED },
        JSON.stringify({ user, password: PASSWORD }),
      );
      expect(res.status, res.body).to.equal(200);
      return JSON.parse(res.body) as { access_token: string; refresh_token: string; session: { id: string } };
    };
    const [a, b] = [await login(servers.header, "alice"), await login(servers.cookie, "bob")];
    live = {
      access: { alice: a.access_token, bob: b.access_token },
      refresh: { alice: a.refresh_token, bob: b.refresh_token },
      sid: { alice: a.session.id, bob: b.session.id },
    };
  }

  /** Every key under the prefix: type, value and absolute expiry time. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const key of await redis.keys()) {
      const type = await redis.client.type(key);
      const value = type === "string" ? await redis.client.get(key) : await redis.client.zrange(key, 0, -1, "WITHSCORES");
      out[key] = { type, value, expiresAt: await redis.client.pexpiretime(key) };
    }
    return out;
  }

  before(async function () {
    redis = await redisFixture();
    const guard = { store: redis.store, trustedOrigins: [TRUSTED] };
    // "both" puts the tokens in the JSON as well as in cookies, so the cookie app's tokens are known.
    servers.header = await serve(fuzzApp(guard), { access: "sg-access", refresh: "sg-refresh" });
    servers.cookie = await serve(fuzzApp({ ...guard, transport: "both" }), { access: "__Host-sg-access", refresh: "__Secure-sg-refresh" });
    process.on("uncaughtException", onCrash);
    process.on("unhandledRejection", onCrash);
    await freshSessions();
  });

  after(async function () {
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    await Promise.all(Object.values(servers).map((s) => s.close()));
    await redis.close();
  });

  it("never a 5xx or a crash; JSON with a documented code; a refused request changes nothing in Redis", async function () {
    await fc.assert(
      fc.asyncProperty(requestRecipe, async (recipe) => {
        const server = servers[recipe.app];
        const route = ROUTES[recipe.route];
        let path: string = route.path;
        if (path.includes(":id")) {
          const id = recipe.id;
          path = path.replace(":id", id.kind === "raw" ? id.segment : encodeURIComponent(id.kind === "real" ? live.sid[id.who] : id.text));
        }
        const headers: Record<string, string> = {};
        if (recipe.authorization) headers.authorization = recipe.authorization.scheme + accessToken(recipe.authorization.token, live);
        if (recipe.cookie) {
          const c = recipe.cookie;
          if (c.kind === "text") headers.cookie = c.text;
          else {
            const pairs: string[] = [];
            if (c.access) pairs.push(`${server.accessName}=${accessToken(c.access, live)}`);
            if (c.refresh) pairs.push(`${server.refreshName}=${refreshToken(c.refresh, live)}`);
            headers.cookie = [...pairs, ...(c.twice ? pairs : []), c.junk].join("; ");
          }
        }
        if (recipe.origin !== undefined) headers.origin = recipe.origin;
        if (recipe.csrf) headers["x-requested-with"] = "XMLHttpRequest";
        if (recipe.contentType !== undefined) headers["content-type"] = recipe.contentType;
        const body = bodyText(recipe.body, live);

        const before = await snapshot();
        const answer = await send(server, route.method, path, headers, body);
        const what = `${route.method} ${path} → ${answer.status} ${answer.body.slice(0, 200)}`;
        expect(answer.status, what).to.be.below(500);
        if (answer.status === 204) expect(answer.body, what).to.equal("");
        else {
          expect(answer.contentType, what).to.match(/^application\/json/);
          const json = JSON.parse(answer.body) as { error?: string };
          if (answer.status >= 400) {
            expect(Object.keys(ERROR_STATUS), what).to.include(json.error);
            expect(ERROR_STATUS[json.error as keyof typeof ERROR_STATUS], what).to.equal(answer.status);
          }
        }
        expect(crashes, "uncaught exceptions and unhandled rejections").to.deep.equal([]);
        if (answer.status >= 400) expect(await snapshot(), `Redis after ${what}`).to.deep.equal(before);
        else await freshSessions(); // it may have logged in, out or rotated: start again from known sessions
      }),
      fuzzParameters(this.test!.fullTitle(), 400),
    );
  });
});
