/**
 * The example's devices page in a real headless Chromium: two browser
 * contexts are two devices of one user; another site (127.0.0.1, while the
 * app is on localhost) tries to log the victim out or in.
 *
 * `npm run test:e2e` (not part of `npm test`). Screenshots of each view go
 * to test/e2e/screenshots/ (git-ignored) on every run; E2E_UPDATE_DOCS=1
 * also writes docs/devices.png. E2E_REDIS=1 runs the app on a RedisStore
 * (a private redis-server this run starts and stops).
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { devices, type Browser, type BrowserContext, type Cookie, type Page, type Request, type Response } from "playwright-core";
import { startRedis, type RedisNode } from "../support/redis-server.js";
import { collectConsole, launchChromium, type ConsoleErrors } from "./support/browser.js";
import { startExample, type ExampleApp } from "../support/example.js";
import { FORM_ENCODINGS, startOtherSite, type OtherSite } from "./support/other-site.js";

const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL("../../docs/devices.png", import.meta.url));
/** The page's note of when this device's access cookie lapses. */
const HINT = "acme:access-expires-at";
/** The example's cookies on plain http (no Secure, so no __Host-/__Secure- prefix). */
const ACCESS = "sg-access";
const REFRESH = "sg-refresh";
/**
 * The app's JWT clock tolerance in the first suite, in seconds: short, so a lapsed token is refused
 * soon, yet at least the 1 s by which a token (its `iat` a whole second) can end before its cookie.
 */
const TOLERANCE = 1;
const DESKTOP = { viewport: { width: 1120, height: 720 }, deviceScaleFactor: 1, locale: "en-US", timezoneId: "UTC" };

let redis: RedisNode | undefined;
async function storeEnv(): Promise<Record<string, string>> {
  if (process.env.E2E_REDIS !== "1") return {};
  redis ??= await startRedis();
  return { REDIS_URL: redis.url };
}

after(async () => {
  await redis?.stop();
});

/** The app's answers a page received, as `<status> <METHOD> <path>`, in order (static files left out). */
function recordCalls(page: Page, base: string): { calls: string[]; bodies: Map<string, unknown> } {
  const calls: string[] = [];
  const bodies = new Map<string, unknown>();
  page.on("response", (response: Response) => {
    const url = new URL(response.url());
    if (!response.url().startsWith(base) || !/^\/(auth|api)\//.test(url.pathname)) return;
    const index = calls.push(`${response.status()} ${response.request().method()} ${url.pathname}`) - 1;
    if (response.status() >= 400)
      void response.json().then(
        (body) => bodies.set(String(index), body),
        () => undefined,
      );
  });
  return { calls, bodies };
}

async function cookieNamed(context: BrowserContext, name: string): Promise<Cookie | undefined> {
  return (await context.cookies()).find((c) => c.name === name);
}

/** Polls (every 50 ms, up to `ms`) until `check` is true. */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The rows of the sessions list as the page shows them. */
async function sessionRows(
  page: Page,
): Promise<Array<{ current: boolean; name: string; os: string; badges: string[]; ip: string; used: string }>> {
  return page.$$eval("#sessions .session", (rows) =>
    rows.map((row) => ({
      current: (row as HTMLElement).dataset.current === "true",
      name: row.querySelector(".session-name")!.textContent!,
      os: row.querySelector(".session-os")!.textContent!,
      badges: [...row.querySelectorAll(".badge")].map((b) => b.textContent!),
      ip: row.querySelector(".session-ip")!.textContent!,
      used: row.querySelector(".session-used")!.textContent!,
    })),
  );
}

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true, animations: "disabled" });
}

