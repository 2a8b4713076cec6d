/**
 * Access tokens are checked strictly: every crafted,
 * forged or malformed token gets its 4xx JSON error with the right
 * `WWW-Authenticate`, costs no store round trip when the JWT check rejects
 * it, and changes nothing in Redis.
 */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import jwt from "jsonwebtoken";
import request from "supertest";
import type { TokenSet } from "../../lib/index.js";
import { EPOCH } from "../support/clock.js";
import { commandCount } from "../support/redis-server.js";
import { buildApp, expectError, login, me, redisFixture, SECRET, type RedisFixture, type TestApp } from "../http/app.js";
import { hmacToken, rawToken, unsigned } from "./forge.js";

const OLD_SECRET = "retired-secret-0123456789-abcdefghijklmnopqrstuv";
const OTHER_SECRET = "another-secret-0123456789-abcdefghijklmnopqrstuv";
const ISSUER = "https://issuer.example";
const AUDIENCE = "api.example";
const NOW = EPOCH / 1000;
const HEADER = { alg: "HS256", typ: "at+jwt", kid: "k2" };

interface Case {
  name: string;
  /** The Authorization header value, built from a live session of alice. */
  header: (ctx: { alice: TokenSet; bob: TokenSet; claims: Record<string, unknown> }) => string;
  status: number;
  code: string;
  /** True when the JWT check alone rejects it (no store round trip). */
  noRoundTrip?: boolean;
}

