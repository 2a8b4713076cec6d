// Cookie transport against a hostile page: forms and fetches from another
// site must not log the browser out, and a second session cookie tossed in
// by a sibling subdomain must never be read.
import cookieParser from "cookie-parser";
import express from "express";
import { expect } from "chai";
import request from "supertest";
import { createSessionRouter, MemoryStore, sessionGuard } from "../../lib/index.js";
import { cookieCount } from "../../lib/http/transport.js";
import { buildApp, expectError, MOUNT, PASSWORD, SECRET, setCookies, type AppOptions, type TestApp } from "../http/app.js";
import { fakeClock } from "../support/clock.js";

const ACCESS = "__Host-sg-access";
const REFRESH = "__Secure-sg-refresh";
const EVIL = "https://evil.example";

/** The raw `Set-Cookie` lines of an answer (none: `[]`). */
function setCookieLines(res: request.Response): string[] {
  return (res.headers["set-cookie"] as unknown as string[] | undefined) ?? [];
}

/** A parsed `Set-Cookie` line: name, value and lower-cased attributes. */
function parseLine(line: string): { name: string; value: string; attributes: Record<string, string | true> } {
  const [pair, ...attrs] = line.split(";").map((s) => s.trim());
  const eq = pair!.indexOf("=");
  const attributes: Record<string, string | true> = {};
  for (const attr of attrs) {
    const i = attr.indexOf("=");
    if (i === -1) attributes[attr.toLowerCase()] = true;
    else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
  }
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
}

/** What a hostile page can send without a CORS preflight: the three form encodings (a no-cors fetch is text/plain). */
const FORM_BODIES: Array<{ type: string; send: (req: request.Test) => request.Test }> = [
  { type: "text/plain", send: (req) => req.set("Content-Type", "text/plain").send(`{"keep_current":false,"x":"=1"}`) },
  { type: "application/x-www-form-urlencoded", send: (req) => req.type("form").send({ keep_current: "false" }) },
  { type: "multipart/form-data", send: (req) => req.field("keep_current", "false") },
];

