/**
 * Bad input never yields a 5xx: malformed,
 * oversized, non-JSON and prototype-polluting bodies, non-string fields,
 * and user ids that look like key syntax. Each gets its JSON 400 and leaves
 * Redis as it was.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import express, { type Express } from "express";
import request from "supertest";
import { createSessionRouter, type TokenSet } from "../../lib/index.js";
import { buildApp, expectError, login, me, MOUNT, PASSWORD, redisFixture, refresh, type RedisFixture, type TestApp } from "../http/app.js";

/** Posts raw bytes in chunks (no Content-Length unless given), as supertest cannot. */
async function rawPost(app: Express, path: string, headers: Record<string, string>, body: Buffer, chunk = 1000): Promise<request.Response> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: (server.address() as AddressInfo).port, method: "POST", path, headers },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (c: Buffer) => parts.push(c));
          res.on("end", () => {
            const text = Buffer.concat(parts).toString("utf8");
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = {};
            }
            resolve({ status: res.statusCode, headers: res.headers, text, body: parsed } as unknown as request.Response);
          });
        },
      );
      req.on("error", reject);
      for (let i = 0; i < body.length; i += chunk) req.write(body.subarray(i, i + chunk));
      req.end();
    });
  } finally {
    server.close();
  }
}

describe("request bodies", () => {
  let redis: RedisFixture;
  let t: TestApp;
  let alice: TokenSet;
  before(async () => {
    redis = await redisFixture();
    t = buildApp({ guard: { store: redis.store } });
    alice = await login(t, "alice");
  });
  after(async () => {
    await t.guard.close();
    await redis.close();
  });

  const raw = (path: string, contentType: string, body: string) =>
    request(t.app).post(`${MOUNT}${path}`).set("Content-Type", contentType).send(body);

  const cases: Array<{ name: string; send: () => PromiseLike<request.Response> }> = [
    { name: "malformed JSON", send: () => raw("/login", "application/json", '{"user": "alice", "password": ') },
    { name: "JSON with a trailing comma", send: () => raw("/login", "application/json", '{"user":"alice",}') },
    { name: "a JSON array", send: () => raw("/login", "application/json", `[{"user":"alice","password":"${PASSWORD}"}]`) },
    { name: "a JSON string", send: () => raw("/login", "application/json", '"alice"') },
    { name: "JSON null", send: () => raw("/login", "application/json", "null") },
    { name: "text/plain", send: () => raw("/login", "text/plain", `{"user":"alice","password":"${PASSWORD}"}`) },
    {
      name: "an HTML form post",
      send: () => raw("/login", "application/x-www-form-urlencoded", `user=alice&password=${encodeURIComponent(PASSWORD)}`),
    },
    {
      name: "a JSON body without a content type",
      send: () => request(t.app).post(`${MOUNT}/login`).set("Content-Type", "").send(`{"user":"alice"}`),
    },
    {
      name: "a body over 16 KB",
      send: () =>
        request(t.app)
          .post(`${MOUNT}/login`)
          .send({ user: "alice", password: PASSWORD, pad: "x".repeat(17 * 1024) }),
    },
    {
      name: "a body over 16 KB sent chunked, without a content length",
      send: () =>
        rawPost(
          t.app,
          `${MOUNT}/login`,
          { "content-type": "application/json", "transfer-encoding": "chunked" },
          Buffer.from(JSON.stringify({ user: "alice", password: PASSWORD, pad: "y".repeat(20 * 1024) })),
        ),
    },
    {
      name: "a content length that lies about a large body",
      send: () =>
        rawPost(
          t.app,
          `${MOUNT}/login`,
          { "content-type": "application/json", "content-length": String(40 * 1024) },
          Buffer.from(JSON.stringify({ pad: "y".repeat(40 * 1024 - 10) }).slice(0, 40 * 1024)),
        ),
    },
    {
      name: "a top-level __proto__ key",
      send: () => raw("/login", "application/json", `{"user":"alice","password":"${PASSWORD}","__proto__":{"admin":true}}`),
    },
    {
      name: "a nested __proto__ key",
      send: () => raw("/login", "application/json", `{"user":"alice","password":"${PASSWORD}","x":{"__proto__":{"admin":true}}}`),
    },
    { name: "a __proto__ key on refresh", send: () => raw("/refresh", "application/json", `{"__proto__":{"refresh_token":"x"}}`) },
    { name: "a numeric refresh_token", send: () => request(t.app).post(`${MOUNT}/refresh`).send({ refresh_token: 12345 }) },
    {
      name: "an object refresh_token",
      send: () =>
        request(t.app)
          .post(`${MOUNT}/refresh`)
          .send({ refresh_token: { $gt: "" } }),
    },
    {
      name: "an array refresh_token",
      send: () =>
        request(t.app)
          .post(`${MOUNT}/refresh`)
          .send({ refresh_token: [alice.refresh_token] }),
    },
    { name: "an empty refresh_token", send: () => request(t.app).post(`${MOUNT}/refresh`).send({ refresh_token: "" }) },
    { name: "a non-string refresh_token on logout", send: () => request(t.app).post(`${MOUNT}/logout`).send({ refresh_token: true }) },
    {
      name: "invalid UTF-8",
      send: () =>
        rawPost(
          t.app,
          `${MOUNT}/login`,
          { "content-type": "application/json", "content-length": "8" },
          Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
        ),
    },
    {
      name: "a charset other than UTF-8",
      send: () => raw("/login", "application/json; charset=latin1", `{"user":"alice","password":"${PASSWORD}"}`),
    },
  ];

  for (const c of cases) {
    it(`${c.name}: JSON 400 invalid_request, nothing in Redis changed`, async () => {
      const before = await redis.snapshot();
      const res = await c.send();
      expectError(res, 400, "invalid_request");
      expect(res.text).to.not.match(/<html|<pre/i);
      expect(await redis.snapshot()).to.deep.equal(before);
    });
  }

  it("the session is intact after all of it, and no prototype was polluted", async () => {
    expect(({} as Record<string, unknown>).admin).to.equal(undefined);
    expect((await me(t, alice.access_token)).status).to.equal(200);
    expect((await refresh(t, alice.refresh_token)).status).to.equal(200);
  });

  it("an app that parsed the body itself gets the same checks", async () => {
    const app = express();
    app.use(express.json());
    app.use(MOUNT, createSessionRouter(t.guard, { authenticate: () => ({ userId: "alice" }) }));
    const before = await redis.snapshot();
    for (const body of [`{"x":{"__proto__":{"a":1}}}`, `{"__proto__":{"a":1}}`, "[1]"]) {
      const res = await request(app).post(`${MOUNT}/login`).set("Content-Type", "application/json").send(body);
      expectError(res, 400, "invalid_request");
    }
    const bad = await request(app).post(`${MOUNT}/refresh`).send({ refresh_token: 7 });
    expectError(bad, 400, "invalid_request");
    expect(await redis.snapshot()).to.deep.equal(before);
  });
});

