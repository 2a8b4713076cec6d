/**
 * Cross-site requests and tossed cookies against the cookie transport.
 *
 * - A page on another site posts a form (text/plain, urlencoded, multipart)
 *   or a bare request to every route that sets or clears cookies. With
 *   SameSite=Strict no cookie arrives; whatever the answer, it must carry no
 *   Set-Cookie (a deletion would log the browser out) and change nothing.
 * - Two cookies of one session-cookie name (one set by a sibling subdomain
 *   with Domain=<parent>) are refused, and logout or refresh (passing the
 *   CSRF rule) send deletions for both.
 */
import { expect } from "chai";
import request from "supertest";
import type { MemoryStore } from "../../lib/index.js";
import { cookieCount } from "../../lib/http/transport.js";
import { buildApp, expectError, MOUNT, PASSWORD, setCookies, type TestApp } from "../http/app.js";

const ACCESS = "__Host-sg-access";
const REFRESH = "__Secure-sg-refresh";
const TRUSTED = "https://app.example";
const EVIL = "https://evil.example";

/** What a cross-site form can send: its three encodings, and a request without a body. */
const FORMS: Array<{ name: string; type?: string; body?: string }> = [
  { name: "a text/plain form", type: "text/plain", body: '{"refresh_token":"x"}' },
  { name: "an urlencoded form", type: "application/x-www-form-urlencoded", body: "user=alice&password=x" },
  {
    name: "a multipart form",
    type: "multipart/form-data; boundary=b",
    body: '--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n',
  },
  { name: "a bare POST" },
];

/** Every route that sets or clears cookies, as a cross-site page reaches it. */
const ROUTES: Array<{ method: "post" | "delete"; path: string }> = [
  { method: "post", path: `${MOUNT}/login` },
  { method: "post", path: `${MOUNT}/refresh` },
  { method: "post", path: `${MOUNT}/logout` },
  { method: "post", path: `${MOUNT}/logout-all` },
  { method: "delete", path: `${MOUNT}/sessions/some-session-id` },
];

