/**
 * The stateless fuzzer's inputs: fast-check arbitraries for whole HTTP
 * requests, and how a generated request is rendered into bytes.
 *
 * Generated values never hold a token: they say how to make one from the
 * pool of sessions logged in beforehand ("session 2's access token, bit 5
 * of its payload's byte 17 flipped"; "session 1's claims with `sid` taken
 * from session 3, signed again with the test secret"). The token is made
 * when the request is sent, from the pool of that moment, so a
 * counterexample shrinks to a readable recipe and replays against any pool.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";

/** A session logged in before the run, whose tokens the recipes start from. */
export interface PoolSession {
  /** Index of the app (transport) it was logged in through. */
  app: number;
  user: string;
  sid: string;
  access: string;
  refresh: string;
  /** The refresh generation of `refresh`. */
  generation: number;
  /** The session's refresh seed (the first 16 bytes of the proof). */
  seed: Buffer;
}

/** What rendering needs: the pool, the keys, the clock. */
export interface RenderContext {
  /** The pool, the target app's sessions first. */
  pool: PoolSession[];
  /** The JWT secret (HS256). */
  secret: string;
  /** The refresh-token MAC key. */
  refreshSecret: string;
  /** The fake clock, in seconds. */
  nowSeconds: number;
  /** The app the request goes to (for cookie names). */
  cookieNames: { access: string; refresh: string };
  /** Cookie names of the other apps (a cookie under the wrong name). */
  otherCookieNames: string[];
}

// ---------------------------------------------------------------------------
// Small pieces

const b64 = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/** Any string, as the bytes of its UTF-8, one char per byte: what a header carries when a client sends UTF-8. */
function asHeaderText(text: string): string {
  return Buffer.from(text, "utf8")
    .toString("latin1")
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, "");
}

/** Unicode text of any kind (all code points but lone surrogates), kept short. */
const anyText = (maxLength = 24) => fc.string({ unit: "binary", maxLength });

/** Text for a header value (Node sends only tab, printable ASCII and bytes 0x80-0xff). */
export const headerText = (maxLength = 40) =>
  fc.oneof(anyText(maxLength), fc.string({ unit: "binary-ascii", maxLength })).map(asHeaderText);

/** JSON text of any value: nesting, unicode, lone-surrogate escapes, odd numbers, keys such as `__proto__`. */
export const jsonKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "valueOf",
    "hasOwnProperty",
    "user",
    "password",
    "remember_me",
    "keep_current",
    "refresh_token",
    "claims",
    "data",
    "",
  ),
  anyText(12),
);

const jsonLeaf = fc.oneof(
  fc.constantFrom(
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e308",
    "-1e-308",
    "1e400",
    "123456789012345678901234567890",
    '""',
    '"\\ud800"',
    '"\\udc00x"',
    '"\\u0000"',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  anyText(30).map((s) => JSON.stringify(s)),
);

const jsonTree = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, jsonLeaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 5 }).map((items) => `[${items.join(",")}]`),
  object: fc.array(fc.tuple(jsonKey, tie("value")), { maxLength: 5 }).map((entries) => objectText(entries)),
}));

/** JSON text of any shape. */
export const jsonText: fc.Arbitrary<string> = jsonTree.value;

