/**
 * Cookie transport and the CSRF rule: cookie names, attributes
 * and paths, what the guard and the routes read, and when an unsafe
 * cookie-authenticated request passes.
 */
import { expect } from "chai";
import request from "supertest";
import type { MemoryStore } from "../../lib/index.js";
import { buildApp, expectError, login, MOUNT, PASSWORD, setCookies, type AppOptions, type TestApp } from "./app.js";

const ACCESS = "__Host-sg-access";
const REFRESH = "__Secure-sg-refresh";
const TRUSTED = "https://app.example";

describe("cookie transport", () => {
  let t: TestApp;
  afterEach(async () => {
    await t.guard.close();
  });
  const size = () => (t.store as MemoryStore).size;

  function cookieApp(options: AppOptions = {}): TestApp {
    t = buildApp({ ...options, guard: { transport: "cookie", trustedOrigins: [TRUSTED], ...options.guard } });
    return t;
  }

  /** Logs in and returns the two cookie values. */
  async function cookieLogin(user = "alice", mount = MOUNT): Promise<{ access: string; refresh: string; res: request.Response }> {
    const res = await request(t.app).post(`${mount}/login`).send({ user, password: PASSWORD });
    expect(res.status).to.equal(200);
    const cookies = setCookies(res);
    const names = Object.keys(cookies);
    const access = cookies[names.find((n) => n.endsWith("sg-access"))!].value;
    const refresh = cookies[names.find((n) => n.endsWith("sg-refresh"))!].value;
    return { access, refresh, res };
  }

  it("login sets HttpOnly, Secure, SameSite cookies with __Host-/__Secure- names and leaves tokens out of the body", async () => {
    cookieApp();
    const { res } = await cookieLogin();
    expect(res.headers["cache-control"]).to.equal("no-store");
    expect(res.body).to.have.all.keys("token_type", "expires_in", "session");
    const cookies = setCookies(res);
    expect(Object.keys(cookies).sort()).to.deep.equal([ACCESS, REFRESH]);
    expect(cookies[ACCESS].attributes).to.include({ path: "/", httponly: true, secure: true, samesite: "Strict", "max-age": "900" });
    expect(cookies[ACCESS].attributes).to.not.have.property("domain");
    // The refresh cookie lives until the absolute deadline (30 days by default), not the
    // sliding idle one: guarded requests slide the session without renewing the cookie.
    expect(cookies[REFRESH].attributes).to.include({
      path: MOUNT,
      httponly: true,
      secure: true,
      samesite: "Strict",
      "max-age": String(30 * 24 * 3600),
    });
    expect(cookies[ACCESS].value.split(".")).to.have.length(3);
    expect(cookies[REFRESH].value.split(".")).to.have.length(4);
  });

  it("the refresh cookie's Path is the router's mount path", async () => {
    cookieApp({ mount: "/api/v1/auth" });
    const { res } = await cookieLogin("alice", "/api/v1/auth");
    expect(setCookies(res)[REFRESH].attributes.path).to.equal("/api/v1/auth");
  });

  it("secure: false drops the prefixes and the Secure attribute; sameSite is configurable", async () => {
    cookieApp({ guard: { cookie: { secure: false, sameSite: "lax" } } });
    const { res } = await cookieLogin();
    const cookies = setCookies(res);
    expect(Object.keys(cookies).sort()).to.deep.equal(["sg-access", "sg-refresh"]);
    for (const c of Object.values(cookies)) {
      expect(c.attributes).to.not.have.property("secure");
      expect(c.attributes).to.include({ httponly: true, samesite: "Lax" });
    }
  });

  it("a cookie domain makes the access cookie __Secure- (since __Host- forbids a domain)", async () => {
    cookieApp({ guard: { cookie: { domain: "example.com", accessName: "at", refreshName: "rt" } } });
    const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
    const cookies = setCookies(res);
    expect(Object.keys(cookies).sort()).to.deep.equal(["__Secure-at", "__Secure-rt"]);
    expect(cookies["__Secure-at"].attributes).to.include({ domain: "example.com", path: "/" });
  });

  it("a safe request authenticated by cookie needs no CSRF proof", async () => {
    cookieApp();
    const { access } = await cookieLogin();
    const res = await request(t.app).get("/me").set("Cookie", `${ACCESS}=${access}`);
    expect(res.status).to.equal(200);
    expect(res.body.userId).to.equal("alice");
  });

  it("works without cookie-parser, reading the Cookie header", async () => {
    cookieApp({ cookieParser: false });
    const { access } = await cookieLogin();
    const res = await request(t.app).get("/me").set("Cookie", `other=1; ${ACCESS}=${access}`);
    expect(res.status).to.equal(200);
  });

  describe("CSRF", () => {
    it("an unsafe cookie-authenticated request without Origin or header is 403 csrf_failed", async () => {
      cookieApp();
      const { access } = await cookieLogin();
      expectError(await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`), 403, "csrf_failed");
      expectError(
        await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("Origin", "https://evil.example"),
        403,
        "csrf_failed",
      );
      expectError(
        await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("Origin", `${TRUSTED}.evil`),
        403,
        "csrf_failed",
      );
    });

    it("a trusted Origin passes; so does the CSRF header with any value", async () => {
      cookieApp();
      const { access } = await cookieLogin();
      expect((await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("Origin", TRUSTED)).status).to.equal(200);
      expect(
        (await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("X-Requested-With", "XMLHttpRequest")).status,
      ).to.equal(200);
      expect((await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("X-Requested-With", "")).status).to.equal(200);
    });

    it("a custom csrfHeader replaces x-requested-with", async () => {
      cookieApp({ guard: { csrfHeader: "X-CSRF" } });
      const { access } = await cookieLogin();
      expectError(await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("X-Requested-With", "x"), 403, "csrf_failed");
      expect((await request(t.app).post("/me").set("Cookie", `${ACCESS}=${access}`).set("x-csrf", "1")).status).to.equal(200);
    });

    it("a Bearer-authenticated unsafe request needs neither", async () => {
      t = buildApp({ guard: { transport: "both" } });
      const tokens = await login(t, "alice");
      expect((await request(t.app).post("/me").set("Authorization", `Bearer ${tokens.access_token}`)).status).to.equal(200);
    });

    it("refresh and logout by cookie need the proof too", async () => {
      cookieApp();
      const { access, refresh } = await cookieLogin();
      expectError(await request(t.app).post(`${MOUNT}/refresh`).set("Cookie", `${REFRESH}=${refresh}`), 403, "csrf_failed");
      expectError(
        await request(t.app).post(`${MOUNT}/logout`).set("Cookie", `${ACCESS}=${access}; ${REFRESH}=${refresh}`),
        403,
        "csrf_failed",
      );
      expect(size()).to.equal(1);
      const res = await request(t.app).post(`${MOUNT}/refresh`).set("Cookie", `${REFRESH}=${refresh}`).set("Origin", TRUSTED);
      expect(res.status).to.equal(200);
      expect(res.body).to.not.have.property("refresh_token");
      const cookies = setCookies(res);
      expect(Object.keys(cookies).sort()).to.deep.equal([ACCESS, REFRESH]);
      expect(cookies[REFRESH].value).to.not.equal(refresh);
      expect((await request(t.app).get("/me").set("Cookie", `${ACCESS}=${cookies[ACCESS].value}`)).status).to.equal(200);
    });
  });

  it("logout clears both cookies and ends the session", async () => {
    cookieApp();
    const { access, refresh } = await cookieLogin();
    const res = await request(t.app)
      .post(`${MOUNT}/logout`)
      .set("Cookie", `${ACCESS}=${access}; ${REFRESH}=${refresh}`)
      .set("X-Requested-With", "fetch");
    expect(res.status).to.equal(204);
    const cleared = setCookies(res);
    expect(Object.keys(cleared).sort()).to.deep.equal([ACCESS, REFRESH]);
    expect(cleared[ACCESS].value).to.equal("");
    expect(cleared[REFRESH].value).to.equal("");
    expect(cleared[ACCESS].attributes.path).to.equal("/");
    expect(cleared[REFRESH].attributes.path).to.equal(MOUNT);
    for (const c of Object.values(cleared)) expect(Date.parse(c.attributes.expires as string)).to.be.below(Date.now());
    expect(size()).to.equal(0);
    expectError(await request(t.app).get("/me").set("Cookie", `${ACCESS}=${access}`), 401, "session_inactive", { tokenPresented: true });
  });

  it("logout with only the refresh cookie (access cookie expired) ends the session", async () => {
    cookieApp();
    const { refresh } = await cookieLogin();
    const res = await request(t.app).post(`${MOUNT}/logout`).set("Cookie", `${REFRESH}=${refresh}`).set("Origin", TRUSTED);
    expect(res.status).to.equal(204);
    expect(size()).to.equal(0);
  });

  it("a j: cookie value (an object after cookie-parser) is token_invalid", async () => {
    cookieApp();
    await cookieLogin();
    const value = encodeURIComponent('j:{"sub":"alice"}');
    const res = await request(t.app).get("/me").set("Cookie", `${ACCESS}=${value}`);
    expectError(res, 401, "token_invalid", { tokenPresented: true });
    const refreshRes = await request(t.app).post(`${MOUNT}/refresh`).set("Cookie", `${REFRESH}=${value}`).set("Origin", TRUSTED);
    expectError(refreshRes, 401, "refresh_token_invalid");
    expect(size()).to.equal(1);
  });

  it('"cookie" transport ignores the Authorization header', async () => {
    cookieApp();
    const { access } = await cookieLogin();
    expectError(await request(t.app).get("/me").set("Authorization", `Bearer ${access}`), 401, "token_missing");
    // and a disagreeing header does not matter either
    expect((await request(t.app).get("/me").set("Authorization", "Bearer x.y.z").set("Cookie", `${ACCESS}=${access}`)).status).to.equal(
      200,
    );
  });

  describe('"both" transport', () => {
    it("sends the tokens in the body and as cookies", async () => {
      t = buildApp({ guard: { transport: "both" } });
      const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
      expect(res.status).to.equal(200);
      const cookies = setCookies(res);
      expect(res.body).to.have.all.keys("access_token", "token_type", "expires_in", "refresh_token", "session");
      expect(cookies[ACCESS].value).to.equal(res.body.access_token);
      expect(cookies[REFRESH].value).to.equal(res.body.refresh_token);
      expect((await request(t.app).get("/me").set("Authorization", `Bearer ${res.body.access_token}`)).status).to.equal(200);
      expect((await request(t.app).get("/me").set("Cookie", `${ACCESS}=${res.body.access_token}`)).status).to.equal(200);
    });

    it("a Bearer header and a cookie that disagree are 400 invalid_request", async () => {
      t = buildApp({ guard: { transport: "both" } });
      const a = await login(t, "alice");
      const b = await login(t, "bob");
      const res = await request(t.app)
        .get("/me")
        .set("Authorization", `Bearer ${a.access_token}`)
        .set("Cookie", `${ACCESS}=${b.access_token}`);
      expectError(res, 400, "invalid_request", { tokenPresented: true });
      const same = await request(t.app)
        .get("/me")
        .set("Authorization", `Bearer ${a.access_token}`)
        .set("Cookie", `${ACCESS}=${a.access_token}`);
      expect(same.status).to.equal(200);
    });
  });
});