describe("cookie transport against cross-site requests and tossed cookies", () => {
  let t: TestApp;
  let cookies: { access: string; refresh: string };
  const size = () => (t.store as MemoryStore).size;

  async function cookieApp(sameSite: "strict" | "lax" = "strict"): Promise<void> {
    t = buildApp({ guard: { transport: "cookie", trustedOrigins: [TRUSTED], cookie: { sameSite } } });
    const res = await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: PASSWORD });
    expect(res.status).to.equal(200);
    const set = setCookies(res);
    cookies = { access: set[ACCESS].value, refresh: set[REFRESH].value };
  }

  afterEach(async () => {
    await t.guard.close();
  });

  for (const route of ROUTES) {
    for (const form of FORMS) {
      it(`${form.name} to ${route.method.toUpperCase()} ${route.path} from another site: no Set-Cookie, nothing changed`, async () => {
        await cookieApp();
        const sent = request(t.app)[route.method](route.path).set("Origin", EVIL);
        if (form.type) sent.set("Content-Type", form.type);
        const res = await (form.body === undefined ? sent : sent.send(form.body));
        expect(res.status, JSON.stringify(res.body)).to.be.within(400, 499);
        expect(res.headers["content-type"]).to.match(/^application\/json/);
        expect(res.headers["set-cookie"], "Set-Cookie on a forged request").to.equal(undefined);
        expect(size()).to.equal(1);
        // The victim's cookies still work.
        const me = await request(t.app).get("/me").set("Cookie", `${ACCESS}=${cookies.access}`);
        expect(me.status).to.equal(200);
      });
    }
  }

  it("with SameSite=Lax the cookies arrive on a cross-site POST: csrf_failed, no Set-Cookie, the session lives", async () => {
    await cookieApp("lax");
    for (const route of ROUTES) {
      const agent = request(t.app);
      const res = await agent[route.method](route.path)
        .set("Origin", EVIL)
        .set("Cookie", `${ACCESS}=${cookies.access}; ${REFRESH}=${cookies.refresh}`)
        .set("Content-Type", "application/json")
        .send("{}");
      if (route.path.endsWith("/login")) expect(res.status).to.equal(401);
      else expectError(res, 403, "csrf_failed");
      expect(res.headers["set-cookie"], `Set-Cookie from ${route.path}`).to.equal(undefined);
    }
    expect(size()).to.equal(1);
  });

  it("a same-site logout without cookies (they expired) still clears them", async () => {
    await cookieApp();
    const res = await request(t.app).post(`${MOUNT}/logout`).set("Origin", TRUSTED);
    expectError(res, 401, "token_missing");
    const set = setCookies(res);
    expect(set[ACCESS]?.value).to.equal("");
    expect(set[REFRESH]?.value).to.equal("");
  });

  describe("two cookies of one name", () => {
    it("two refresh cookies: refresh is refused with 400 invalid_request, rotates nothing, and clears them on this host and its parents", async () => {
      await cookieApp();
      const tossed = "attacker-session-refresh-token";
      const res = await request(t.app)
        .post(`${MOUNT}/refresh`)
        .set("Host", "app.example.com")
        .set("Origin", TRUSTED)
        .set("Cookie", `${REFRESH}=${tossed}; ${REFRESH}=${cookies.refresh}`);
      expectError(res, 400, "invalid_request");
      expect(res.body.message).to.include(REFRESH);
      const lines = (res.headers["set-cookie"] as unknown as string[]).filter((l) => l.startsWith(`${REFRESH}=;`));
      expect(
        lines.some((l) => /Domain=example\.com/i.test(l) && /Path=\/auth\/refresh/.test(l)),
        lines.join("\n"),
      ).to.equal(true);
      expect(lines.some((l) => /Domain=app\.example\.com/i.test(l))).to.equal(true);
      expect(lines.some((l) => !/Domain=/i.test(l) && /Path=\/auth/.test(l))).to.equal(true);
      expect(t.eventsOf("refresh")).to.deep.equal([]);
      // The victim's own token was not spent: it still rotates once alone.
      const alone = await request(t.app).post(`${MOUNT}/refresh`).set("Origin", TRUSTED).set("Cookie", `${REFRESH}=${cookies.refresh}`);
      expect(alone.status).to.equal(200);
    });

    it("two access cookies: the guard refuses with 400 invalid_request", async () => {
      await cookieApp();
      const res = await request(t.app).get("/me").set("Cookie", `${ACCESS}=${cookies.access}; ${ACCESS}=${cookies.access}`);
      expectError(res, 400, "invalid_request", { tokenPresented: true });
      const once = await request(t.app).get("/me").set("Cookie", `${ACCESS}=${cookies.access}; other=1`);
      expect(once.status).to.equal(200);
    });

    it("two refresh cookies on a logout: 400, both cleared; a cross-site one clears nothing", async () => {
      await cookieApp();
      const header = `${REFRESH}=x; ${REFRESH}=${cookies.refresh}`;
      const forged = await request(t.app).post(`${MOUNT}/logout`).set("Origin", EVIL).set("Cookie", header);
      expectError(forged, 400, "invalid_request");
      expect(forged.headers["set-cookie"]).to.equal(undefined);
      const res = await request(t.app).post(`${MOUNT}/logout`).set("X-Requested-With", "fetch").set("Cookie", header);
      expectError(res, 400, "invalid_request");
      expect(setCookies(res)[REFRESH]?.value).to.equal("");
    });

    it("counts only whole cookie names", () => {
      expect(cookieCount(undefined, "a")).to.equal(0);
      expect(cookieCount("a=1", "a")).to.equal(1);
      expect(cookieCount("ba=1; a=2; ab=3; xa =4", "a")).to.equal(1);
      expect(cookieCount("a=1;a=2", "a")).to.equal(2);
      expect(cookieCount(" a = 1 ;\ta=2", "a")).to.equal(2);
      expect(cookieCount("b=a=1", "a")).to.equal(0);
    });
  });
});