/** An object's JSON text from its entries in order (duplicates and `__proto__` kept as written). */
function objectText(entries: Array<[string, string]>): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(",")}}`;
}

// ---------------------------------------------------------------------------
// Access tokens

/** A value put into a JWT header or payload. */
export type ValueSpec =
  | { v: "delete" }
  | { v: "json"; json: string }
  | { v: "poolSid"; s: number }
  | { v: "poolSub"; s: number }
  /** Seconds from now. */
  | { v: "fromNow"; d: number }
  /** Seconds from the token's own `iat`. */
  | { v: "fromIat"; d: number };

/** One change to a JWT header or payload; `append` writes a second entry of the same name after the first. */
export interface Edit {
  key: string;
  value: ValueSpec;
  append: boolean;
}

export type SignMode = "HS256" | "HS384" | "HS512" | "keep" | "empty" | "wrongKey";

export type AccessSpec =
  | { t: "real"; s: number }
  /** One bit of one character of the token flipped (ASCII stays ASCII). */
  | { t: "charFlip"; s: number; at: number; bit: number }
  /** One bit of one decoded byte of a part flipped, the part encoded again. */
  | { t: "byteFlip"; s: number; part: number; at: number; bit: number }
  /** Parts taken from another token. */
  | { t: "swap"; s: number; o: number; take: boolean[] }
  /** Parts reordered, repeated or dropped. */
  | { t: "reorder"; s: number; order: number[] }
  | { t: "cut"; s: number; at: number }
  /** Header and claims edited, then signed as `sign` says (HS* with the right key). */
  | { t: "forge"; s: number; header: Edit[]; claims: Edit[]; payload: "object" | { json: string }; sign: SignMode }
  /** A refresh token where an access token belongs. */
  | { t: "refresh"; s: number }
  | { t: "text"; v: string };

/**
 * A pool session: the pool is ordered with the target app's own sessions
 * first, so small indices (the likelier ones) are sessions that app knows.
 */
const poolIndex = fc.oneof({ arbitrary: fc.nat({ max: 3 }), weight: 3 }, { arbitrary: fc.nat({ max: 63 }), weight: 1 });

const valueSpec: fc.Arbitrary<ValueSpec> = fc.oneof(
  fc.constant({ v: "delete" as const }),
  jsonText.map((json) => ({ v: "json" as const, json })),
  poolIndex.map((s) => ({ v: "poolSid" as const, s })),
  poolIndex.map((s) => ({ v: "poolSub" as const, s })),
  fc
    .oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.constantFrom(-31, -30, -29, 0, 29, 30, 31, 899, 900, 901))
    .map((d) => ({ v: "fromNow" as const, d })),
  fc
    .oneof(fc.integer({ min: -2_000, max: 2_000 }), fc.constantFrom(-1, 0, 1, 899, 900, 901, 930, 931))
    .map((d) => ({ v: "fromIat" as const, d })),
);

const headerKey = fc.constantFrom("alg", "typ", "kid", "crit", "jku", "jwk", "x5u", "b64", "cty", "zip", "__proto__", "constructor");
const headerValue: fc.Arbitrary<ValueSpec> = fc.oneof(
  fc
    .constantFrom(
      "none",
      "None",
      "NONE",
      "HS256",
      "HS384",
      "HS512",
      "RS256",
      "ES256",
      "PS256",
      "",
      "at+jwt",
      "AT+JWT",
      "application/at+jwt",
      "JWT",
      "jwt",
    )
    .map((s) => ({ v: "json" as const, json: JSON.stringify(s) })),
  fc.constantFrom('["exp"]', "[]", "false", "null", "1", "{}", '"../../../dev/null"', '"k1"').map((json) => ({ v: "json" as const, json })),
  valueSpec,
);

const claimKey = fc.oneof(
  { arbitrary: fc.constantFrom("sub", "sid", "exp", "iat"), weight: 6 },
  { arbitrary: fc.constantFrom("nbf", "jti", "iss", "aud", "gen", "uid", "role", "typ", "__proto__", "constructor"), weight: 2 },
  { arbitrary: jsonKey, weight: 1 },
);

const edit = (key: fc.Arbitrary<string>, value: fc.Arbitrary<ValueSpec>): fc.Arbitrary<Edit> =>
  fc.record({ key, value, append: fc.boolean() });

const fromNow = (min: number, max: number): fc.Arbitrary<ValueSpec> => fc.integer({ min, max }).map((d) => ({ v: "fromNow" as const, d }));
const fixed = (key: string, value: fc.Arbitrary<ValueSpec>): fc.Arbitrary<Edit> => value.map((v) => ({ key, value: v, append: false }));

/** Claim edits: random ones, or one of the edits that matter most (expiry, lifetime, another session's ids). */
const claimEdits: fc.Arbitrary<Edit[]> = fc.oneof(
  { arbitrary: fc.array(edit(claimKey, valueSpec), { maxLength: 4 }), weight: 4 },
  // Expired, well past or around the 30 s clock tolerance.
  { arbitrary: fc.tuple(fixed("exp", fc.oneof(fromNow(-7200, -31), fromNow(-32, -28)))), weight: 1 },
  // A lifetime around accessTokenTtl (900 s), iat moved with it.
  {
    arbitrary: fc.tuple(
      fixed("iat", fromNow(-100, 0)),
      fc.integer({ min: 898, max: 902 }).map((d) => ({ key: "exp", value: { v: "fromIat" as const, d: d - 0 }, append: false })),
    ),
    weight: 1,
  },
  // Another pool session's sid and/or user: a forgery with the right key.
  {
    arbitrary: fc
      .tuple(
        fixed(
          "sid",
          poolIndex.map((s) => ({ v: "poolSid" as const, s })),
        ),
        fc.option(
          fixed(
            "sub",
            poolIndex.map((s) => ({ v: "poolSub" as const, s })),
          ),
        ),
      )
      .map(([sid, sub]) => (sub === null ? [sid] : [sid, sub])),
    weight: 1,
  },
);

export const accessSpec: fc.Arbitrary<AccessSpec> = fc.oneof(
  { arbitrary: poolIndex.map((s) => ({ t: "real" as const, s })), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant("charFlip" as const), s: poolIndex, at: fc.nat(), bit: fc.nat({ max: 6 }) }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant("byteFlip" as const),
      s: poolIndex,
      part: fc.nat({ max: 2 }),
      at: fc.nat(),
      bit: fc.nat({ max: 7 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant("swap" as const),
      s: poolIndex,
      o: poolIndex,
      take: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ t: fc.constant("reorder" as const), s: poolIndex, order: fc.array(fc.nat({ max: 2 }), { maxLength: 5 }) }),
    weight: 1,
  },
  { arbitrary: fc.record({ t: fc.constant("cut" as const), s: poolIndex, at: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant("forge" as const),
      s: poolIndex,
      header: fc.array(edit(headerKey, headerValue), { maxLength: 3 }),
      claims: claimEdits,
      payload: fc.oneof(
        { arbitrary: fc.constant("object" as const), weight: 6 },
        { arbitrary: jsonText.map((json) => ({ json })), weight: 1 },
      ),
      sign: fc.oneof(
        { arbitrary: fc.constant("HS256" as const), weight: 6 },
        { arbitrary: fc.constantFrom<SignMode>("HS384", "HS512", "keep", "empty", "wrongKey"), weight: 3 },
      ),
    }),
    weight: 6,
  },
  { arbitrary: poolIndex.map((s) => ({ t: "refresh" as const, s })), weight: 1 },
  { arbitrary: fc.oneof(headerText(60), fc.stringMatching(/^[A-Za-z0-9_.-]{0,80}$/)).map((v) => ({ t: "text" as const, v })), weight: 1 },
);

function pick<T>(items: T[], index: number): T {
  return items[index % items.length];
}

/** Decodes a JWT part's JSON into ordered entries (`undefined` when it is not a JSON object). */
function entriesOf(part: string): Array<[string, string]> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    return Object.entries(value).map(([k, v]) => [k, JSON.stringify(v)]);
  } catch {
    return undefined;
  }
}

function applyEdits(entries: Array<[string, string]>, edits: Edit[], ctx: RenderContext, iat: number): Array<[string, string]> {
  let out = entries.slice();
  for (const { key, value, append } of edits) {
    if (value.v === "delete") {
      out = out.filter(([k]) => k !== key);
      continue;
    }
    const json =
      value.v === "json"
        ? value.json
        : value.v === "poolSid"
          ? JSON.stringify(pick(ctx.pool, value.s).sid)
          : value.v === "poolSub"
            ? JSON.stringify(pick(ctx.pool, value.s).user)
            : value.v === "fromNow"
              ? String(ctx.nowSeconds + value.d)
              : String(iat + value.d);
    const at = out.findIndex(([k]) => k === key);
    if (at === -1 || append) out.push([key, json]);
    else out[at] = [key, json];
  }
  return out;
}

function sign(input: string, mode: SignMode, ctx: RenderContext, original: string): string {
  switch (mode) {
    case "keep":
      return `${input}.${original}`;
    case "empty":
      return `${input}.`;
    case "wrongKey":
      return `${input}.${createHmac("sha256", `${ctx.secret}!`).update(input).digest("base64url")}`;
    default:
      return `${input}.${createHmac(`sha${mode.slice(2)}`, ctx.secret)
        .update(input)
        .digest("base64url")}`;
  }
}

/** The token a recipe makes from the pool. */
export function renderAccess(spec: AccessSpec, ctx: RenderContext): string {
  if (spec.t === "text") return spec.v;
  const session = pick(ctx.pool, spec.s);
  const token = session.access;
  const parts = token.split(".");
  switch (spec.t) {
    case "real":
      return token;
    case "charFlip": {
      const at = spec.at % token.length;
      return token.slice(0, at) + String.fromCharCode(token.charCodeAt(at) ^ (1 << spec.bit)) + token.slice(at + 1);
    }
    case "byteFlip": {
      const bytes = Buffer.from(parts[spec.part], "base64url");
      if (bytes.length > 0) bytes[spec.at % bytes.length] ^= 1 << spec.bit;
      parts[spec.part] = b64(bytes);
      return parts.join(".");
    }
    case "swap": {
      const other = pick(ctx.pool, spec.o).access.split(".");
      return parts.map((part, i) => (spec.take[i] ? other[i] : part)).join(".");
    }
    case "reorder":
      return spec.order.map((i) => parts[i]).join(".");
    case "cut":
      return token.slice(0, spec.at % (token.length + 1));
    case "refresh":
      return session.refresh;
    case "forge": {
      const header = entriesOf(parts[0]) ?? [];
      const payload = entriesOf(parts[1]) ?? [];
      const iat = Number(JSON.parse(payload.find(([k]) => k === "iat")?.[1] ?? "0"));
      const headerJson = objectText(applyEdits(header, spec.header, ctx, iat));
      const payloadJson = spec.payload === "object" ? objectText(applyEdits(payload, spec.claims, ctx, iat)) : spec.payload.json;
      return sign(`${b64(headerJson)}.${b64(payloadJson)}`, spec.sign, ctx, parts[2]);
    }
  }
}

// ---------------------------------------------------------------------------
// Refresh tokens

export type RefreshSpec =
  | { t: "real"; s: number }
  /**
   * MAC'd with the right key: a generation relative to the session's
   * current one (or a literal text), the session's own seed or a random one,
   * the user and sid of this or another pool session.
   */
  | { t: "genuine"; s: number; generation: number | { text: string }; seed: "own" | "random"; user: number | null; sid: number | null }
  /** A genuine token `back` generations before the current one, of the `s`-th pool session that was rotated. */
  | { t: "old"; s: number; back: number }
  /** One of the four parts replaced, the MAC left as it was. */
  | { t: "part"; s: number; part: number; value: { from: number } | { text: string } | { bytes: Uint8Array } }
  | { t: "charFlip"; s: number; at: number; bit: number }
  | { t: "shape"; s: number; op: "dropLast" | "extraPart" | "trailingDot" | "leadingDot" | "doubleDot" | "upper" | "pad" | "space" }
  /** An access token where a refresh token belongs. */
  | { t: "access"; s: number }
  | { t: "text"; v: string };

export const refreshSpec: fc.Arbitrary<RefreshSpec> = fc.oneof(
  { arbitrary: poolIndex.map((s) => ({ t: "real" as const, s })), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant("genuine" as const),
      s: poolIndex,
      generation: fc.oneof(
        { arbitrary: fc.constant(0), weight: 3 },
        { arbitrary: fc.constantFrom(1, -1), weight: 3 },
        { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 2 },
        {
          arbitrary: fc
            .constantFrom("01", "-1", "1e3", "999999999999999", "9999999999999999", "9007199254740993", "0x1", "")
            .map((text) => ({ text })),
          weight: 1,
        },
      ),
      seed: fc.constantFrom<"own" | "random">("own", "random"),
      user: fc.option(poolIndex, { freq: 3 }),
      sid: fc.option(poolIndex, { freq: 3 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ t: fc.constant("old" as const), s: poolIndex, back: fc.integer({ min: 1, max: 3 }) }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant("part" as const),
      s: poolIndex,
      part: fc.nat({ max: 3 }),
      value: fc.oneof(
        poolIndex.map((from) => ({ from })),
        fc.oneof(headerText(40), fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/)).map((text) => ({ text })),
        fc.uint8Array({ maxLength: 60 }).map((bytes) => ({ bytes })),
      ),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ t: fc.constant("charFlip" as const), s: poolIndex, at: fc.nat(), bit: fc.nat({ max: 6 }) }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant("shape" as const),
      s: poolIndex,
      op: fc.constantFrom("dropLast", "extraPart", "trailingDot", "leadingDot", "doubleDot", "upper", "pad", "space") as fc.Arbitrary<
        "dropLast" | "extraPart" | "trailingDot" | "leadingDot" | "doubleDot" | "upper" | "pad" | "space"
      >,
    }),
    weight: 1,
  },
  { arbitrary: poolIndex.map((s) => ({ t: "access" as const, s })), weight: 1 },
  { arbitrary: headerText(60).map((v) => ({ t: "text" as const, v })), weight: 1 },
);

/** A refresh token with the right MAC, whatever its parts say. */
export function genuineRefresh(refreshSecret: string, userPart: string, sid: string, generation: string, seed: Buffer): string {
  const head = `${userPart}.${sid}.${generation}`;
  const mac = createHmac("sha256", refreshSecret).update(head).update(".").update(seed).digest();
  return `${head}.${b64(Buffer.concat([seed, mac]))}`;
}

export function renderRefresh(spec: RefreshSpec, ctx: RenderContext): string {
  if (spec.t === "text") return spec.v;
  const session = pick(ctx.pool, spec.s);
  const token = session.refresh;
  const parts = token.split(".");
  switch (spec.t) {
    case "real":
      return token;
    case "genuine": {
      const userPart = b64(Buffer.from(spec.user === null ? session.user : pick(ctx.pool, spec.user).user, "utf8"));
      const sid = spec.sid === null ? session.sid : pick(ctx.pool, spec.sid).sid;
      const generation = typeof spec.generation === "number" ? String(session.generation + spec.generation) : spec.generation.text;
      const seed = spec.seed === "own" ? session.seed : randomSeed(spec);
      return genuineRefresh(ctx.refreshSecret, userPart, sid, generation, seed);
    }
    case "old": {
      const rotated = ctx.pool.filter((p) => p.generation > 0);
      if (rotated.length === 0) return token;
      const old = pick(rotated, spec.s);
      const generation = Math.max(0, old.generation - spec.back);
      return genuineRefresh(ctx.refreshSecret, b64(Buffer.from(old.user, "utf8")), old.sid, String(generation), old.seed);
    }
    case "part": {
      const { value } = spec;
      parts[spec.part] =
        "from" in value
          ? pick(ctx.pool, value.from).refresh.split(".")[spec.part]
          : "text" in value
            ? value.text
            : b64(Buffer.from(value.bytes));
      return parts.join(".");
    }
    case "charFlip": {
      const at = spec.at % token.length;
      return token.slice(0, at) + String.fromCharCode(token.charCodeAt(at) ^ (1 << spec.bit)) + token.slice(at + 1);
    }
    case "shape":
      switch (spec.op) {
        case "dropLast":
          return parts.slice(0, 3).join(".");
        case "extraPart":
          return `${token}.x`;
        case "trailingDot":
          return `${token}.`;
        case "leadingDot":
          return `.${token}`;
        case "doubleDot":
          return parts.join("..");
        case "upper":
          return token.toUpperCase();
        case "pad":
          return `${token}=`;
        case "space":
          return ` ${token} `;
      }
      break;
    case "access":
      return session.access;
  }
  return token;
}

/** A random seed, fixed by the recipe (so a replay makes the same token). */
function randomSeed(spec: object): Buffer {
  const seed = Buffer.alloc(16);
  Buffer.from(createHmac("sha256", "seed").update(JSON.stringify(spec)).digest()).copy(seed);
  return seed;
}

// ---------------------------------------------------------------------------
// Requests

/** The routes of the fuzz app (the router's and the app's own) and a few that lead nowhere. */
export type RouteName = "login" | "refresh" | "logout" | "logoutAll" | "sessions" | "revoke" | "me" | "mePost" | "maybe" | "none";

/** The method each route answers. */
export const ROUTE_METHOD: Record<Exclude<RouteName, "none">, string> = {
  login: "POST",
  refresh: "POST",
  logout: "POST",
  logoutAll: "POST",
  sessions: "GET",
  revoke: "DELETE",
  me: "GET",
  mePost: "POST",
  maybe: "GET",
};

const ROUTE_PATHS: Record<Exclude<RouteName, "none" | "revoke">, string[]> = {
  login: ["/auth/login", "/auth/login/", "/AUTH/Login", "/auth/login?next=%2F"],
  refresh: ["/auth/refresh", "/auth/refresh/", "/auth/REFRESH?x=1"],
  logout: ["/auth/logout", "/auth/logout/", "/Auth/Logout"],
  logoutAll: ["/auth/logout-all", "/auth/logout-all/", "/auth/LOGOUT-ALL"],
  sessions: ["/auth/sessions", "/auth/sessions/", "/auth/Sessions?all=1"],
  me: ["/me", "/me/", "/ME"],
  mePost: ["/me", "/me/"],
  maybe: ["/maybe", "/maybe?x=%"],
};

/** Paths no route serves. */
// Express 4 routes "/auth//login" to the login route (Express 5 does not), so
// that path is a nowhere only on Express 5 (see test/support/express-version.mjs).
const NOWHERE = [
  "/",
  "/auth",
  "/auth/",
  ...(process.env.SESSION_GUARD_TEST_EXPRESS === "4" ? [] : ["/auth//login"]),
  "/auth/login/x",
  "/auth/sessions/a/b",
  "/auth/logout-al",
  "/nope",
  "/me/x",
];

export type IdSpec = { id: "pool"; s: number } | { id: "encoded"; text: string } | { id: "raw"; text: string };

const idSpec: fc.Arbitrary<IdSpec> = fc.oneof(
  { arbitrary: poolIndex.map((s) => ({ id: "pool" as const, s })), weight: 4 },
  { arbitrary: anyText(40).map((text) => ({ id: "encoded" as const, text })), weight: 2 },
  {
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          "%",
          "%zz",
          "%E0%A4%A",
          "%00",
          "%2e%2e",
          "..",
          "%2F",
          "%C0%AF",
          "a%20b",
          "x".repeat(200),
          "AAAAAAAAAAAAAAAAAAAAAAAA",
        ),
        fc.stringMatching(/^[A-Za-z0-9_%.~-]{1,40}$/),
      )
      .map((text) => ({ id: "raw" as const, text })),
    weight: 2,
  },
);

export type PathSpec =
  | { route: Exclude<RouteName, "revoke" | "none">; variant: number }
  | { route: "revoke"; id: IdSpec; slash: boolean }
  | { route: "none"; variant: number };

const pathSpec: fc.Arbitrary<PathSpec> = fc.oneof(
  {
    arbitrary: fc.record({
      route: fc.constantFrom<Exclude<RouteName, "revoke" | "none">>(
        "login",
        "refresh",
        "logout",
        "logoutAll",
        "sessions",
        "me",
        "mePost",
        "maybe",
      ),
      variant: fc.nat({ max: 3 }),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ route: fc.constant("revoke" as const), id: idSpec, slash: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ route: fc.constant("none" as const), variant: fc.nat() }), weight: 1 },
);

export type FieldValue =
  | { f: "password" }
  | { f: "poolUser"; s: number }
  | { f: "refresh"; r: RefreshSpec }
  | { f: "access"; a: AccessSpec }
  | { f: "bool"; b: boolean }
  | { f: "json"; json: string };

const fieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.constant({ f: "password" as const }),
  poolIndex.map((s) => ({ f: "poolUser" as const, s })),
  refreshSpec.map((r) => ({ f: "refresh" as const, r })),
  accessSpec.map((a) => ({ f: "access" as const, a })),
  fc.boolean().map((b) => ({ f: "bool" as const, b })),
  jsonText.map((json) => ({ f: "json" as const, json })),
);

export type BodySpec =
  | { b: "fields"; entries: Array<[string, FieldValue]> }
  | { b: "json"; json: string }
  /** Nested arrays or objects, `depth` deep. */
  | { b: "deep"; depth: number; object: boolean }
  | { b: "bytes"; bytes: Uint8Array }
  /** A login body padded to `size` bytes (over the 16 KB limit or just under it). */
  | { b: "big"; size: number }
  | { b: "empty" };

const loginEntries = fc
  .tuple(
    fc.oneof(
      { arbitrary: poolIndex.map((s) => ({ f: "poolUser" as const, s })), weight: 3 },
      {
        arbitrary: fc
          .oneof(anyText(30), fc.constantFrom("\ud800", "a\udfffb", "x".repeat(2049), "{u}:s:1", " "))
          .map((s) => ({ f: "json" as const, json: JSON.stringify(s) })),
        weight: 2,
      },
      {
        arbitrary: fc.constantFrom('"\\ud800"', '"a\\udfffb"', "1", "null", "[]", "{}").map((json) => ({ f: "json" as const, json })),
        weight: 1,
      },
    ),
    fc.oneof({ arbitrary: fc.constant({ f: "password" as const }), weight: 4 }, { arbitrary: fieldValue, weight: 1 }),
    fc.array(
      fc.oneof(
        fc.tuple(fc.constantFrom("remember_me", "claims", "data", "__proto__", "constructor", "user", "password"), fieldValue),
        // Claims for `authenticate` to pass on: an object with odd names (reserved, prototype members, unicode).
        fc
          .array(fc.tuple(fc.oneof(claimKey, jsonKey), jsonLeaf), { maxLength: 4 })
          .map((entries): [string, FieldValue] => ["claims", { f: "json", json: objectText(entries) }]),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([user, password, extra]): Array<[string, FieldValue]> => [["user", user], ["password", password], ...extra]);

export const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  { arbitrary: loginEntries.map((entries) => ({ b: "fields" as const, entries })), weight: 4 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom("refresh_token", "keep_current"), fieldValue, fc.array(fc.tuple(jsonKey, fieldValue), { maxLength: 2 }))
      .map(([key, value, extra]) => ({ b: "fields" as const, entries: [[key, value], ...extra] as Array<[string, FieldValue]> })),
    weight: 4,
  },
  { arbitrary: fc.array(fc.tuple(jsonKey, fieldValue), { maxLength: 5 }).map((entries) => ({ b: "fields" as const, entries })), weight: 2 },
  { arbitrary: jsonText.map((json) => ({ b: "json" as const, json })), weight: 2 },
  { arbitrary: fc.record({ b: fc.constant("deep" as const), depth: fc.integer({ min: 30, max: 8000 }), object: fc.boolean() }), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ b: "bytes" as const, bytes })), weight: 1 },
  { arbitrary: fc.integer({ min: 16_300, max: 17_000 }).map((size) => ({ b: "big" as const, size })), weight: 1 },
  { arbitrary: fc.constant({ b: "empty" as const }), weight: 1 },
);

export type AuthSpec = { scheme: string; sep: string; token: { a: AccessSpec } | { r: RefreshSpec }; tail: string } | { raw: string };

const authSpec: fc.Arbitrary<AuthSpec> = fc.oneof(
  {
    arbitrary: fc.record({
      scheme: fc.oneof(
        { arbitrary: fc.constant("Bearer"), weight: 8 },
        { arbitrary: fc.constantFrom("bearer", "BEARER", "Basic", "Token", "Bearer:", ""), weight: 2 },
      ),
      sep: fc.oneof({ arbitrary: fc.constant(" "), weight: 8 }, { arbitrary: fc.constantFrom("  ", "\t", "", " \t "), weight: 2 }),
      token: fc.oneof({ arbitrary: accessSpec.map((a) => ({ a })), weight: 5 }, { arbitrary: refreshSpec.map((r) => ({ r })), weight: 1 }),
      tail: fc.oneof(
        { arbitrary: fc.constant(""), weight: 8 },
        { arbitrary: fc.constantFrom(" ", " x", ",", "\t", " Bearer y"), weight: 2 },
      ),
    }),
    weight: 6,
  },
  { arbitrary: headerText(80).map((raw) => ({ raw })), weight: 1 },
);

export type CookieValue =
  { c: "access"; a: AccessSpec; encode: boolean } | { c: "refresh"; r: RefreshSpec; encode: boolean } | { c: "text"; v: string };

export interface CookieSpec {
  /** The app's access or refresh cookie, another app's name for it, or any name. */
  name: "access" | "refresh" | { other: number } | { text: string };
  value: CookieValue;
}

const cookieValue: fc.Arbitrary<CookieValue> = fc.oneof(
  { arbitrary: fc.record({ c: fc.constant("access" as const), a: accessSpec, encode: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ c: fc.constant("refresh" as const), r: refreshSpec, encode: fc.boolean() }), weight: 3 },
  {
    arbitrary: fc
      .oneof(
        jsonText.map((json) => `j:${json}`),
        fc.constantFrom("j:{}", 'j:"x"', "j:[1]", "j:null", "s:abc.def", '"quoted"', "%zz", "%", "", "a=b", "%E2%82"),
        headerText(30),
      )
      .map((v) => ({ c: "text" as const, v })),
    weight: 2,
  },
);

const cookieSpec: fc.Arbitrary<CookieSpec> = fc.record({
  name: fc.oneof(
    { arbitrary: fc.constantFrom<"access" | "refresh">("access", "refresh"), weight: 6 },
    { arbitrary: fc.nat({ max: 5 }).map((other) => ({ other })), weight: 1 },
    { arbitrary: fc.stringMatching(/^[A-Za-z0-9_$-]{1,12}$/).map((text) => ({ text })), weight: 1 },
  ),
  value: cookieValue,
});

export interface RequestSpec {
  app: number;
  path: PathSpec;
  /** `null`: the route's own method. */
  method: string | null;
  authorization: AuthSpec[];
  cookies: { list: CookieSpec[]; separator: string } | { raw: string } | null;
  origin: string | null;
  csrf: string | null;
  contentType: string | null;
  body: BodySpec | null;
  chunked: boolean;
}

export const TRUSTED_ORIGIN = "https://app.example";

/**
 * A whole request. `apps`: how many apps there are. Half the requests are
 * "focused": the route's method, a JSON body of the route's fields, one
 * token where the transport expects it and a trusted origin, so that one
 * mutated token or field meets the code behind the checks; the other half
 * vary every part at once.
 */
export function requestSpec(apps: number): fc.Arbitrary<RequestSpec> {
  return fc.oneof(focusedSpec(apps), chaosSpec(apps));
}

const routeBody: Record<Exclude<RouteName, "none">, fc.Arbitrary<BodySpec | null>> = {
  login: loginEntries.map((entries) => ({ b: "fields" as const, entries })),
  refresh: refreshSpec.map((r) => ({
    b: "fields" as const,
    entries: [["refresh_token", { f: "refresh" as const, r }]] as Array<[string, FieldValue]>,
  })),
  logout: fc.option(
    refreshSpec.map((r) => ({
      b: "fields" as const,
      entries: [["refresh_token", { f: "refresh" as const, r }]] as Array<[string, FieldValue]>,
    })),
  ),
  logoutAll: fc.option(
    fc
      .boolean()
      .map((b) => ({ b: "fields" as const, entries: [["keep_current", { f: "bool" as const, b }]] as Array<[string, FieldValue]> })),
  ),
  sessions: fc.constant(null),
  revoke: fc.constant(null),
  me: fc.constant(null),
  mePost: fc.constant(null),
  maybe: fc.constant(null),
};

function focusedSpec(apps: number): fc.Arbitrary<RequestSpec> {
  return fc
    .record({
      app: fc.nat({ max: apps - 1 }),
      path: pathSpec.filter((p) => p.route !== "none"),
      via: fc.constantFrom<"header" | "cookie">("header", "cookie"),
      access: fc.option(accessSpec, { freq: 6 }),
      refreshCookie: fc.option(refreshSpec, { freq: 2 }),
      csrf: fc.oneof(
        { arbitrary: fc.constant("origin" as const), weight: 3 },
        { arbitrary: fc.constantFrom<"header" | "none">("header", "none"), weight: 1 },
      ),
      chunked: fc.boolean(),
    })
    .chain((f) => {
      const route = f.path.route as Exclude<RouteName, "none">;
      return routeBody[route].map((body): RequestSpec => {
        const cookies: CookieSpec[] = [];
        if (f.access !== null && f.via === "cookie") cookies.push({ name: "access", value: { c: "access", a: f.access, encode: false } });
        if (f.refreshCookie !== null) cookies.push({ name: "refresh", value: { c: "refresh", r: f.refreshCookie, encode: false } });
        return {
          app: f.app,
          path: f.path,
          method: null,
          authorization: f.access !== null && f.via === "header" ? [{ scheme: "Bearer", sep: " ", token: { a: f.access }, tail: "" }] : [],
          cookies: cookies.length === 0 ? null : { list: cookies, separator: "; " },
          origin: f.csrf === "origin" ? TRUSTED_ORIGIN : null,
          csrf: f.csrf === "header" ? "XMLHttpRequest" : null,
          contentType: body === null ? null : "application/json",
          body,
          chunked: f.chunked,
        };
      });
    });
}

function chaosSpec(apps: number): fc.Arbitrary<RequestSpec> {
  return fc.record({
    app: fc.nat({ max: apps - 1 }),
    path: pathSpec,
    method: fc.oneof(
      { arbitrary: fc.constant(null), weight: 9 },
      { arbitrary: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"), weight: 1 },
    ),
    authorization: fc.oneof(
      { arbitrary: fc.constant<AuthSpec[]>([]), weight: 3 },
      { arbitrary: authSpec.map((a) => [a]), weight: 6 },
      { arbitrary: fc.array(authSpec, { minLength: 2, maxLength: 2 }), weight: 1 },
    ),
    cookies: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      {
        arbitrary: fc.record({
          list: fc.array(cookieSpec, { minLength: 1, maxLength: 3 }),
          separator: fc.constantFrom("; ", "; ", ";", ", ", " ; "),
        }),
        weight: 4,
      },
      { arbitrary: headerText(80).map((raw) => ({ raw })), weight: 1 },
    ),
    origin: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      {
        arbitrary: fc.constantFrom(
          TRUSTED_ORIGIN,
          `${TRUSTED_ORIGIN}/`,
          "http://app.example",
          "https://APP.example",
          "https://app.example:443",
          "https://evil.example",
          "null",
          "",
        ),
        weight: 3,
      },
      { arbitrary: headerText(30), weight: 1 },
    ),
    csrf: fc.oneof(
      { arbitrary: fc.constant(null), weight: 2 },
      { arbitrary: fc.constantFrom("XMLHttpRequest", "1", ""), weight: 1 },
      { arbitrary: headerText(20), weight: 1 },
    ),
    contentType: fc.oneof(
      { arbitrary: fc.constant("application/json"), weight: 6 },
      {
        arbitrary: fc.constantFrom(
          null,
          "application/json; charset=utf-8",
          "application/json;charset=UTF-8",
          'application/json; charset="utf-8"',
          "application/json; charset=latin1",
          "APPLICATION/JSON",
          "application/json, text/plain",
          "application/merge-patch+json",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "",
        ),
        weight: 3,
      },
      { arbitrary: headerText(40), weight: 1 },
    ),
    body: fc.oneof({ arbitrary: fc.constant(null), weight: 1 }, { arbitrary: bodySpec, weight: 4 }),
    chunked: fc.boolean(),
  });
}

/** A request ready to send. */
export interface RenderedRequest {
  method: string;
  path: string;
  route: RouteName;
  /** Raw header pairs, duplicates kept. */
  headers: Array<[string, string]>;
  body: Buffer | null;
  chunked: boolean;
  /** Every token string put into the request (none may come back in an error message). */
  tokens: string[];
}

function renderField(value: FieldValue, ctx: RenderContext, tokens: string[], password: string): string {
  switch (value.f) {
    case "password":
      return JSON.stringify(password);
    case "poolUser":
      return JSON.stringify(pick(ctx.pool, value.s).user);
    case "refresh": {
      const token = renderRefresh(value.r, ctx);
      tokens.push(token);
      return JSON.stringify(token);
    }
    case "access": {
      const token = renderAccess(value.a, ctx);
      tokens.push(token);
      return JSON.stringify(token);
    }
    case "bool":
      return String(value.b);
    case "json":
      return value.json;
  }
}

function renderBody(spec: BodySpec, ctx: RenderContext, tokens: string[], password: string): Buffer {
  switch (spec.b) {
    case "fields":
      return Buffer.from(objectText(spec.entries.map(([key, value]) => [key, renderField(value, ctx, tokens, password)])), "utf8");
    case "json":
      return Buffer.from(spec.json, "utf8");
    case "deep":
      return Buffer.from(
        spec.object ? `${'{"a":'.repeat(spec.depth)}1${"}".repeat(spec.depth)}` : `${"[".repeat(spec.depth)}${"]".repeat(spec.depth)}`,
      );
    case "bytes":
      return Buffer.from(spec.bytes);
    case "big": {
      const head = `{"user":${JSON.stringify(ctx.pool[0].user)},"password":${JSON.stringify(password)},"pad":"`;
      return Buffer.from(`${head}${"x".repeat(Math.max(0, spec.size - head.length - 2))}"}`);
    }
    case "empty":
      return Buffer.alloc(0);
  }
}