describe("the devices page in headless Chromium", function () {
  let app: ExampleApp;
  let browser: Browser;
  let a: BrowserContext;
  let b: BrowserContext;
  let pageA: Page;
  let pageB: Page;
  let consoleA: ConsoleErrors;
  let consoleB: ConsoleErrors;
  let callsA: string[];
  let bodiesA: Map<string, unknown>;
  let callsB: string[];

  before(async () => {
    [app, browser] = await Promise.all([
      startExample({ ACCESS_TOKEN_TTL: "2s", JWT_CLOCK_TOLERANCE: String(TOLERANCE), ...(await storeEnv()) }),
      launchChromium(),
    ]);
    a = await browser.newContext(DESKTOP);
    b = await browser.newContext({ ...devices["Pixel 7"], locale: "en-US", timezoneId: "UTC" });
    pageA = await a.newPage();
    pageB = await b.newPage();
    consoleA = collectConsole(pageA);
    consoleB = collectConsole(pageB);
    ({ calls: callsA, bodies: bodiesA } = recordCalls(pageA, app.url));
    ({ calls: callsB } = recordCalls(pageB, app.url));
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  it("shows the login form with the demo credentials, and signs in by keyboard alone with remember me (device A)", async () => {
    await pageA.goto(app.url);
    await pageA.locator("#login-view").waitFor({ state: "visible" });
    expect(await pageA.locator("#account-view").isHidden()).to.equal(true);
    const demo = await pageA.locator(".demo").textContent();
    expect(demo).to.contain("ada@example.com").and.contain("correct horse");
    // A first-time visitor costs no call that fails.
    expect(callsA).to.deep.equal([]);
    await shoot(pageA, "login");

    const focused = () => pageA.evaluate(() => document.activeElement?.id);
    await pageA.locator("#email").focus();
    await pageA.keyboard.type("ada@example.com");
    await pageA.keyboard.press("Tab");
    expect(await focused()).to.equal("password");
    await pageA.keyboard.type("correct horse");
    await pageA.keyboard.press("Tab");
    expect(await focused()).to.equal("remember");
    await pageA.keyboard.press("Space");
    expect(await pageA.locator("#remember").isChecked()).to.equal(true);
    await pageA.keyboard.press("Tab");
    expect(await focused()).to.equal("login-submit");
    await pageA.keyboard.press("Enter");

    await pageA.locator("#account-view").waitFor({ state: "visible" });
    expect(await focused()).to.equal("account-title");
    expect(await pageA.locator("#me-name").textContent()).to.equal("Ada Lovelace");
    expect(await pageA.locator("#me-email").textContent()).to.equal("ada@example.com");
    expect(await pageA.locator("#me-role").textContent()).to.equal("admin");
    expect(await pageA.locator("#me-access").textContent()).to.match(/^Renews (in [12] s|on your next action)$/);
    expect(await pageA.locator("#me-session").textContent()).to.match(/^Expires in 30 daysSigned in .+, remembered on this device$/);
    expect(callsA).to.deep.equal(["200 POST /auth/login", "200 GET /api/me", "200 GET /auth/sessions"]);
    const cookies = Object.fromEntries((await a.cookies()).map((c) => [c.name, c]));
    expect(cookies[ACCESS]).to.include({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(cookies[REFRESH]).to.include({ httpOnly: true, sameSite: "Strict", path: "/auth" });
  });

  it("device B signs in with the demo button, without remember me", async () => {
    await pageB.goto(app.url);
    await pageB.locator("#fill-demo").click();
    await pageB.locator("#login-submit").click();
    await pageB.locator("#account-view").waitFor({ state: "visible" });
    expect(await pageB.locator("#me-session").textContent()).to.match(/^Expires tomorrowSigned in .+, until you close the session$/);
    const rows = await sessionRows(pageB);
    expect(rows).to.have.length(2);
    expect(rows[0]).to.include({ current: true });
    await shoot(pageB, "sessions-phone");
  });

  it("A sees both sessions, newest first: browser, OS, device type, IP, last use, badges, this device", async () => {
    await pageA.locator("#reload-sessions").click();
    await until("two sessions on A", async () => (await sessionRows(pageA)).length === 2);
    const [newest, oldest] = await sessionRows(pageA);
    expect(newest!.current).to.equal(false);
    expect(newest!.name).to.match(/^Chrome \d+$/);
    expect(newest!.os).to.equal("Android 14 · Phone");
    expect(newest!.badges).to.deep.equal([]);
    expect(oldest!.current).to.equal(true);
    expect(oldest!.name).to.match(/^Chrome \d+$/);
    expect(oldest!.os).to.equal("Linux · Desktop");
    expect(oldest!.badges).to.deep.equal(["This device", "Remember me"]);
    for (const row of [newest!, oldest!]) {
      expect(row.ip).to.equal("IP 127.0.0.1");
      expect(row.used).to.equal("Last active just now");
    }
    expect(await pageA.locator("#sessions-count").textContent()).to.equal("2");
    await shoot(pageA, "sessions");
    if (process.env.E2E_UPDATE_DOCS === "1") await pageA.screenshot({ path: DOCS_SCREENSHOT, animations: "disabled" });
    await pageA.emulateMedia({ colorScheme: "dark" });
    await shoot(pageA, "sessions-dark");
    await pageA.emulateMedia({ colorScheme: "light" });
  });

  it("A revokes B; B's next action lands on the login form with a message", async () => {
    const row = pageA.locator("#sessions .session[data-current=false]");
    await row.locator(".session-action").click();
    await until("one session on A", async () => (await sessionRows(pageA)).length === 1);
    expect(await pageA.locator("#notice-text").textContent()).to.match(/^Signed out Chrome \d+ on Android 14\.$/);
    expect(await pageA.evaluate(() => document.activeElement?.id)).to.equal("sessions-title");

    callsB.length = 0;
    await pageB.locator("#reload-sessions").click();
    await pageB.locator("#login-view").waitFor({ state: "visible" });
    expect(await pageB.locator("#login-message").textContent()).to.equal(
      "This device was signed out: its session was ended, perhaps from another device. Sign in again.",
    );
    expect(callsB).to.deep.equal(["401 GET /auth/sessions"]);
  });

  it("A's remember-me session survives a reload and the access token's expiry", async () => {
    callsA.length = 0;
    await pageA.reload();
    await pageA.locator("#account-view").waitFor({ state: "visible" });
    expect(await pageA.locator("#me-name").textContent()).to.equal("Ada Lovelace");

    const before = (await cookieNamed(a, REFRESH))!.value;
    // The 2 s access token lapses; the browser drops its cookie.
    await until("the access cookie to lapse", async () => (await cookieNamed(a, ACCESS)) === undefined);
    callsA.length = 0;
    await pageA.reload();
    await pageA.locator("#account-view").waitFor({ state: "visible" });
    await until("the account's calls", () => callsA.length === 3);
    // The page knows its access cookie is gone: it refreshes first instead of sending a call to be refused.
    expect(callsA[0]).to.equal("200 POST /auth/refresh");
    expect(callsA.slice(1).sort()).to.deep.equal(["200 GET /api/me", "200 GET /auth/sessions"]);
    expect((await cookieNamed(a, REFRESH))!.value).to.not.equal(before);
    expect(await cookieNamed(a, ACCESS)).to.not.equal(undefined);
    expect(await sessionRows(pageA)).to.have.length(1);
  });

  it("a call answering 401 token_missing refreshes once and is retried", async () => {
    // The browser lost the access cookie while the page thinks it alive.
    await a.clearCookies({ name: ACCESS });
    await pageA.evaluate((key) => localStorage.setItem(key, String(Date.now() + 60_000)), HINT);
    callsA.length = 0;
    await pageA.locator("#reload-sessions").click();
    await until("the retried call", () => callsA.length === 3);
    expect(callsA).to.deep.equal(["401 GET /auth/sessions", "200 POST /auth/refresh", "200 GET /auth/sessions"]);
    await until("the error body", () => bodiesA.has("0"));
    expect(bodiesA.get("0")).to.deep.include({ error: "token_missing" });
    expect(await pageA.locator("#account-view").isVisible()).to.equal(true);
  });

  it("a call answering 401 token_expired refreshes once and is retried", async () => {
    if ((await cookieNamed(a, ACCESS)) === undefined) {
      // Lapsed since: one action refreshes it.
      await pageA.locator("#reload-sessions").click();
      await until("a fresh access cookie", async () => (await cookieNamed(a, ACCESS)) !== undefined);
    }
    const stale = (await cookieNamed(a, ACCESS))!;
    const { exp } = JSON.parse(Buffer.from(stale.value.split(".")[1]!, "base64url").toString()) as { exp: number };
    await until("the access cookie to lapse", async () => (await cookieNamed(a, ACCESS)) === undefined);
    await until("the token to be past its tolerance", () => Date.now() > (exp + TOLERANCE) * 1000 + 100);
    // Put the lapsed token back, as a browser with a clock behind would keep it.
    await a.addCookies([{ ...stale, expires: Math.floor(Date.now() / 1000) + 3600 }]);
    await pageA.evaluate((key) => localStorage.setItem(key, String(Date.now() + 60_000)), HINT);
    callsA.length = 0;
    bodiesA.clear();
    await pageA.locator("#reload-sessions").click();
    await until("the retried call", () => callsA.length === 3);
    expect(callsA).to.deep.equal(["401 GET /auth/sessions", "200 POST /auth/refresh", "200 GET /auth/sessions"]);
    await until("the error body", () => bodiesA.has("0"));
    expect(bodiesA.get("0")).to.deep.include({ error: "token_expired" });
    expect(await pageA.locator("#account-view").isVisible()).to.equal(true);
  });

  it('"log out everywhere" ends A too', async () => {
    const refreshToken = (await cookieNamed(a, REFRESH))!.value;
    callsA.length = 0;
    await pageA.locator("#logout-everywhere").click();
    await pageA.locator("#login-view").waitFor({ state: "visible" });
    expect(await pageA.locator("#login-message").textContent()).to.equal("Signed out everywhere (1 session).");
    // Preceded by a refresh when the 2 s access cookie had lapsed meanwhile.
    expect(callsA.filter((call) => call !== "200 POST /auth/refresh")).to.deep.equal(["200 POST /auth/logout-all"]);
    expect((await a.cookies()).map((c) => c.name)).to.deep.equal([]);
    // The server agrees: the refresh token A held is dead.
    const res = await fetch(`${app.url}/auth/refresh`, {
      method: "POST",
      headers: { Cookie: `${REFRESH}=${refreshToken}`, "X-Requested-With": "test" },
    });
    expect(res.status).to.equal(401);
    expect(((await res.json()) as { error: string }).error).to.equal("refresh_token_invalid");
    // A reload shows the login form without asking the server anything.
    callsA.length = 0;
    await pageA.reload();
    await pageA.locator("#login-view").waitFor({ state: "visible" });
    expect(callsA).to.deep.equal([]);
  });

  it("printed no console error: no script error, and the browser logged only the 401s above", () => {
    expect(consoleA.script).to.deep.equal([]);
    expect(consoleB.script).to.deep.equal([]);
    // Chromium logs every 4xx answer to a fetch; these are the three the tests provoked.
    expect(consoleA.failedLoads).to.deep.equal(["401 /auth/sessions", "401 /auth/sessions"]);
    expect(consoleB.failedLoads).to.deep.equal(["401 /auth/sessions"]);
  });
});

describe("other sites against the devices page", function () {
  let app: ExampleApp;
  let other: OtherSite;
  let browser: Browser;
  let victim: BrowserContext;
  let page: Page;
  let consoleErrors: ConsoleErrors;

  before(async () => {
    [app, other, browser] = await Promise.all([startExample(await storeEnv()), startOtherSite(), launchChromium()]);
    victim = await browser.newContext(DESKTOP);
    page = await victim.newPage();
    consoleErrors = collectConsole(page);
    await page.goto(app.url);
    await page.locator("#fill-demo").click();
    await page.locator("#remember").check();
    await page.locator("#login-submit").click();
    await page.locator("#account-view").waitFor({ state: "visible" });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([app?.stop(), other?.close()]);
  });

  /** The victim's sessions as the server has them (by the victim's own cookies), without the times that slide with use. */
  async function serverSessions(): Promise<unknown[]> {
    const cookie = (await victim.cookies())
      .filter((c) => c.name === ACCESS)
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
    const res = await fetch(`${app.url}/auth/sessions`, { headers: { Cookie: cookie } });
    expect(res.status).to.equal(200);
    const { sessions } = (await res.json()) as { sessions: Array<Record<string, unknown>> };
    return sessions.map(({ last_used_at: _used, expires_at: _expires, ...fixed }) => fixed);
  }

  it("its forms (every encoding) and fetches change neither the server's sessions nor the victim's cookies", async () => {
    const cookiesBefore = await victim.cookies();
    const sessionsBefore = await serverSessions();
    expect(sessionsBefore).to.have.length(1);
    const sessionId = (sessionsBefore[0] as { id: string }).id;

    // Every answer of the app to a request from the other site, and whether it tried to set a cookie.
    const answers: Array<Promise<string>> = [];
    const onResponse = (response: Response) => {
      if (!response.url().startsWith(app.url)) return;
      const { pathname } = new URL(response.url());
      answers.push(
        response
          .headerValue("set-cookie")
          .then((setCookie) => `${response.request().method()} ${pathname} ${response.status()}${setCookie === null ? "" : " SET-COOKIE"}`),
      );
    };
    victim.on("response", onResponse);
    const failed: string[] = [];
    const onFailed = (request: Request) => {
      if (request.url().startsWith(app.url))
        failed.push(`${request.method()} ${new URL(request.url()).pathname} ${request.failure()?.errorText}`);
    };
    victim.on("requestfailed", onFailed);

    const attacker = await victim.newPage();
    for (const route of ["login", "refresh", "logout", "logout-all"]) {
      for (const enctype of FORM_ENCODINGS) {
        const target = `${app.url}/auth/${route}`;
        await Promise.all([attacker.waitForURL(target), attacker.goto(other.formPage(target, enctype))]);
        await attacker.waitForLoadState("load");
      }
    }
    await attacker.goto(other.fetchPage(app.url, sessionId));
    await until("the fetches to settle", async () => (await attacker.title()) === "done");
    await attacker.close();
    victim.off("response", onResponse);
    victim.off("requestfailed", onFailed);

    // Forms (each encoding) and no-cors fetches reach the app without the SameSite=Strict cookies and
    // without a JSON body: each is refused at once, and none is answered with a Set-Cookie.
    const expected: string[] = [];
    for (const route of ["login", "refresh", "logout", "logout-all"]) {
      for (let i = 0; i <= FORM_ENCODINGS.length; i++) expected.push(`POST /auth/${route} 400`);
    }
    expect((await Promise.all(answers)).sort()).to.deep.equal(expected.sort());
    // The CORS fetches: a GET is sent (without cookies) but cannot be read; those needing a preflight
    // (a custom header, DELETE, a JSON body) are never sent, since the app grants no preflight.
    expect(failed.filter((f) => !f.endsWith("net::ERR_ABORTED")).sort()).to.deep.equal(
      [
        "GET /auth/sessions net::ERR_FAILED",
        "POST /auth/logout net::ERR_FAILED",
        "POST /auth/logout net::ERR_FAILED",
        `DELETE /auth/sessions/${sessionId} net::ERR_FAILED`,
      ].sort(),
    );

    expect(await victim.cookies()).to.deep.equal(cookiesBefore);
    expect(await serverSessions()).to.deep.equal(sessionsBefore);
    await page.reload();
    await page.locator("#account-view").waitFor({ state: "visible" });
    expect(await sessionRows(page)).to.have.length(1);
    expect(consoleErrors.script).to.deep.equal([]);
    expect(consoleErrors.failedLoads).to.deep.equal([]);
  });

  it("a refresh cookie tossed in beside the victim's (a longer Path, sent first) is refused: both are cleared, the page says why", async () => {
    // The attacker's own session, and its refresh token.
    const login = await fetch(`${app.url}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "grace@example.com", password: "battery staple" }),
    });
    expect(login.status).to.equal(200);
    const attackerToken = /(?:^|, )sg-refresh=([^;]+)/.exec(login.headers.getSetCookie().join(", "))![1]!;
    // What a sibling subdomain's Set-Cookie (Domain=<parent>; Path=/auth/refresh) leaves in the jar.
    await victim.addCookies([
      {
        name: REFRESH,
        value: attackerToken,
        domain: "localhost",
        path: "/auth/refresh",
        httpOnly: true,
        sameSite: "Strict",
        expires: Math.floor(Date.now() / 1000) + 3600,
      },
    ]);
    const victimToken = (await victim.cookies()).find((c) => c.name === REFRESH && c.path === "/auth")!.value;
    // The victim's access cookie lapses: the page's next action refreshes.
    await victim.clearCookies({ name: ACCESS });
    await page.evaluate((key) => localStorage.setItem(key, "0"), HINT);
    const sent: Array<Promise<string | null>> = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/auth/refresh")) sent.push(request.headerValue("cookie"));
    });
    await page.locator("#reload-sessions").click();
    await page.locator("#login-view").waitFor({ state: "visible" });
    // The browser sent the attacker's first, as a parser would have read it.
    expect(await Promise.all(sent)).to.deep.equal([`${REFRESH}=${attackerToken}; ${REFRESH}=${victimToken}`]);
    expect(await page.locator("#login-message").textContent()).to.equal(
      "This browser sent two session cookies of one name (another site may have set one). They were cleared: sign in again.",
    );
    expect(await page.locator("#account-view").isHidden()).to.equal(true);
    expect(await victim.cookies()).to.deep.equal([]);
    // Neither session was refreshed: the attacker's token is unspent.
    const again = await fetch(`${app.url}/auth/refresh`, {
      method: "POST",
      headers: { Cookie: `${REFRESH}=${attackerToken}`, "X-Requested-With": "test" },
    });
    expect(again.status).to.equal(200);
    expect(consoleErrors.script).to.deep.equal([]);
    expect(consoleErrors.failedLoads).to.deep.equal(["400 /auth/refresh"]);
  });
});
