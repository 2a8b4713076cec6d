/**
 * Deadlines, sliding, touch throttling, remember-me and forever sessions,
 * the per-user cap, events, and the guard's own options, against a MemoryStore and the fake clock.
 */
import { expect } from "chai";
import request from "supertest";
import { SessionError, type MemoryStore } from "../../lib/index.js";
import { DAY, EPOCH, MINUTE, SECOND, YEAR } from "../support/clock.js";
import { buildApp, expectError, login, me, MOUNT, PASSWORD, refresh, type TestApp } from "./app.js";

const iso = (ms: number) => new Date(ms).toISOString();
const bearer = (token: string) => `Bearer ${token}`;

describe("session lifecycle over HTTP", () => {
  let t: TestApp;
  afterEach(async () => {
    await t.guard.close();
  });
  const size = () => (t.store as MemoryStore).size;

  describe("deadlines", () => {
    it("a session unused for idleTimeout is dead and removed from the store", async () => {
      t = buildApp({ guard: { idleTimeout: "10m", absoluteLifetime: "1h" } });
      const alice = await login(t, "alice");
      const bob = await login(t, "bob");
      t.clock.set(EPOCH + 5 * MINUTE);
      expect((await me(t, alice.access_token)).status).to.equal(200); // last use 00:05
      expect((await me(t, bob.access_token)).status).to.equal(200);
      t.clock.set(EPOCH + 14 * MINUTE);
      expect((await me(t, bob.access_token)).status).to.equal(200); // last use 00:14
      t.clock.set(EPOCH + 15 * MINUTE);
      expectError(await me(t, alice.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(await t.guard.sessions.list("alice")).to.deep.equal([]);
      expect(size()).to.equal(1);
      expectError(await refresh(t, alice.refresh_token), 401, "refresh_token_invalid");
      expect((await me(t, bob.access_token)).status).to.equal(200);
    });

    it("use slides the idle deadline, but never past the absolute one", async () => {
      t = buildApp({ guard: { idleTimeout: "10m", absoluteLifetime: "25m", accessTokenTtl: "30m" } });
      const tokens = await login(t, "alice");
      expect(tokens.expires_in).to.equal(25 * 60); // exp capped at the absolute deadline
      expect(tokens.session.expires_at).to.equal(iso(EPOCH + 10 * MINUTE));
      for (const [at, expires] of [
        [9, 19],
        [18, 25],
      ]) {
        t.clock.set(EPOCH + at * MINUTE);
        const res = await me(t, tokens.access_token);
        expect(res.status).to.equal(200);
        expect(res.body.lastUsedAt).to.equal(iso(EPOCH + at * MINUTE));
        expect(res.body.expiresAt).to.equal(iso(EPOCH + expires * MINUTE));
      }
      t.clock.set(EPOCH + 24 * MINUTE);
      const late = await me(t, tokens.access_token);
      expect(late.status).to.equal(200);
      expect(late.body.expiresAt).to.equal(iso(EPOCH + 25 * MINUTE));
      t.clock.set(EPOCH + 25 * MINUTE);
      expectError(await me(t, tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      expect(size()).to.equal(0);
    });

    it("refreshing does not move the absolute deadline", async () => {
      t = buildApp({ guard: { idleTimeout: "1d", absoluteLifetime: "3d" } });
      let tokens = await login(t, "alice");
      for (let day = 1; day <= 2; day++) {
        t.clock.advance(DAY - MINUTE);
        const res = await refresh(t, tokens.refresh_token);
        expect(res.status).to.equal(200);
        expect(res.body.session.created_at).to.equal(iso(EPOCH));
        expect(res.body.session.expires_at).to.equal(iso(t.clock.now() + DAY)); // the idle deadline, slid
        tokens = res.body;
      }
      t.clock.set(EPOCH + 3 * DAY - 3 * MINUTE);
      const last = await refresh(t, tokens.refresh_token);
      expect(last.status).to.equal(200);
      expect(last.body.session.expires_at).to.equal(iso(EPOCH + 3 * DAY)); // capped by the lifetime
      expect(last.body.expires_in).to.equal(3 * 60); // the access token never outlives the session
      tokens = last.body;
      t.clock.set(EPOCH + 3 * DAY);
      expectError(await refresh(t, tokens.refresh_token), 401, "refresh_token_invalid");
      expect(size()).to.equal(0);
    });

    it("remember-me sessions get the rememberMe deadlines", async () => {
      t = buildApp();
      let tokens = await login(t, "alice", { rememberMe: true });
      const standard = await login(t, "bob");
      t.clock.advance(29 * DAY);
      expectError(await refresh(t, standard.refresh_token), 401, "refresh_token_invalid");
      const res = await refresh(t, tokens.refresh_token);
      expect(res.status).to.equal(200);
      expect(res.body.session.remember_me).to.equal(true);
      tokens = res.body;
      // Used every 29 days, it lives until the 365-day lifetime.
      while (t.clock.now() + 29 * DAY < EPOCH + 365 * DAY) {
        t.clock.advance(29 * DAY);
        const next = await refresh(t, tokens.refresh_token);
        expect(next.status).to.equal(200);
        tokens = next.body;
      }
      expect(tokens.session.expires_at).to.equal(iso(EPOCH + 365 * DAY));
      t.clock.set(EPOCH + 365 * DAY);
      expectError(await refresh(t, tokens.refresh_token), 401, "refresh_token_invalid");
      expect(size()).to.equal(0);
    });

    it("a remember-me session unused for its idle timeout dies", async () => {
      t = buildApp();
      const tokens = await login(t, "alice", { rememberMe: true });
      t.clock.advance(30 * DAY);
      expectError(await refresh(t, tokens.refresh_token), 401, "refresh_token_invalid");
      expect(size()).to.equal(0);
    });

    it("a forever session refreshes after a year and more of fake time, until logout", async () => {
      t = buildApp({ guard: { rememberMe: { idleTimeout: null, absoluteLifetime: null } } });
      let tokens = await login(t, "alice", { rememberMe: true });
      expect(tokens.session.expires_at).to.equal(null);
      expect(tokens.expires_in).to.equal(15 * 60);
      for (const gap of [YEAR, 2 * YEAR]) {
        t.clock.advance(gap);
        expectError(await me(t, tokens.access_token), 401, "token_expired", { tokenPresented: true });
        const res = await refresh(t, tokens.refresh_token);
        expect(res.status).to.equal(200);
        expect(res.body.session.expires_at).to.equal(null);
        expect(res.body.session.created_at).to.equal(iso(EPOCH));
        tokens = res.body;
        const who = await me(t, tokens.access_token);
        expect(who.status).to.equal(200);
        expect(who.body.expiresAt).to.equal(null);
        expect(who.body.rememberMe).to.equal(true);
      }
      expect((await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(tokens.access_token))).status).to.equal(204);
      expectError(await refresh(t, tokens.refresh_token), 401, "refresh_token_invalid");
      expect(size()).to.equal(0);
    });
  });

  describe("touch throttling", () => {
    it("lastUsedAt moves only once touchInterval has passed", async () => {
      t = buildApp({ guard: { touchInterval: "5m" } });
      const tokens = await login(t, "alice");
      const lastUsed = async () => (await t.guard.sessions.get(tokens.session.id, "alice"))!.lastUsedAt.getTime();
      t.clock.advance(4 * MINUTE);
      expect((await me(t, tokens.access_token)).body.lastUsedAt).to.equal(iso(EPOCH));
      expect(await lastUsed()).to.equal(EPOCH);
      t.clock.advance(MINUTE);
      expect((await me(t, tokens.access_token)).body.lastUsedAt).to.equal(iso(EPOCH + 5 * MINUTE));
      expect(await lastUsed()).to.equal(EPOCH + 5 * MINUTE);
      t.clock.advance(4 * MINUTE + 59 * SECOND);
      expect((await me(t, tokens.access_token)).body.lastUsedAt).to.equal(iso(EPOCH + 5 * MINUTE));
      expect(await lastUsed()).to.equal(EPOCH + 5 * MINUTE);
    });
  });

  describe("maxSessionsPerUser", () => {
    it("a new login evicts the least recently used sessions, with revoke events reason evicted", async () => {
      t = buildApp({ guard: { maxSessionsPerUser: 2 } });
      const a = await login(t, "alice");
      t.clock.advance(SECOND);
      const b = await login(t, "alice");
      t.clock.advance(2 * MINUTE);
      expect((await me(t, a.access_token)).status).to.equal(200); // a is now the more recently used
      const bob = await login(t, "bob");
      const c = await login(t, "alice");
      expect(t.eventsOf("revoke")).to.deep.equal([{ sessionId: b.session.id, userId: "alice", reason: "evicted" }]);
      expectError(await me(t, b.access_token), 401, "session_inactive", { tokenPresented: true });
      expect((await me(t, a.access_token)).status).to.equal(200);
      expect((await me(t, c.access_token)).status).to.equal(200);
      expect((await me(t, bob.access_token)).status).to.equal(200);
      expect(size()).to.equal(3);
    });

    it("1 means signing in elsewhere signs you out here", async () => {
      t = buildApp({ guard: { maxSessionsPerUser: 1 } });
      const first = await login(t, "alice");
      const second = await login(t, "alice");
      expectError(await me(t, first.access_token), 401, "session_inactive", { tokenPresented: true });
      expect((await me(t, second.access_token)).status).to.equal(200);
      expect(t.eventsOf("revoke")).to.deep.equal([{ sessionId: first.session.id, userId: "alice", reason: "evicted" }]);
    });

    it("parallel logins never leave more than the cap", async () => {
      t = buildApp({ guard: { maxSessionsPerUser: 3 } });
      const all = await Promise.all(Array.from({ length: 10 }, () => login(t, "alice")));
      expect(size()).to.equal(3);
      const live = await t.guard.sessions.list("alice");
      expect(live).to.have.length(3);
      expect(t.eventsOf("revoke")).to.have.length(7);
      expect(t.eventsOf("revoke").every((e) => e.reason === "evicted")).to.equal(true);
      const statuses = await Promise.all(all.map(async (tokens) => (await me(t, tokens.access_token)).status));
      expect(statuses.filter((s) => s === 200)).to.have.length(3);
      expect(statuses.filter((s) => s === 401)).to.have.length(7);
    });
  });

  describe("events", () => {
    it("carry sessionId and userId and never a token", async () => {
      t = buildApp({ guard: { maxSessionsPerUser: 2 } });
      const tokens: string[] = [];
      const keep = (set: { access_token: string; refresh_token: string }) => {
        tokens.push(set.access_token, set.refresh_token);
        return set;
      };
      const a = keep(await login(t, "alice"));
      keep(await login(t, "alice"));
      keep((await refresh(t, a.refresh_token)).body);
      t.clock.advance(MINUTE);
      expect((await refresh(t, a.refresh_token)).body.error).to.equal("refresh_token_reused");
      keep(await login(t, "alice"));
      keep(await login(t, "alice")); // evicts b
      const c = keep(await login(t, "alice"));
      keep(await login(t, "alice"));
      await request(t.app).post(`${MOUNT}/logout-all`).set("Authorization", bearer(c.access_token)).send({ keep_current: true });
      await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(c.access_token));
      expect(t.events.map((e) => e.event)).to.include.members(["login", "refresh", "revoke", "reuse_detected", "logout"]);
      for (const { payload } of t.events) {
        expect(payload.sessionId).to.be.a("string");
        expect(payload.userId).to.equal("alice");
        const text = JSON.stringify(payload);
        for (const token of tokens) {
          expect(text).to.not.include(token);
          expect(text).to.not.include(token.split(".").pop()!); // no signature, no refresh secret
        }
      }
      expect(t.eventsOf("revoke").map((e) => e.reason)).to.include.members(["evicted", "logout-others"]);
    });

    it("revoke by the handle emits logout; revokeOthers and revokeAll emit revoke with their reasons", async () => {
      t = buildApp();
      const a = await login(t, "alice");
      const b = await login(t, "alice");
      const c = await login(t, "alice");
      const others = await request(t.app).post("/me/revoke-others").set("Authorization", bearer(a.access_token));
      expect(others.body).to.deep.equal({ revoked: 2 });
      expect(t.eventsOf("revoke")).to.have.deep.members([
        { sessionId: b.session.id, userId: "alice", reason: "logout-others" },
        { sessionId: c.session.id, userId: "alice", reason: "logout-others" },
      ]);
      const d = await login(t, "alice");
      const all = await request(t.app).post("/me/revoke-all").set("Authorization", bearer(d.access_token));
      expect(all.body).to.deep.equal({ revoked: 2 });
      expect(
        t
          .eventsOf("revoke")
          .slice(2)
          .map((e) => e.reason),
      ).to.deep.equal(["logout-all", "logout-all"]);
      const e = await login(t, "alice");
      expect((await request(t.app).post("/me/revoke").set("Authorization", bearer(e.access_token))).status).to.equal(204);
      expect(t.eventsOf("logout")).to.deep.equal([{ sessionId: e.session.id, userId: "alice" }]);
      expect(size()).to.equal(0);
    });

    it("a throwing listener does not fail the request", async () => {
      t = buildApp();
      t.guard.on("login", () => {
        throw new Error("listener bug");
      });
      const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
      expect(res.status).to.equal(200);
    });
  });

  describe("guard options", () => {
    it("guard.optional: no token passes without a session; a bad or dead token is still rejected", async () => {
      t = buildApp();
      const maybe = (token?: string) => {
        const r = request(t.app).get("/maybe");
        return token === undefined ? r : r.set("Authorization", bearer(token));
      };
      expect((await maybe()).body).to.deep.equal({ user: null });
      expect((await request(t.app).get("/maybe").set("Authorization", "Basic dXNlcjpwdw==")).body).to.deep.equal({ user: null });
      const tokens = await login(t, "alice");
      expect((await maybe(tokens.access_token)).body).to.deep.equal({ user: "alice" });
      expectError(await maybe("not.a.token"), 401, "token_invalid", { tokenPresented: true });
      expectError(await request(t.app).get("/maybe").set("Authorization", "Bearer"), 400, "invalid_request", { tokenPresented: false });
      await t.guard.sessions.revoke(tokens.session.id, "alice");
      expectError(await maybe(tokens.access_token), 401, "session_inactive", { tokenPresented: true });
      const fresh = await login(t, "alice");
      t.clock.advance(20 * MINUTE);
      expectError(await maybe(fresh.access_token), 401, "token_expired", { tokenPresented: true });
    });

    it("requestProperty puts the handle on another property", async () => {
      t = buildApp({
        guard: { requestProperty: "auth" },
        routes: (app, guard) =>
          app.get("/both", guard, (req, res) => {
            res.json({
              auth: (req as unknown as { auth: { userId: string } }).auth.userId,
              session: (req as { session?: unknown }).session ?? null,
            });
          }),
      });
      const tokens = await login(t, "alice");
      const res = await request(t.app).get("/both").set("Authorization", bearer(tokens.access_token));
      expect(res.status).to.equal(200);
      expect(res.body).to.deep.equal({ auth: "alice", session: null });
      expect((await me(t, tokens.access_token)).body.userId).to.equal("alice");
    });

    it("onError answers errors in the app's format, for the guard and the router", async () => {
      const seen: Array<[string, number]> = [];
      t = buildApp({
        guard: {
          onError: (err, _req, res) => {
            seen.push([err.code, err.status]);
            expect(err).to.be.instanceOf(SessionError);
            res.status(err.status).json({ problem: err.code });
          },
        },
      });
      const res = await request(t.app).get("/me");
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal({ problem: "token_missing" });
      const bad = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: "no" });
      expect(bad.status).to.equal(401);
      expect(bad.body).to.deep.equal({ problem: "invalid_credentials" });
      expect(seen).to.deep.equal([
        ["token_missing", 401],
        ["invalid_credentials", 401],
      ]);
    });

    it("guard.sessions: create, verify, get, list, revoke, revokeAll", async () => {
      t = buildApp();
      const { sessions } = t.guard;
      const set = await sessions.create("alice", {
        rememberMe: true,
        claims: { role: "admin" },
        data: { x: 1 },
        ip: "203.0.113.1",
        userAgent: "UA",
      });
      expect(set.token_type).to.equal("Bearer");
      expect(set.session.remember_me).to.equal(true);
      expect(set.session.ip).to.equal("203.0.113.1");
      const handle = await sessions.verify(set.access_token);
      expect(handle.userId).to.equal("alice");
      expect(handle.claims.role).to.equal("admin");
      expect(handle.data).to.deep.equal({ x: 1 });
      const info = await sessions.get(set.session.id, "alice");
      expect(info).to.deep.include({
        id: set.session.id,
        userId: "alice",
        rememberMe: true,
        ip: "203.0.113.1",
        userAgent: "UA",
        current: false,
      });
      expect(await sessions.get(set.session.id, "bob")).to.equal(null);
      t.clock.advance(SECOND);
      const other = await sessions.create("alice");
      expect((await sessions.list("alice")).map((s) => s.id)).to.deep.equal([other.session.id, set.session.id]);
      expect(await sessions.revoke(set.session.id, "bob")).to.equal(false);
      expect(await sessions.revoke(set.session.id, "alice")).to.equal(true);
      expect(await sessions.revoke(set.session.id, "alice")).to.equal(false);
      await sessions.create("alice");
      expect(await sessions.revokeAll("alice", { except: other.session.id })).to.equal(1);
      expect(await sessions.revokeAll("alice")).to.equal(1);
      expect(size()).to.equal(0);
      try {
        await sessions.verify(set.access_token);
        expect.fail("verify of a revoked session resolved");
      } catch (err) {
        expect(err).to.be.instanceOf(SessionError);
        expect((err as SessionError).code).to.equal("session_inactive");
      }
    });
  });
});