function renderPath(spec: PathSpec, ctx: RenderContext): string {
  if (spec.route === "none") return pick(NOWHERE, spec.variant);
  if (spec.route === "revoke") {
    const { id } = spec;
    const text = id.id === "pool" ? pick(ctx.pool, id.s).sid : id.id === "encoded" ? encodeURIComponent(id.text) : id.text;
    return `/auth/sessions/${text}${spec.slash ? "/" : ""}`;
  }
  return pick(ROUTE_PATHS[spec.route], spec.variant);
}

/**
 * The route that serves a method and path, as Express matches them (paths
 * without regard to case, one trailing slash allowed, HEAD served by GET
 * routes), or `"none"`.
 */
export function routeFor(method: string, path: string): RouteName {
  const query = path.indexOf("?");
  let p = query === -1 ? path : path.slice(0, query);
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  const lower = p.toLowerCase();
  const get = method === "GET" || method === "HEAD";
  if (lower === "/auth/login" && method === "POST") return "login";
  if (lower === "/auth/refresh" && method === "POST") return "refresh";
  if (lower === "/auth/logout" && method === "POST") return "logout";
  if (lower === "/auth/logout-all" && method === "POST") return "logoutAll";
  if (lower === "/auth/sessions" && get) return "sessions";
  if (/^\/auth\/sessions\/[^/]+$/.test(lower) && method === "DELETE") return "revoke";
  if (lower === "/me" && get) return "me";
  if (lower === "/me" && method === "POST") return "mePost";
  if (lower === "/maybe" && get) return "maybe";
  return "none";
}

