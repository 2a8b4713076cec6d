/**
 * Every route of the session router, success and failure,
 * against a MemoryStore and the fake clock.
 */
import { expect } from "chai";
import express from "express";
import request from "supertest";
import { createSessionRouter, type MemoryStore } from "../../lib/index.js";
import { SECOND, MINUTE } from "../support/clock.js";
import { buildApp, expectError, login, me, MOUNT, PASSWORD, refresh, type TestApp } from "./app.js";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const bearer = (token: string) => `Bearer ${token}`;

describe("session router", () => {
  let t: TestApp;
  beforeEach(() => {
    t = buildApp();
  });
  afterEach(async () => {
    await t.guard.close();
  });

  describe("POST /login", () => {
    it("answers a token set with Cache-Control: no-store", async () => {
      const res = await request(t.app).post(`${MOUNT}/login`).set("User-Agent", "Agent/1").send({ user: "alice", password: PASSWORD });
      expect(res.status).to.equal(200);
      expect(res.headers["cache-control"]).to.equal("no-store");
      expect(res.body).to.have.all.keys("access_token", "token_type", "expires_in", "refresh_token", "session");
      expect(res.body.token_type).to.equal("Bearer");
      expect(res.body.expires_in).to.equal(15 * 60);
      expect(res.body.access_token.split(".")).to.have.length(3);
      expect(res.body.refresh_token).to.be.a("string").and.not.equal(res.body.access_token);
      expect(res.body.session).to.deep.equal({
        id: res.body.session.id,
        current: true,
        created_at: "2024-01-01T00:00:00.000Z",
        last_used_at: "2024-01-01T00:00:00.000Z",
        expires_at: "2024-01-02T00:00:00.000Z",
        remember_me: false,
        ip: res.body.session.ip,
        user_agent: "Agent/1",
      });
      expect(res.body.session.id).to.match(/^[A-Za-z0-9_-]{22,}$/);
      expect(res.body.session.ip).to.be.a("string").and.not.equal("");
      expect((t.store as MemoryStore).size).to.equal(1);
      expect(t.eventsOf("login")).to.deep.equal([{ sessionId: res.body.session.id, userId: "alice", rememberMe: false }]);
    });

    it("the access token carries sub, sid, jti, iat, exp and the custom claims", async () => {
      const tokens = await login(t, "alice");
      const payload = JSON.parse(Buffer.from(tokens.access_token.split(".")[1], "base64url").toString());
      const header = JSON.parse(Buffer.from(tokens.access_token.split(".")[0], "base64url").toString());
      expect(header).to.deep.equal({ alg: "HS256", typ: "at+jwt" });
      expect(payload.sub).to.equal("alice");
      expect(payload.sid).to.equal(tokens.session.id);
      expect(payload.role).to.equal("member");
      expect(payload.iat).to.equal(Date.UTC(2024, 0, 1) / 1000);
      expect(payload.exp - payload.iat).to.equal(900);
      expect(payload.jti).to.be.a("string").with.length.above(15);
      const again = await login(t, "alice");
      expect(JSON.parse(Buffer.from(again.access_token.split(".")[1], "base64url").toString()).jti).to.not.equal(payload.jti);
    });

    it("remember_me: true makes a remember-me session with its longer deadline", async () => {
      const tokens = await login(t, "alice", { rememberMe: true });
      expect(tokens.session.remember_me).to.equal(true);
      expect(tokens.session.expires_at).to.equal("2024-01-31T00:00:00.000Z"); // idle 30d
      expect(t.eventsOf("login")[0].rememberMe).to.equal(true);
    });

    it("remember_me: false makes a standard session", async () => {
      const tokens = await login(t, "alice", { rememberMe: false });
      expect(tokens.session.remember_me).to.equal(false);
      expect(tokens.session.expires_at).to.equal("2024-01-02T00:00:00.000Z");
    });

    it("allowRememberMe: false ignores remember_me", async () => {
      await t.guard.close();
      t = buildApp({ guard: { allowRememberMe: false } });
      const tokens = await login(t, "alice", { rememberMe: true });
      expect(tokens.session.remember_me).to.equal(false);
      expect(tokens.session.expires_at).to.equal("2024-01-02T00:00:00.000Z");
    });

    for (const value of ["true", 1, null, {}]) {
      it(`a non-boolean remember_me (${JSON.stringify(value)}) is 400 invalid_request and creates nothing`, async () => {
        const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD, remember_me: value });
        expectError(res, 400, "invalid_request");
        expect((t.store as MemoryStore).size).to.equal(0);
        expect(t.events).to.deep.equal([]);
      });
    }

    it("authenticate returning null is 401 invalid_credentials without invalid_token", async () => {
      const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: "wrong" });
      expectError(res, 401, "invalid_credentials");
      expect((t.store as MemoryStore).size).to.equal(0);
      expect(t.events).to.deep.equal([]);
    });

    it("an async authenticate and app data reach req.session", async () => {
      await t.guard.close();
      t = buildApp({ router: { authenticate: async () => ({ userId: "bob", data: { n: 1 } }) } });
      const tokens = await login(t, "ignored");
      const res = await me(t, tokens.access_token);
      expect(res.status).to.equal(200);
      expect(res.body.userId).to.equal("bob");
      expect(res.body.data).to.deep.equal({ n: 1 });
      expect(res.body.role).to.equal(undefined);
    });

    it("a body the app already parsed with express.json() is reused", async () => {
      const app = express();
      app.use(express.json());
      app.use(
        MOUNT,
        createSessionRouter(t.guard, { authenticate: (req) => (req.body.password === PASSWORD ? { userId: req.body.user } : null) }),
      );
      const res = await request(app).post(`${MOUNT}/login`).send({ user: "carol", password: PASSWORD });
      expect(res.status).to.equal(200);
      expect(res.body.session.current).to.equal(true);
      const bad = await request(app).post(`${MOUNT}/login`).send({ user: "carol", password: "no" });
      expectError(bad, 401, "invalid_credentials");
    });
  });

  describe("POST /refresh", () => {
    it("rotates: a new access and refresh token; the old refresh token is spent", async () => {
      const first = await login(t, "alice");
      t.clock.advance(MINUTE);
      const res = await refresh(t, first.refresh_token);
      expect(res.status).to.equal(200);
      expect(res.headers["cache-control"]).to.equal("no-store");
      expect(res.body.refresh_token).to.not.equal(first.refresh_token);
      expect(res.body.access_token).to.not.equal(first.access_token);
      expect(res.body.session.id).to.equal(first.session.id);
      expect(res.body.session.created_at).to.equal(first.session.created_at);
      expect(res.body.session.last_used_at).to.equal("2024-01-01T00:01:00.000Z");
      expect(t.eventsOf("refresh")).to.deep.equal([{ sessionId: first.session.id, userId: "alice" }]);
      expect((await me(t, res.body.access_token)).status).to.equal(200);
      // The successor rotates in turn.
      const third = await refresh(t, res.body.refresh_token);
      expect(third.status).to.equal(200);
      expect(third.body.refresh_token).to.not.equal(res.body.refresh_token);
    });

    it("the same token within refreshReuseWindow gets the same successor", async () => {
      const first = await login(t, "alice");
      const a = await refresh(t, first.refresh_token);
      t.clock.advance(9 * SECOND);
      const b = await refresh(t, first.refresh_token);
      expect(a.status).to.equal(200);
      expect(b.status).to.equal(200);
      expect(b.body.refresh_token).to.equal(a.body.refresh_token);
      expect(t.eventsOf("refresh")).to.have.length(1);
      expect(t.eventsOf("reuse_detected")).to.deep.equal([]);
      expect((await refresh(t, b.body.refresh_token)).status).to.equal(200);
    });

    it("reuse after the window is 401 refresh_token_reused, revokes the session, emits reuse_detected alone", async () => {
      const first = await login(t, "alice");
      const a = await refresh(t, first.refresh_token);
      t.clock.advance(11 * SECOND);
      const res = await refresh(t, first.refresh_token);
      expectError(res, 401, "refresh_token_reused");
      expect(t.eventsOf("reuse_detected")).to.deep.equal([{ sessionId: first.session.id, userId: "alice" }]);
      expect(t.eventsOf("revoke")).to.deep.equal([]);
      expect(t.eventsOf("logout")).to.deep.equal([]);
      expect((t.store as MemoryStore).size).to.equal(0);
      expectError(await me(t, a.body.access_token), 401, "session_inactive", { tokenPresented: true });
      expectError(await refresh(t, a.body.refresh_token), 401, "refresh_token_invalid");
      expectError(await refresh(t, first.refresh_token), 401, "refresh_token_invalid");
    });

    it("a token two rotations old is reuse even inside the window", async () => {
      const first = await login(t, "alice");
      const second = await refresh(t, first.refresh_token);
      const third = await refresh(t, second.body.refresh_token);
      expect(third.status).to.equal(200);
      const res = await refresh(t, first.refresh_token);
      expectError(res, 401, "refresh_token_reused");
      expect(t.eventsOf("reuse_detected")).to.deep.equal([{ sessionId: first.session.id, userId: "alice" }]);
      expect(t.eventsOf("revoke")).to.deep.equal([]);
      expectError(await me(t, third.body.access_token), 401, "session_inactive", { tokenPresented: true });
    });

    it("a made-up secret with a real sid is refresh_token_invalid and revokes nothing", async () => {
      const first = await login(t, "alice");
      const [user, sid] = first.refresh_token.split(".");
      const forged = Buffer.alloc(32, 7).toString("base64url");
      for (const generation of [0, 1, 5]) {
        expectError(await refresh(t, `${user}.${sid}.${generation}.${forged}`), 401, "refresh_token_invalid");
      }
      // after a rotation, a forged old generation is still just invalid
      const second = await refresh(t, first.refresh_token);
      const third = await refresh(t, second.body.refresh_token);
      expectError(await refresh(t, `${user}.${sid}.0.${forged}`), 401, "refresh_token_invalid");
      expect(t.eventsOf("reuse_detected")).to.deep.equal([]);
      expect((await me(t, third.body.access_token)).status).to.equal(200);
      expect((await refresh(t, third.body.refresh_token)).status).to.equal(200);
    });

    it("garbage refresh tokens are refresh_token_invalid", async () => {
      await login(t, "alice");
      for (const token of ["x", "a.b.c.d", "a.b.c", "YWxpY2U.abc.0.abc", "€"]) {
        expectError(await refresh(t, token), 401, "refresh_token_invalid");
      }
      expect((t.store as MemoryStore).size).to.equal(1);
    });

    it("without a refresh token: 400 invalid_request", async () => {
      const res = await request(t.app).post(`${MOUNT}/refresh`).send({});
      expectError(res, 400, "invalid_request");
      const empty = await request(t.app).post(`${MOUNT}/refresh`);
      expectError(empty, 400, "invalid_request");
    });

    it("works after the access token expired, and never moves created_at", async () => {
      const first = await login(t, "alice");
      t.clock.advance(20 * MINUTE);
      expectError(await me(t, first.access_token), 401, "token_expired", { tokenPresented: true });
      const res = await refresh(t, first.refresh_token);
      expect(res.status).to.equal(200);
      expect(res.body.session.created_at).to.equal(first.session.created_at);
      expect((await me(t, res.body.access_token)).status).to.equal(200);
    });
  });

  describe("POST /logout", () => {
    it("204; the access token is then session_inactive and the refresh token invalid", async () => {
      const tokens = await login(t, "alice");
      const res = await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(tokens.access_token));
      expect(res.status).to.equal(204);
      expect(res.text).to.equal("");
      expect((t.store as MemoryStore).size).to.equal(0);
      expect(t.eventsOf("logout")).to.deep.equal([{ sessionId: tokens.session.id, userId: "alice" }]);
      expect(t.eventsOf("revoke")).to.deep.equal([]);
      expectError(await me(t, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      expectError(await refresh(t, tokens.refresh_token), 401, "refresh_token_invalid");
    });

    it("with an expired access token and the refresh token: 204", async () => {
      const tokens = await login(t, "alice");
      t.clock.advance(16 * MINUTE);
      const res = await request(t.app)
        .post(`${MOUNT}/logout`)
        .set("Authorization", bearer(tokens.access_token))
        .send({ refresh_token: tokens.refresh_token });
      expect(res.status).to.equal(204);
      expect((t.store as MemoryStore).size).to.equal(0);
      expect(t.eventsOf("logout")).to.deep.equal([{ sessionId: tokens.session.id, userId: "alice" }]);
    });

    it("with an expired access token and no refresh token: 401 token_expired", async () => {
      const tokens = await login(t, "alice");
      t.clock.advance(16 * MINUTE);
      const res = await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(tokens.access_token));
      expectError(res, 401, "token_expired", { tokenPresented: true });
      expect((t.store as MemoryStore).size).to.equal(1);
    });

    it("with only a refresh token: 204; with a made-up one: refresh_token_invalid", async () => {
      const tokens = await login(t, "alice");
      const [user, sid] = tokens.refresh_token.split(".");
      const forged = `${user}.${sid}.0.${Buffer.alloc(32, 1).toString("base64url")}`;
      expectError(await request(t.app).post(`${MOUNT}/logout`).send({ refresh_token: forged }), 401, "refresh_token_invalid");
      expect((t.store as MemoryStore).size).to.equal(1);
      expect((await request(t.app).post(`${MOUNT}/logout`).send({ refresh_token: tokens.refresh_token })).status).to.equal(204);
      expect((t.store as MemoryStore).size).to.equal(0);
    });

    it("with nothing: 401 token_missing; twice: session_inactive", async () => {
      expectError(await request(t.app).post(`${MOUNT}/logout`), 401, "token_missing");
      const tokens = await login(t, "alice");
      expect((await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(tokens.access_token))).status).to.equal(204);
      expectError(await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(tokens.access_token)), 401, "session_inactive", {
        tokenPresented: true,
      });
    });
  });

  describe("POST /logout-all", () => {
    it("revokes every session of the user and answers the count", async () => {
      const a = await login(t, "alice");
      const b = await login(t, "alice");
      const other = await login(t, "bob");
      const res = await request(t.app).post(`${MOUNT}/logout-all`).set("Authorization", bearer(a.access_token));
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ revoked: 2 });
      expect(res.headers["cache-control"]).to.equal("no-store");
      expectError(await me(t, a.access_token), 401, "session_inactive", { tokenPresented: true });
      expectError(await me(t, b.access_token), 401, "session_inactive", { tokenPresented: true });
      expect((await me(t, other.access_token)).status).to.equal(200);
      const revokes = t.eventsOf("revoke");
      expect(revokes).to.have.deep.members([
        { sessionId: a.session.id, userId: "alice", reason: "logout-all" },
        { sessionId: b.session.id, userId: "alice", reason: "logout-all" },
      ]);
      expect(revokes).to.have.length(2);
    });

    it("keep_current: true keeps the caller's session", async () => {
      const a = await login(t, "alice");
      const b = await login(t, "alice");
      const c = await login(t, "alice");
      const res = await request(t.app)
        .post(`${MOUNT}/logout-all`)
        .set("Authorization", bearer(b.access_token))
        .send({ keep_current: true });
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ revoked: 2 });
      expect((await me(t, b.access_token)).status).to.equal(200);
      expectError(await me(t, a.access_token), 401, "session_inactive", { tokenPresented: true });
      expectError(await me(t, c.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(t.eventsOf("revoke").map((e) => e.reason)).to.deep.equal(["logout-others", "logout-others"]);
    });

    it("a non-boolean keep_current is 400; no token is 401 token_missing", async () => {
      const a = await login(t, "alice");
      expectError(
        await request(t.app).post(`${MOUNT}/logout-all`).set("Authorization", bearer(a.access_token)).send({ keep_current: "yes" }),
        400,
        "invalid_request",
      );
      expectError(await request(t.app).post(`${MOUNT}/logout-all`), 401, "token_missing");
      expect((t.store as MemoryStore).size).to.equal(1);
    });
  });

  describe("GET /sessions", () => {
    it("lists the caller's live sessions, snake_case, newest first, current marked", async () => {
      const a = await login(t, "alice");
      t.clock.advance(MINUTE);
      const b = await request(t.app)
        .post(`${MOUNT}/login`)
        .set("User-Agent", "Phone/2")
        .send({ user: "alice", password: PASSWORD, remember_me: true });
      await login(t, "bob");
      t.clock.advance(MINUTE);
      const res = await request(t.app).get(`${MOUNT}/sessions`).set("Authorization", bearer(a.access_token));
      expect(res.status).to.equal(200);
      expect(res.headers["cache-control"]).to.equal("no-store");
      expect(res.body).to.have.all.keys("sessions");
      const [first, second] = res.body.sessions;
      expect(res.body.sessions).to.have.length(2);
      expect(first).to.deep.equal({
        id: b.body.session.id,
        current: false,
        created_at: "2024-01-01T00:01:00.000Z",
        last_used_at: "2024-01-01T00:01:00.000Z",
        expires_at: "2024-01-31T00:01:00.000Z",
        remember_me: true,
        ip: b.body.session.ip,
        user_agent: "Phone/2",
      });
      expect(second.id).to.equal(a.session.id);
      expect(second.current).to.equal(true);
      expect(second.created_at).to.match(ISO);
      expect(second.remember_me).to.equal(false);
      expect(second.user_agent).to.equal(null);
    });

    it("without a token: 401 token_missing", async () => {
      expectError(await request(t.app).get(`${MOUNT}/sessions`), 401, "token_missing");
    });
  });

  describe("DELETE /sessions/:id", () => {
    it("revokes one of the caller's sessions: 204", async () => {
      const a = await login(t, "alice");
      const b = await login(t, "alice");
      const res = await request(t.app).delete(`${MOUNT}/sessions/${b.session.id}`).set("Authorization", bearer(a.access_token));
      expect(res.status).to.equal(204);
      expectError(await me(t, b.access_token), 401, "session_inactive", { tokenPresented: true });
      expect((await me(t, a.access_token)).status).to.equal(200);
      expect(t.eventsOf("revoke")).to.deep.equal([{ sessionId: b.session.id, userId: "alice", reason: "revoked" }]);
      expectError(
        await request(t.app).delete(`${MOUNT}/sessions/${b.session.id}`).set("Authorization", bearer(a.access_token)),
        404,
        "not_found",
      );
    });

    it("another user's session id is 404 not_found and stays alive", async () => {
      const a = await login(t, "alice");
      const other = await login(t, "bob");
      const res = await request(t.app).delete(`${MOUNT}/sessions/${other.session.id}`).set("Authorization", bearer(a.access_token));
      expectError(res, 404, "not_found");
      expect((await me(t, other.access_token)).status).to.equal(200);
      expect(t.eventsOf("revoke")).to.deep.equal([]);
    });

    for (const id of ["AAAAAAAAAAAAAAAAAAAAAAAA", "nope", "%7B%7D%3A", "x".repeat(300), "..%2F..%2Fetc"]) {
      it(`an unknown or garbage id (${id.slice(0, 24)}) is 404 not_found`, async () => {
        const a = await login(t, "alice");
        const res = await request(t.app).delete(`${MOUNT}/sessions/${id}`).set("Authorization", bearer(a.access_token));
        expectError(res, 404, "not_found");
        expect((t.store as MemoryStore).size).to.equal(1);
      });
    }

    it("without a token: 401 token_missing", async () => {
      const a = await login(t, "alice");
      expectError(await request(t.app).delete(`${MOUNT}/sessions/${a.session.id}`), 401, "token_missing");
      expect((t.store as MemoryStore).size).to.equal(1);
    });
  });

  describe("routes option", () => {
    it("renames and switches off single routes", async () => {
      await t.guard.close();
      t = buildApp({ router: { routes: { login: "/signin", sessions: false, revokeSession: "/devices/:id" } } });
      expect((await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD })).status).to.equal(404);
      const res = await request(t.app).post(`${MOUNT}/signin`).send({ user: "alice", password: PASSWORD });
      expect(res.status).to.equal(200);
      expect((await request(t.app).get(`${MOUNT}/sessions`).set("Authorization", bearer(res.body.access_token))).status).to.equal(404);
      const del = await request(t.app)
        .delete(`${MOUNT}/devices/${res.body.session.id}`)
        .set("Authorization", bearer(res.body.access_token));
      expect(del.status).to.equal(204);
      expect((t.store as MemoryStore).size).to.equal(0);
    });

    it("rejects a revokeSession path without :id, unknown routes and unknown router options", async () => {
      const authenticate = () => null;
      expect(() => createSessionRouter(t.guard, { authenticate, routes: { revokeSession: "/sessions/x" } })).to.throw(
        TypeError,
        /revokeSession/,
      );
      expect(() => createSessionRouter(t.guard, { authenticate, routes: { signin: "/x" } as never })).to.throw(TypeError, /signin/);
      expect(() => createSessionRouter(t.guard, { authenticate, routes: { login: "nope" } })).to.throw(TypeError, /login/);
      expect(() => createSessionRouter(t.guard, { authenticate, extra: 1 } as never)).to.throw(TypeError, /extra/);
      expect(() => createSessionRouter(t.guard, {} as never)).to.throw(TypeError, /authenticate/);
      expect(() => createSessionRouter((() => {}) as never, { authenticate })).to.throw(TypeError, /sessionGuard/);
    });
  });
});