describe("cookie transport against forged requests", () => {
  let t: TestApp;
  afterEach(async () => {
    await t.guard.close();
  });

  function cookieApp(options: AppOptions = {}): TestApp {
    t = buildApp({ ...options, guard: { transport: "cookie", ...options.guard } });
    return t;
  }

  /** Logs in over JSON and returns the `Cookie` header the browser would send to the router and the session id. */
  async function cookieLogin(user = "alice"): Promise<{ header: string; access: string; refresh: string; id: string }> {
    const res = await request(t.app).post(`${MOUNT}/login`).send({ user, password: PASSWORD });
    expect(res.status).to.equal(200);
    const cookies = setCookies(res);
    const access = cookies[ACCESS]!.value;
    const refresh = cookies[REFRESH]!.value;
    return { header: `${ACCESS}=${access}; ${REFRESH}=${refresh}`, access, refresh, id: res.body.session.id };
  }

  /** The store's whole state for `alice`: records with refresh generations and digests. */
  const aliceState = async () => JSON.stringify(await t.store.list("alice", t.clock.now()));

  describe("a cross-site form or fetch changes nothing", () => {
    // Every route that sets or clears cookies, and what a forged request to it answers.
    const ROUTES: Array<{
      name: string;
      method: "post" | "delete";
      path: (id: string) => string;
      /** Without cookies (SameSite kept them back): status and code. */
      bare: [number, string];
    }> = [
      { name: "login", method: "post", path: () => `${MOUNT}/login`, bare: [400, "invalid_request"] },
      { name: "refresh", method: "post", path: () => `${MOUNT}/refresh`, bare: [400, "invalid_request"] },
      { name: "logout", method: "post", path: () => `${MOUNT}/logout`, bare: [400, "invalid_request"] },
      { name: "logout-all", method: "post", path: () => `${MOUNT}/logout-all`, bare: [400, "invalid_request"] },
      { name: "revoke by id", method: "delete", path: (id) => `${MOUNT}/sessions/${id}`, bare: [401, "token_missing"] },
    ];

    for (const route of ROUTES) {
      for (const body of FORM_BODIES) {
        it(`${route.name}, ${body.type}, without the SameSite cookies: no Set-Cookie, the session untouched`, async () => {
          cookieApp();
          const { id } = await cookieLogin();
          const before = await aliceState();
          const res = await body.send(request(t.app)[route.method](route.path(id)).set("Origin", EVIL));
          expectError(res, route.bare[0], route.bare[1]);
          expect(setCookieLines(res)).to.deep.equal([]);
          expect(await aliceState()).to.equal(before);
          expect((t.store as MemoryStore).size).to.equal(1);
        });

        it(`${route.name}, ${body.type}, with the cookies (a same-site sibling page): no Set-Cookie, the session untouched`, async () => {
          cookieApp();
          const { header, id } = await cookieLogin();
          const before = await aliceState();
          const res = await body.send(request(t.app)[route.method](route.path(id)).set("Origin", EVIL).set("Cookie", header));
          // Login reads no cookie: a form is refused for not being JSON.
          if (route.name === "login") expectError(res, 400, "invalid_request");
          else expectError(res, 403, "csrf_failed");
          expect(setCookieLines(res)).to.deep.equal([]);
          expect(await aliceState()).to.equal(before);
          expect((t.store as MemoryStore).size).to.equal(1);
        });
      }
    }

    it("a forged JSON-less logout without any Origin (an old browser) clears nothing either", async () => {
      cookieApp();
      await cookieLogin();
      const res = await request(t.app).post(`${MOUNT}/logout`).set("Content-Type", "text/plain").send("x");
      expectError(res, 400, "invalid_request");
      expect(setCookieLines(res)).to.deep.equal([]);
      const bare = await request(t.app).post(`${MOUNT}/logout`);
      expectError(bare, 401, "token_missing");
      expect(setCookieLines(bare)).to.deep.equal([]);
      expect((t.store as MemoryStore).size).to.equal(1);
    });

    it("the page's own logout still clears both cookies when its session is gone or its cookies expired", async () => {
      cookieApp();
      await cookieLogin();
      // The browser dropped both cookies (expired): the page's request passes the CSRF rule.
      const res = await request(t.app).post(`${MOUNT}/logout`).set("X-Requested-With", "fetch");
      expectError(res, 401, "token_missing");
      expect(Object.keys(setCookies(res)).sort()).to.deep.equal([ACCESS, REFRESH]);
      for (const c of Object.values(setCookies(res))) expect(c.value).to.equal("");
    });

    it("a trusted Origin is proof enough to clear", async () => {
      cookieApp({ guard: { trustedOrigins: ["https://app.example"] } });
      const { header } = await cookieLogin();
      const res = await request(t.app).post(`${MOUNT}/logout`).set("Origin", "https://app.example").set("Cookie", header);
      expect(res.status).to.equal(204);
      expect(Object.keys(setCookies(res)).sort()).to.deep.equal([ACCESS, REFRESH]);
      expect((t.store as MemoryStore).size).to.equal(0);
    });

    it('"both": a Bearer logout needs no CSRF header and clears the cookies; a body token beside the cookies needs the proof', async () => {
      t = buildApp({ guard: { transport: "both" } });
      const login = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
      const cookieHeader = `${ACCESS}=${login.body.access_token}; ${REFRESH}=${login.body.refresh_token}`;
      const forged = await request(t.app)
        .post(`${MOUNT}/refresh`)
        .set("Cookie", cookieHeader)
        .send({ refresh_token: login.body.refresh_token });
      expectError(forged, 403, "csrf_failed");
      expect(setCookieLines(forged)).to.deep.equal([]);
      const res = await request(t.app)
        .post(`${MOUNT}/logout`)
        .set("Authorization", `Bearer ${login.body.access_token}`)
        .set("Cookie", cookieHeader);
      expect(res.status).to.equal(204);
      expect(Object.keys(setCookies(res)).sort()).to.deep.equal([ACCESS, REFRESH]);
      expect((t.store as MemoryStore).size).to.equal(0);
    });
  });

  describe("cookie tossing: two cookies of one session-cookie name", () => {
    it("cookieCount sees every cookie of a name, and only whole names", () => {
      expect(cookieCount(undefined, REFRESH)).to.equal(0);
      expect(cookieCount(`a=1; ${REFRESH}=x`, REFRESH)).to.equal(1);
      expect(cookieCount(`${REFRESH}=x;${REFRESH}=y`, REFRESH)).to.equal(2);
      expect(cookieCount(`${REFRESH}=x; other=${REFRESH}`, REFRESH)).to.equal(1);
      expect(cookieCount(`x${REFRESH}=1; ${REFRESH}x=2`, REFRESH)).to.equal(0);
      // A nameless cookie is sent as its bare value: it counts as the name.
      expect(cookieCount(`${REFRESH}; ${REFRESH}=y`, REFRESH)).to.equal(2);
      expect(cookieCount(`  ${REFRESH} =x ;\t${REFRESH}=y`, REFRESH)).to.equal(2);
    });

    it("refresh with the attacker's refresh cookie sent first is 400 invalid_request: no session rotates, and both go", async () => {
      cookieApp();
      const victim = await cookieLogin("alice");
      const attacker = await cookieLogin("mallory");
      const before = await aliceState();
      const malloryBefore = JSON.stringify(await t.store.list("mallory", t.clock.now()));
      const res = await request(t.app)
        .post(`${MOUNT}/refresh`)
        .set("Host", "app.example.com")
        .set("X-Requested-With", "fetch")
        .set("Cookie", `${REFRESH}=${attacker.refresh}; ${ACCESS}=${victim.access}; ${REFRESH}=${victim.refresh}`);
      expectError(res, 400, "invalid_request");
      expect(res.body.message).to.contain(`\`${REFRESH}\``);
      expect(t.eventsOf("refresh")).to.deep.equal([]);
      expect(await aliceState()).to.equal(before);
      expect(JSON.stringify(await t.store.list("mallory", t.clock.now()))).to.equal(malloryBefore);

      const lines = setCookieLines(res).map(parseLine);
      for (const line of lines) {
        expect(line.value).to.equal("");
        expect(Date.parse(line.attributes.expires as string)).to.be.below(Date.now());
        expect(line.attributes).to.include({ httponly: true, secure: true });
      }
      // Host-only, for the host itself and for each parent domain; at "/", the mount and each cookie route.
      const refreshLines = lines
        .filter((l) => l.name === REFRESH)
        .map((l) => `${l.attributes.domain ?? "(host)"} ${l.attributes.path}`)
        .sort();
      const expected: string[] = [];
      for (const domain of ["(host)", "app.example.com", "example.com"]) {
        for (const path of ["/", "/auth", "/auth/logout", "/auth/logout-all", "/auth/refresh"]) expected.push(`${domain} ${path}`);
      }
      expect(refreshLines).to.deep.equal(expected.sort());
      // A __Host- cookie cannot be tossed: only its own deletion.
      expect(lines.filter((l) => l.name === ACCESS).map((l) => `${l.attributes.domain ?? "(host)"} ${l.attributes.path}`)).to.deep.equal([
        "(host) /",
      ]);

      // Neither token was spent: each still refreshes its own session.
      for (const token of [victim.refresh, attacker.refresh]) {
        const again = await request(t.app).post(`${MOUNT}/refresh`).set("X-Requested-With", "fetch").set("Cookie", `${REFRESH}=${token}`);
        expect(again.status).to.equal(200);
      }
      expect(t.eventsOf("reuse_detected")).to.deep.equal([]);
    });

    it("the guard refuses two access cookies, with or without cookie-parser; one is fine", async () => {
      for (const parser of [true, false]) {
        cookieApp({ cookieParser: parser, guard: { cookie: { domain: "example.com" } } });
        const login = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
        const victim = setCookies(login)["__Secure-sg-access"]!.value;
        const attacker = setCookies(await request(t.app).post(`${MOUNT}/login`).send({ user: "mallory", password: PASSWORD }))[
          "__Secure-sg-access"
        ]!.value;
        const res = await request(t.app).get("/me").set("Cookie", `__Secure-sg-access=${attacker}; __Secure-sg-access=${victim}`);
        expectError(res, 400, "invalid_request");
        expect(res.body.message).to.contain("`__Secure-sg-access`");
        const one = await request(t.app).get("/me").set("Cookie", `__Secure-sg-access=${victim}`);
        expect(one.status).to.equal(200);
        expect(one.body.userId).to.equal("alice");
        await t.guard.close();
      }
      cookieApp();
    });

    it("logout with a tossed cookie is refused but clears them all, the configured domain's too", async () => {
      cookieApp({ guard: { cookie: { domain: "example.com" } } });
      const login = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
      const cookies = setCookies(login);
      const access = cookies["__Secure-sg-access"]!.value;
      const refresh = cookies[REFRESH]!.value;
      const res = await request(t.app)
        .post(`${MOUNT}/logout`)
        .set("Host", "www.app.example.com")
        .set("X-Requested-With", "fetch")
        .set("Cookie", `__Secure-sg-access=tossed; __Secure-sg-access=${access}; ${REFRESH}=${refresh}`);
      expectError(res, 400, "invalid_request");
      const lines = setCookieLines(res).map(parseLine);
      const keys = (name: string) =>
        lines
          .filter((l) => l.name === name)
          .map((l) => `${l.attributes.domain ?? "(host)"} ${l.attributes.path}`)
          .sort();
      const all: string[] = [];
      for (const domain of ["(host)", "app.example.com", "example.com", "www.app.example.com"]) {
        for (const path of ["/", "/auth", "/auth/logout", "/auth/logout-all", "/auth/refresh"]) all.push(`${domain} ${path}`);
      }
      expect(keys("__Secure-sg-access")).to.deep.equal(all.sort());
      expect(keys(REFRESH)).to.deep.equal(all.sort());
      // The cookies a normal logout clears are among them, once each.
      expect(
        lines.filter((l) => l.name === REFRESH && l.attributes.domain === "example.com" && l.attributes.path === MOUNT),
      ).to.have.length(1);
      // Refused: the session is not ended by a request whose cookies are in doubt.
      expect((t.store as MemoryStore).size).to.equal(1);
    });

    it("a forged request with a tossed cookie is csrf_failed and clears nothing", async () => {
      cookieApp();
      const victim = await cookieLogin();
      for (const path of ["/logout", "/refresh"]) {
        const res = await request(t.app)
          .post(`${MOUNT}${path}`)
          .set("Origin", EVIL)
          .set("Cookie", `${REFRESH}=x; ${victim.header}`)
          .set("Content-Type", "text/plain")
          .send("x");
        expectError(res, 403, "csrf_failed");
        expect(setCookieLines(res)).to.deep.equal([]);
      }
      expect((t.store as MemoryStore).size).to.equal(1);
    });

    it("at a root mount, the tossed paths are the routes' own", async () => {
      const store = new MemoryStore({ sweepInterval: 0 });
      const guard = sessionGuard({ store, secret: SECRET, transport: "cookie", now: fakeClock().now });
      const app = express();
      app.use(cookieParser());
      app.use("/", createSessionRouter(guard, { authenticate: () => ({ userId: "alice" }), routes: { logoutAll: false } }));
      const res = await request(app)
        .post("/refresh")
        .set("Host", "localhost")
        .set("X-Requested-With", "fetch")
        .set("Cookie", `${REFRESH}=a; ${REFRESH}=b`);
      expectError(res, 400, "invalid_request");
      const lines = setCookieLines(res).map(parseLine);
      // localhost has no parent domain: host-only deletions at "/" (the mount) and each cookie route.
      expect(
        lines
          .filter((l) => l.name === REFRESH)
          .map((l) => `${l.attributes.domain ?? "(host)"} ${l.attributes.path}`)
          .sort(),
      ).to.deep.equal(["(host) /", "(host) /logout", "(host) /refresh"]);
      await guard.close();
    });
  });
});