/** Renders a request recipe into method, path, raw headers and body. */
export function renderRequest(spec: RequestSpec, ctx: RenderContext, password: string): RenderedRequest {
  const tokens: string[] = [];
  const path = renderPath(spec.path, ctx);
  const method = spec.method ?? (spec.path.route === "none" ? "GET" : ROUTE_METHOD[spec.path.route]);
  const route = routeFor(method, path);
  const headers: Array<[string, string]> = [];
  for (const auth of spec.authorization) {
    if ("raw" in auth) {
      headers.push(["Authorization", auth.raw]);
      continue;
    }
    const token = "a" in auth.token ? renderAccess(auth.token.a, ctx) : renderRefresh(auth.token.r, ctx);
    tokens.push(token);
    headers.push(["Authorization", asHeaderText(`${auth.scheme}${auth.sep}${token}${auth.tail}`)]);
  }
  if (spec.cookies !== null) {
    if ("raw" in spec.cookies) headers.push(["Cookie", spec.cookies.raw]);
    else {
      const pairs = spec.cookies.list.map(({ name, value }) => {
        const cookieName =
          name === "access"
            ? ctx.cookieNames.access
            : name === "refresh"
              ? ctx.cookieNames.refresh
              : "other" in name
                ? pick(ctx.otherCookieNames, name.other)
                : name.text;
        let text: string;
        if (value.c === "text") text = value.v;
        else {
          const token = value.c === "access" ? renderAccess(value.a, ctx) : renderRefresh(value.r, ctx);
          tokens.push(token);
          text = value.encode ? encodeURIComponent(token) : token;
        }
        return `${cookieName}=${text}`;
      });
      headers.push(["Cookie", asHeaderText(pairs.join(spec.cookies.separator))]);
    }
  }
  if (spec.origin !== null) headers.push(["Origin", spec.origin]);
  if (spec.csrf !== null) headers.push(["X-Requested-With", spec.csrf]);
  const body = spec.body === null ? null : renderBody(spec.body, ctx, tokens, password);
  if (body !== null && spec.contentType !== null) headers.push(["Content-Type", spec.contentType]);
  // Node frames a body of its own accord only for some methods: say how, always.
  if (body !== null) headers.push(spec.chunked ? ["Transfer-Encoding", "chunked"] : ["Content-Length", String(body.length)]);
  return { method, path, route, headers, body, chunked: body !== null && spec.chunked, tokens: tokens.filter((t) => t.length >= 16) };
}
