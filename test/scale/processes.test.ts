// Three app processes (separate Node processes, see app-process.ts) over one
// Redis: every way a session ends in one process is refused by every other
// process on its very next request. Real HTTP over loopback, real time.
// Then again with the local session cache on in every process, where each
// process has the session in memory when it ends: the revocation's message
// must reach every process, so the refusal is awaited (at most a second).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { sharedRedis } from "../support/redis-server.js";

const APP = fileURLToPath(new URL("./app-process.ts", import.meta.url));
const PROCESSES = 3;
const SECRET = "multi-process-secret-0123456789-abcdefghijklmnop";

interface AppProcess {
  child: ChildProcess;
  base: string;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  session: { id: string };
}

function startApp(env: NodeJS.ProcessEnv): Promise<AppProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", APP], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app process did not start in time:\n${output}`)), 20_000);
    child.once("exit", (code) => reject(new Error(`app process exited with ${String(code)}:\n${output}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, base: `http://127.0.0.1:${match[1]}` });
    });
  });
}

function stopApp(app: AppProcess): Promise<void> {
  if (app.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => app.child.kill("SIGKILL"), 5000);
    app.child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    process.kill(app.child.pid!, "SIGTERM");
  });
}

async function post(app: AppProcess, path: string, options: { token?: string; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return fetch(app.base + path, { method: "POST", headers, body: JSON.stringify(options.body ?? {}) });
}

async function login(app: AppProcess, user: string): Promise<Tokens> {
  const res = await post(app, "/auth/login", { body: { user } });
  expect(res.status).to.equal(200);
  return (await res.json()) as Tokens;
}

/** GET /me on each process with the token: the statuses and error codes, in process order. */
async function meEverywhere(apps: AppProcess[], token: string): Promise<string[]> {
  return Promise.all(
    apps.map(async (app) => {
      const res = await fetch(app.base + "/me", { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { error?: string };
      return res.status === 200 ? "200" : `${res.status} ${body.error}`;
    }),
  );
}

const ALL_OK = Array(PROCESSES).fill("200");
const ALL_ENDED = Array(PROCESSES).fill("401 session_inactive");

/** Polls until every process answers `expected` (with the cache, the message takes a moment to arrive). */
async function eventually(apps: AppProcess[], token: string, expected: string[]): Promise<string[]> {
  const deadline = Date.now() + 1000;
  let seen = await meEverywhere(apps, token);
  while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen = await meEverywhere(apps, token);
  }
  return seen;
}

for (const cached of [false, true]) suite(cached);

function suite(cached: boolean): void {
  describe(`several app processes over one Redis${cached ? ", each with the local session cache" : ""}`, function () {
    this.timeout(60_000);
    let apps: AppProcess[] = [];
    let user = 0;
    const nextUser = () => `user-${++user}`;
    /** Every process's answer once the session ended: at once without the cache, after the message with it. */
    const ended = (token: string) => (cached ? eventually(apps, token, ALL_ENDED) : meEverywhere(apps, token));

    before(async function () {
      const redis = await sharedRedis();
      const env = {
        ...process.env,
        REDIS_URL: redis.url,
        KEY_PREFIX: `procs${Date.now()}${cached ? "c" : ""}:`,
        SESSION_SECRET: SECRET,
        ...(cached ? { CACHE_TTL: "1h" } : {}),
      };
      apps = await Promise.all(Array.from({ length: PROCESSES }, () => startApp(env)));
    });

    after(async function () {
      await Promise.all(apps.map(stopApp));
    });

    it("are separate processes, each accepting a session made in another", async function () {
      const tokens = await login(apps[0], nextUser());
      const pids = await Promise.all(
        apps.map(async (app) => {
          const res = await fetch(app.base + "/me", { headers: { authorization: `Bearer ${tokens.access_token}` } });
          return ((await res.json()) as { pid: number }).pid;
        }),
      );
      expect(new Set([...pids, process.pid]).size).to.equal(PROCESSES + 1);
    });

    it("a logout in one is refused by every process on its next request", async function () {
      const tokens = await login(apps[0], nextUser());
      expect(await meEverywhere(apps, tokens.access_token)).to.deep.equal(ALL_OK);
      expect((await post(apps[1], "/auth/logout", { token: tokens.access_token })).status).to.equal(204);
      expect(await ended(tokens.access_token)).to.deep.equal(ALL_ENDED);
    });

    it("a global logout (revokeAll) in one ends the user's sessions made in every process", async function () {
      const name = nextUser();
      const sessions = await Promise.all(apps.map((app) => login(app, name)));
      expect((await post(apps[2], "/me/revoke-all", { token: sessions[0].access_token })).status).to.equal(200);
      for (const s of sessions) expect(await ended(s.access_token)).to.deep.equal(ALL_ENDED);
    });

    it("revokeOthers in one keeps only the caller's session, everywhere", async function () {
      const name = nextUser();
      const sessions = await Promise.all(apps.map((app) => login(app, name)));
      const res = await post(apps[1], "/me/revoke-others", { token: sessions[1].access_token });
      expect(await res.json()).to.deep.equal({ revoked: PROCESSES - 1 });
      expect(await meEverywhere(apps, sessions[1].access_token)).to.deep.equal(ALL_OK);
      for (const s of [sessions[0], sessions[2]]) expect(await ended(s.access_token)).to.deep.equal(ALL_ENDED);
    });

    it("a revoke by id in one is refused by every process", async function () {
      const name = nextUser();
      const tokens = await login(apps[2], name);
      const res = await post(apps[0], `/admin/revoke/${name}/${tokens.session.id}`);
      expect(await res.json()).to.deep.equal({ revoked: true });
      expect(await ended(tokens.access_token)).to.deep.equal(ALL_ENDED);
    });

    it("eviction by maxSessionsPerUser in one ends the least recently used session everywhere", async function () {
      const name = nextUser();
      const [a, b, c] = [await login(apps[0], name), await login(apps[1], name), await login(apps[2], name)];
      // Without the cache, using the first again (every check touches) leaves the second least recently used.
      expect(await meEverywhere(apps, a.access_token)).to.deep.equal(ALL_OK);
      const d = await login(apps[2], name); // the cap is 3: the fourth evicts one
      // With the cache, that use was answered from memory and touched nothing
      // (touchInterval 1m): the first, created first, is the least recently touched.
      const [evicted, kept] = cached ? [a, [b, c, d]] : [b, [a, c, d]];
      expect(await ended(evicted.access_token)).to.deep.equal(ALL_ENDED);
      for (const k of kept) expect(await meEverywhere(apps, k.access_token)).to.deep.equal(ALL_OK);
    });

    it("refresh-token reuse detected in one revokes the session for every process", async function () {
      const first = await login(apps[0], nextUser());
      const rotate = async (app: AppProcess, refresh: string) => post(app, "/auth/refresh", { body: { refresh_token: refresh } });
      const second = (await (await rotate(apps[1], first.refresh_token)).json()) as Tokens;
      const third = (await (await rotate(apps[2], second.refresh_token)).json()) as Tokens;
      expect(await meEverywhere(apps, third.access_token)).to.deep.equal(ALL_OK);
      // The first token is two generations old: reuse, whatever the reuse window.
      const reuse = await rotate(apps[0], first.refresh_token);
      expect(reuse.status).to.equal(401);
      expect(((await reuse.json()) as { error: string }).error).to.equal("refresh_token_reused");
      expect(await ended(third.access_token)).to.deep.equal(ALL_ENDED);
      expect((await rotate(apps[1], third.refresh_token)).status).to.equal(401);
    });
  });
}