describe("user ids that look like key syntax", () => {
  const IDS = [
    "{a}:b",
    "a}:{b",
    "a b",
    "a",
    "a ",
    " a",
    "ü😀 用户",
    "x".repeat(1024),
    "x".repeat(1023) + "y",
    "sg:{a}:s:b",
    "",
    "0",
  ].filter((id) => id !== "");
  let redis: RedisFixture;
  let t: TestApp;
  before(async () => {
    redis = await redisFixture();
    t = buildApp({ guard: { store: redis.store } });
  });
  after(async () => {
    await t.guard.close();
    await redis.close();
  });

  it("work end to end and stay separate", async () => {
    const sets = new Map<string, TokenSet>();
    for (const id of IDS) sets.set(id, await login(t, id));
    expect(await redis.keys()).to.have.length(2 * IDS.length);
    for (const [id, set] of sets) {
      const who = await me(t, set.access_token);
      expect(who.status).to.equal(200);
      expect(who.body.userId).to.equal(id);
      const list = await request(t.app).get(`${MOUNT}/sessions`).set("Authorization", `Bearer ${set.access_token}`);
      expect(list.body.sessions.map((s: { id: string }) => s.id)).to.deep.equal([set.session.id]);
      const next = await refresh(t, set.refresh_token);
      expect(next.status).to.equal(200);
      sets.set(id, next.body);
    }
    // A global logout of one id touches no other.
    const victim = IDS[0];
    const all = await request(t.app)
      .post(`${MOUNT}/logout-all`)
      .set("Authorization", `Bearer ${sets.get(victim)!.access_token}`);
    expect(all.body).to.deep.equal({ revoked: 1 });
    for (const [id, set] of sets) {
      expect((await me(t, set.access_token)).status, id).to.equal(id === victim ? 401 : 200);
    }
    expect(await redis.keys()).to.have.length(2 * (IDS.length - 1));
  });

  it("a refresh token naming another user's session is just invalid", async () => {
    const a = await login(t, "mallory");
    const b = await login(t, "victim");
    const [, , generation, secret] = a.refresh_token.split(".");
    const [victimUser, victimSid] = b.refresh_token.split(".");
    const [malloryUser] = a.refresh_token.split(".");
    const before = await redis.snapshot();
    for (const forged of [`${victimUser}.${a.session.id}.${generation}.${secret}`, `${malloryUser}.${victimSid}.${generation}.${secret}`]) {
      const res = await refresh(t, forged);
      expect(res.status).to.equal(401);
      expect(res.body.error).to.equal("refresh_token_invalid");
    }
    expect(await redis.snapshot()).to.deep.equal(before);
    expect((await me(t, b.access_token)).status).to.equal(200);
    expect((await me(t, a.access_token)).status).to.equal(200);
  });
});