describe("access token checks", () => {
  let redis: RedisFixture;
  let t: TestApp;
  let alice: TokenSet;
  let bob: TokenSet;
  let claims: Record<string, unknown>;

  before(async () => {
    redis = await redisFixture();
    t = buildApp({
      guard: {
        store: redis.store,
        jwt: {
          secret: SECRET,
          keyId: "k2",
          issuer: ISSUER,
          audience: AUDIENCE,
          verifyKeys: [{ kid: "k1", key: OLD_SECRET, algorithm: "HS256" }],
        },
      },
    });
    alice = await login(t, "alice");
    bob = await login(t, "bob");
    claims = { sub: "alice", sid: alice.session.id, jti: "j1", iat: NOW, exp: NOW + 900, iss: ISSUER, aud: AUDIENCE };
    expect((await me(t, alice.access_token)).status).to.equal(200); // warm-up
    expect(Object.keys(await redis.snapshot())).to.have.length(4); // two sessions, two indexes
  });
  after(async () => {
    await t.guard.close();
    await redis.close();
  });

  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = HEADER, key: string | Buffer = SECRET) =>
    hmacToken(header, payload, key);
  const with_ = (changes: Record<string, unknown>) => {
    const payload = { ...claims, ...changes };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    return payload;
  };

  const cases: Case[] = [
    {
      name: "alg none without a signature",
      header: () => `Bearer ${unsigned({ alg: "none", typ: "at+jwt" }, claims)}.`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "alg none with a junk signature",
      header: () => `Bearer ${rawToken({ alg: "none", typ: "at+jwt" }, claims, "AAAA")}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a wrong signature",
      header: () => `Bearer ${sign(claims, HEADER, OTHER_SECRET)}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a tampered payload",
      header: ({ alice }) => {
        const [h, , s] = alice.access_token.split(".");
        return `Bearer ${h}.${unsigned({}, with_({ role: "admin" })).split(".")[1]}.${s}`;
      },
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "HS384 under an HS256 key",
      header: () => `Bearer ${hmacToken({ ...HEADER, alg: "HS384" }, claims, SECRET, 384)}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a wrong iss",
      header: () => `Bearer ${sign(with_({ iss: "https://evil.example" }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    { name: "no iss", header: () => `Bearer ${sign(with_({ iss: undefined }))}`, status: 401, code: "token_invalid", noRoundTrip: true },
    {
      name: "a wrong aud",
      header: () => `Bearer ${sign(with_({ aud: "other-api" }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a future nbf",
      header: () => `Bearer ${sign(with_({ nbf: NOW + 120 }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a future iat",
      header: () => `Bearer ${sign(with_({ iat: NOW + 120, exp: NOW + 1000 }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "exp - iat longer than accessTokenTtl",
      header: () => `Bearer ${sign(with_({ exp: NOW + 3600 }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    { name: "no exp", header: () => `Bearer ${sign(with_({ exp: undefined }))}`, status: 401, code: "token_invalid", noRoundTrip: true },
    { name: "no iat", header: () => `Bearer ${sign(with_({ iat: undefined }))}`, status: 401, code: "token_invalid", noRoundTrip: true },
    {
      name: "a string exp",
      header: () => `Bearer ${sign(with_({ exp: String(NOW + 900) }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "an expired token",
      header: () => `Bearer ${sign(with_({ iat: NOW - 1000, exp: NOW - 100 }))}`,
      status: 401,
      code: "token_expired",
      noRoundTrip: true,
    },
    {
      name: "no typ",
      header: () => `Bearer ${sign(claims, { alg: "HS256", kid: "k2" })}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "typ JWT",
      header: () => `Bearer ${sign(claims, { ...HEADER, typ: "JWT" })}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    // crit (RFC 7515 §4.1.11): no extension is understood, so any crit is refused.
    ...(
      [
        ["crit naming an extension", { ...HEADER, crit: ["x-policy"], "x-policy": "strict" }],
        ["crit b64 (RFC 7797, not supported)", { ...HEADER, crit: ["b64"], b64: true }],
        ["an empty crit", { ...HEADER, crit: [] }],
        ["a crit that is a string", { ...HEADER, crit: "exp" }],
        ["a crit that is null", { ...HEADER, crit: null }],
      ] as const
    ).map(([name, header]) => ({
      name,
      header: () => `Bearer ${sign(claims, header)}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    })),
    {
      name: "an unknown kid",
      header: () => `Bearer ${sign(claims, { ...HEADER, kid: "k9" })}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a non-string kid",
      header: () => `Bearer ${sign(claims, { ...HEADER, kid: 2 })}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a retired key without its kid",
      header: () => `Bearer ${sign(claims, { alg: "HS256", typ: "at+jwt" }, OLD_SECRET)}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "the current key under the retired kid",
      header: () => `Bearer ${sign(claims, { ...HEADER, kid: "k1" })}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    { name: "a numeric sub", header: () => `Bearer ${sign(with_({ sub: 42 }))}`, status: 401, code: "token_invalid", noRoundTrip: true },
    {
      name: "an object sid",
      header: () => `Bearer ${sign(with_({ sid: { $ne: "" } }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    { name: "no sid", header: () => `Bearer ${sign(with_({ sid: undefined }))}`, status: 401, code: "token_invalid", noRoundTrip: true },
    { name: "an empty sub", header: () => `Bearer ${sign(with_({ sub: "" }))}`, status: 401, code: "token_invalid", noRoundTrip: true },
    {
      name: "a payload that is not an object",
      header: () => `Bearer ${hmacToken(HEADER, "[1,2]", SECRET)}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a header that is not JSON",
      header: () => {
        const p = unsigned({}, claims).split(".")[1];
        return `Bearer ${Buffer.from("{nope").toString("base64url")}.${p}.AAAA`;
      },
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "two segments",
      header: ({ alice }) => `Bearer ${alice.access_token.split(".").slice(0, 2).join(".")}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "non-base64url characters",
      header: ({ alice }) => `Bearer ${alice.access_token.replace(".", ".=")}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "an oversized (> 8 KB) validly signed token",
      header: () => `Bearer ${sign(with_({ pad: "x".repeat(8300) }))}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "a refresh token as the access token",
      header: ({ alice }) => `Bearer ${alice.refresh_token}`,
      status: 401,
      code: "token_invalid",
      noRoundTrip: true,
    },
    {
      name: "another user's sid under a valid signature",
      header: ({ bob }) => `Bearer ${sign(with_({ sid: bob.session.id }))}`,
      status: 401,
      code: "session_inactive",
    },
    {
      name: "a sid that never existed",
      header: () => `Bearer ${sign(with_({ sid: "AAAAAAAAAAAAAAAAAAAAAAAA" }))}`,
      status: 401,
      code: "session_inactive",
    },
    { name: "a sid with key syntax in it", header: () => `Bearer ${sign(with_({ sid: "x}:i" }))}`, status: 401, code: "session_inactive" },
    {
      name: "a Bearer header with two tokens",
      header: ({ alice }) => `Bearer ${alice.access_token} ${alice.access_token}`,
      status: 400,
      code: "invalid_request",
      noRoundTrip: true,
    },
    { name: "a Bearer header with no token", header: () => "Bearer ", status: 400, code: "invalid_request", noRoundTrip: true },
    { name: "another scheme", header: ({ alice }) => `Basic ${alice.access_token}`, status: 401, code: "token_missing", noRoundTrip: true },
    {
      name: "a scheme that only starts with Bearer",
      header: ({ alice }) => `Bearerx ${alice.access_token}`,
      status: 401,
      code: "token_missing",
      noRoundTrip: true,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}, nothing in Redis changed`, async () => {
      const before = await redis.snapshot();
      const scriptsBefore = await commandCount(redis.client, ["evalsha", "eval"]);
      const res = await request(t.app).get("/me").set("Authorization", c.header({ alice, bob, claims }));
      const scripts = (await commandCount(redis.client, ["evalsha", "eval"])) - scriptsBefore;
      const presented = c.code !== "token_missing";
      expectError(res, c.status, c.code, { tokenPresented: presented });
      if (c.status === 400) expect(res.headers["www-authenticate"]).to.equal('Bearer realm="session-guard", error="invalid_request"');
      if (c.noRoundTrip) expect(scripts, "store round trips").to.equal(0);
      expect(await redis.snapshot()).to.deep.equal(before);
      expect(JSON.stringify(res.body)).to.not.include(alice.access_token.split(".")[2]);
    });
  }

  it("the good token passes, with the Bearer scheme in any case", async () => {
    for (const scheme of ["Bearer", "bearer", "bEaReR", "BEARER"]) {
      const res = await request(t.app).get("/me").set("Authorization", `${scheme} ${alice.access_token}`);
      expect(res.status, scheme).to.equal(200);
      expect(res.body.userId).to.equal("alice");
    }
    expect((await me(t, bob.access_token)).status).to.equal(200);
  });

  it("typ application/at+jwt is accepted", async () => {
    const res = await me(t, sign(claims, { ...HEADER, typ: "application/at+jwt" }));
    expect(res.status).to.equal(200);
  });

  it("a token of a retired key verifies under its kid during a rotation", async () => {
    const res = await me(t, sign(claims, { ...HEADER, kid: "k1" }, OLD_SECRET));
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(alice.session.id);
  });

  it("issued tokens carry the configured iss, aud and kid", () => {
    const decoded = jwt.decode(alice.access_token, { complete: true })!;
    expect(decoded.header).to.deep.equal({ alg: "HS256", typ: "at+jwt", kid: "k2" });
    expect(decoded.payload).to.include({ iss: ISSUER, aud: AUDIENCE, sub: "alice" });
  });
});

describe("algorithm confusion", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
  let t: TestApp;
  let alice: TokenSet;
  before(async () => {
    t = buildApp({ guard: { jwt: { algorithm: "RS256", privateKey } } });
    alice = await login(t, "alice");
  });
  after(async () => {
    await t.guard.close();
  });

  it("an RS256 guard issues RS256 tokens that pass", async () => {
    expect(jwt.decode(alice.access_token, { complete: true })!.header.alg).to.equal("RS256");
    expect((await me(t, alice.access_token)).status).to.equal(200);
  });

  it("a token signed HS256 with the RSA public key PEM as secret is token_invalid", async () => {
    const payload = { sub: "alice", sid: alice.session.id, jti: "x", iat: NOW, exp: NOW + 900 };
    for (const key of [publicPem, publicPem.trim(), Buffer.from(publicKey.export({ type: "spki", format: "der" }))]) {
      const forged = hmacToken({ alg: "HS256", typ: "at+jwt" }, payload, key);
      expectError(await me(t, forged), 401, "token_invalid", { tokenPresented: true });
    }
    expect(await t.guard.sessions.list("alice")).to.have.length(1);
  });

  it("alg none against an RS256 guard is token_invalid", async () => {
    const payload = { sub: "alice", sid: alice.session.id, jti: "x", iat: NOW, exp: NOW + 900 };
    expectError(await me(t, rawToken({ alg: "none", typ: "at+jwt" }, payload, "x")), 401, "token_invalid", { tokenPresented: true });
  });
});
