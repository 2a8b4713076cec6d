// Regressions from a security review: each case once got past one of the documented rules.
import cookieParser from "cookie-parser";
import express from "express";
import { expect } from "chai";
import request from "supertest";
import { createSessionRouter, MemoryStore, SessionError, sessionGuard } from "../../lib/index.js";
import { buildApp, expectError, login, me, MOUNT, PASSWORD, redisFixture, refresh, SECRET, setCookies } from "../http/app.js";
import { fakeClock } from "../support/clock.js";

describe("security regressions", () => {
  it("a form body the app parsed before the router is still refused at login (login CSRF)", async () => {
    const store = new MemoryStore({ sweepInterval: 0 });
    const guard = sessionGuard({ store, secret: SECRET, transport: "cookie", now: fakeClock().now });
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(cookieParser());
    app.use("/auth", createSessionRouter(guard, { authenticate: (req) => ({ userId: String(req.body.user) }) }));
    const res = await request(app).post("/auth/login").type("form").send({ user: "attacker" });
    expectError(res, 400, "invalid_request");
    expect(res.headers["set-cookie"]).to.equal(undefined);
    expect(store.size).to.equal(0);
    // The same app still takes JSON.
    expect((await request(app).post("/auth/login").send({ user: "alice" })).status).to.equal(200);
    expect(store.size).to.equal(1);
  });

  it("user ids with lone surrogates cannot share keys: refused at login and by the manager", async () => {
    const t = buildApp({ router: { authenticate: (req) => ({ userId: String(req.body.user) }) } });
    const victim = await login(t, "bob\uD800@example.com".replace("\uD800", "\uD83D\uDE00"));
    for (const user of ["bob\uD800@example.com", "bob\uDC00@example.com"]) {
      const res = await request(t.app)
        .post(`${MOUNT}/login`)
        .set("content-type", "application/json")
        .send(`{"user":${JSON.stringify(user)},"password":"${PASSWORD}"}`);
      expectError(res, 400, "invalid_request");
      let thrown: unknown;
      try {
        await t.guard.sessions.list(user);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.be.instanceOf(TypeError);
    }
    expect((await me(t, victim.access_token)).status).to.equal(200);
    expect((t.store as MemoryStore).size).to.equal(1);
  });

  it("an onError that throws on the asynchronous path reaches Express instead of hanging", async () => {
    const t = buildApp({
      guard: {
        onError: () => {
          throw new Error("onError failed");
        },
      },
    });
    const tokens = await login(t, "alice");
    await t.guard.sessions.revokeAll("alice");
    const res = await me(t, tokens.access_token).timeout(3000);
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({ error: "unexpected", message: "onError failed" });
  });

  it("a session id that is not valid percent-encoding is a JSON 400, not Express's HTML page", async () => {
    const t = buildApp();
    const tokens = await login(t, "alice");
    for (const path of [`${MOUNT}/sessions/%`, `${MOUNT}/sessions/%E0%A4%A`]) {
      const res = await request(t.app).delete(path).set("Authorization", `Bearer ${tokens.access_token}`);
      expectError(res, 400, "invalid_request");
    }
    expect((await me(t, tokens.access_token)).status).to.equal(200);
  });

  it("logout of a session already ended still clears both cookies", async () => {
    const t = buildApp({ guard: { transport: "cookie" } });
    const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
    const cookies = setCookies(res);
    const header = Object.entries(cookies)
      .map(([name, c]) => `${name}=${c.value}`)
      .join("; ");
    await t.guard.sessions.revokeAll("alice");
    const out = await request(t.app).post(`${MOUNT}/logout`).set("Cookie", header).set("X-Requested-With", "fetch");
    expectError(out, 401, "session_inactive", { tokenPresented: true });
    const cleared = setCookies(out);
    expect(Object.keys(cleared).sort()).to.deep.equal(Object.keys(cookies).sort());
    for (const c of Object.values(cleared)) expect(c.value).to.equal("");
    // A forged (CSRF-failing) logout clears nothing.
    const forged = await request(t.app).post(`${MOUNT}/logout`).set("Cookie", header);
    expectError(forged, 403, "csrf_failed");
    expect(forged.headers["set-cookie"]).to.equal(undefined);
  });

  it("an empty access cookie beside a Bearer header is no conflict", async () => {
    const t = buildApp({ guard: { transport: "both" } });
    const tokens = await login(t, "alice");
    const res = await me(t, tokens.access_token).set("Cookie", "__Host-sg-access=");
    expect(res.status).to.equal(200);
    expect(res.body.userId).to.equal("alice");
  });

  it("route names are the router's own, not inherited object keys", () => {
    const guard = sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret: SECRET });
    expect(() => createSessionRouter(guard, { authenticate: () => null, routes: { toString: "/x" } as never })).to.throw(
      TypeError,
      /routes\.toString/,
    );
  });

  it("an access-token TTL that is not whole seconds is refused at construction, a short refreshSecret too", () => {
    const base = { store: new MemoryStore({ sweepInterval: 0 }), secret: SECRET };
    for (const accessTokenTtl of [1500, "90.5s", 500]) {
      expect(() => sessionGuard({ ...base, accessTokenTtl })).to.throw(TypeError, /accessTokenTtl/);
    }
    expect(() => sessionGuard({ ...base, refreshSecret: "short" })).to.throw(TypeError, /refreshSecret/);
  });

  it("storeTimeout beyond Node's longest timer is refused, not turned into 1 ms", () => {
    expect(() => sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret: SECRET, storeTimeout: "25d" })).to.throw(
      TypeError,
      /storeTimeout/,
    );
    expect(() => new MemoryStore({ sweepInterval: 2 ** 31 })).to.throw(TypeError, /sweepInterval/);
    expect(() =>
      sessionGuard.fromEnv({ SESSION_SECRET: SECRET, SESSION_ACCESS_TOKEN_TTL: "never" }, { store: new MemoryStore({ sweepInterval: 0 }) }),
    ).to.throw(TypeError, /SESSION_ACCESS_TOKEN_TTL/);
  });

  it("a clock with fractions of a millisecond still works against Redis", async () => {
    const redis = await redisFixture();
    try {
      const clock = fakeClock();
      const t = buildApp({ clock, guard: { store: redis.store, now: () => clock.now() + 0.5 } });
      const tokens = await login(t, "alice");
      clock.advance(5 * 60_000);
      const res = await me(t, tokens.access_token);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(Date.parse(res.body.lastUsedAt)).to.equal(clock.now());
    } finally {
      await redis.close();
    }
  });

  it("a clock that returns no time (NaN) fails closed: an expired token and a dead session are not let through", async () => {
    for (const store of ["memory", "redis"] as const) {
      const redis = store === "redis" ? await redisFixture() : undefined;
      try {
        const clock = fakeClock();
        let broken = false;
        const t = buildApp({
          clock,
          guard: {
            ...(redis ? { store: redis.store } : {}),
            idleTimeout: "1m",
            absoluteLifetime: "5m",
            now: () => (broken ? Number.NaN : clock.now()),
          },
        });
        const tokens = await login(t, "alice");
        clock.advance(10 * 60_000);
        expect((await me(t, tokens.access_token)).status, store).to.equal(401);
        broken = true;
        const res = await me(t, tokens.access_token);
        expect(res.status, `${store}: ${JSON.stringify(res.body)}`).to.equal(500);
        let thrown: unknown;
        try {
          await t.guard.sessions.list("alice");
        } catch (err) {
          thrown = err;
        }
        expect(thrown, store)
          .to.be.instanceOf(Error)
          .with.property("message")
          .that.matches(/`now` clock returned NaN/);
      } finally {
        await redis?.close();
      }
    }
  });

  it("claims or data too large for a session are a 400 at login, and nothing is stored", async () => {
    const t = buildApp({ router: { authenticate: (req) => ({ userId: "alice", claims: { bio: String(req.body.bio) } }) } });
    const res = await request(t.app)
      .post(`${MOUNT}/login`)
      .send({ bio: "x".repeat(3000) });
    expectError(res, 400, "invalid_request");
    expect((t.store as MemoryStore).size).to.equal(0);
  });

  // Found by the stateless fuzzer (test/fuzz): jsonwebtoken looks claim names up in a plain
  // object of its own, so a claim named like an Object.prototype member made it throw a
  // TypeError at signing, and the login a 500.
  it("custom claims named like Object.prototype members are a 400 at login and from sessions.create, not a 500", async () => {
    for (const name of ["toString", "constructor", "valueOf", "hasOwnProperty", "isPrototypeOf", "__proto__"]) {
      const claims = JSON.parse(`{${JSON.stringify(name)}:1,"role":"member"}`) as Record<string, unknown>;
      const t = buildApp({ router: { authenticate: () => ({ userId: "alice", claims }) } });
      const res = await request(t.app).post(`${MOUNT}/login`).send({});
      expectError(res, 400, "invalid_request");
      expect(res.body.message).to.include(JSON.stringify(name));
      expect((t.store as MemoryStore).size, name).to.equal(0);
      expect(t.events, name).to.deep.equal([]);
      let thrown: unknown;
      try {
        await t.guard.sessions.create("alice", { claims });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, name).to.be.instanceOf(SessionError);
      expect((thrown as SessionError).code).to.equal("invalid_request");
      expect((t.store as MemoryStore).size, name).to.equal(0);
    }
    // Names that only resemble them are claims like any other.
    const t = buildApp({ router: { authenticate: () => ({ userId: "alice", claims: { toString2: 1, Constructor: "x" } }) } });
    const tokens = await login(t, "alice");
    const payload = JSON.parse(Buffer.from(tokens.access_token.split(".")[1], "base64url").toString("utf8"));
    expect(payload).to.include({ toString2: 1, Constructor: "x" });
    expect((await me(t, tokens.access_token)).status).to.equal(200);
  });

  it("an empty chunked body counts as no body", async () => {
    const t = buildApp();
    const tokens = await login(t, "alice");
    const res = await request(t.app)
      .post(`${MOUNT}/logout-all`)
      .set("Authorization", `Bearer ${tokens.access_token}`)
      .set("Transfer-Encoding", "chunked")
      .send("");
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.equal({ revoked: 1 });
  });

  it("logout with the refresh token spent last: a logout inside the window, reuse after it", async () => {
    const clock = fakeClock();
    const t = buildApp({ clock });
    const logoutWith = (refreshToken: string) => request(t.app).post(`${MOUNT}/logout`).send({ refresh_token: refreshToken });

    const first = await login(t, "alice");
    expect((await refresh(t, first.refresh_token)).status).to.equal(200);
    clock.advance(5_000);
    expect((await logoutWith(first.refresh_token)).status).to.equal(204);
    expect(t.eventsOf("logout")).to.have.length(1);

    const second = await login(t, "bob");
    const rotated = await refresh(t, second.refresh_token);
    expect(rotated.status).to.equal(200);
    clock.advance(60_000);
    expectError(await logoutWith(second.refresh_token), 401, "refresh_token_reused");
    expect(t.eventsOf("reuse_detected")).to.deep.equal([{ sessionId: second.session.id, userId: "bob" }]);
    expect(t.eventsOf("logout")).to.have.length(1);
    expectError(await me(t, rotated.body.access_token), 401, "session_inactive", { tokenPresented: true });
  });
});
