// A Sentinel failover under load, for real: a master, a replica and three
// Sentinels (test/support/redis-sentinel.ts), two apps ("processes") whose
// RedisStores use ioredis Sentinel clients and wait for the replica on every
// login and revocation. Sessions are made and some revoked; then the master
// is killed (SIGKILL) while guarded requests keep coming. Every answer must
// be 200 for a live session, 401 for a revoked one or 503 store_unavailable,
// never another 5xx and never a 200 for a revoked session; once the replica
// is promoted the apps recover by themselves, and the local session cache
// follows revocations published on the new master.
//
// Real time only where Redis and the Sentinels need it (polled against
// deadlines); the guards' own time is the fake clock. With
// SESSION_GUARD_FAILOVER_TIMINGS=1 the first test prints when requests
// answered 503 (what docs/failover.md reports); nothing asserts on timing.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { Redis, type RedisOptions } from "ioredis";
import { RedisStore, type ReplicaShortfall, type TokenSet } from "../../lib/index.js";
import { sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { buildApp, PASSWORD, ready, type TestApp } from "../http/app.js";
import { fakeClock } from "../support/clock.js";
import { startSentinels, type SentinelSetup } from "../support/redis-sentinel.js";

/** How long the apps may take to answer 200 again after the master died (the Sentinels' part included). */
const RECOVERY_TIMEOUT_MS = 30_000;
/** Pause between two rounds of requests, so that a loaded machine still runs the Sentinels. */
const ROUND_PAUSE_MS = 20;

/**
 * The client settings this test stands for: fail fast while there is no
 * master (no offline queue, a command timeout, one attempt), and
 * reconnect often enough to find the promoted replica soon after the
 * Sentinels name it (each attempt asks a Sentinel for the master).
 */
function sentinelClient(setup: SentinelSetup): Redis {
  const options: RedisOptions = {
    sentinels: setup.sentinelAddresses,
    name: setup.name,
    enableOfflineQueue: false,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 50, 500),
    // Not failoverDetector: in ioredis 5 a +switch-master that arrives while
    // the client is reconnecting ends the client for good (docs/failover.md).
  };
  const client = new Redis(options);
  client.on("error", () => {});
  return client;
}

/** One app on a real loopback port. */
interface Running {
  t: TestApp;
  base: string;
  server: Server;
  client: Redis;
  shortfalls: ReplicaShortfall[];
}

interface AppOptions {
  /** The local session cache on. */
  cache?: boolean;
  /** A write fewer replicas acknowledged fails (503) instead of being reported only. */
  strict?: boolean;
}

async function runApp(setup: SentinelSetup, { cache = false, strict = false }: AppOptions = {}): Promise<Running> {
  const client = sentinelClient(setup);
  await ready(client);
  const shortfalls: ReplicaShortfall[] = [];
  const store = new RedisStore({
    client,
    waitForReplicas: { replicas: 1, timeout: "500ms" },
    onReplicaShortfall: (s) => {
      shortfalls.push(s);
      if (strict) throw new Error(`only ${s.acknowledged} replica acknowledged the ${s.operation}`);
    },
  });
  const t = buildApp({ clock: fakeClock(), guard: { store, ...(cache ? { cache: { ttl: "5s" } } : {}) } });
  const server = createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { t, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, client, shortfalls };
}

async function stopApp(app: Running): Promise<void> {
  await app.t.guard.close();
  app.server.closeAllConnections();
  await new Promise((resolve) => app.server.close(resolve));
  app.client.disconnect();
}

interface Answer {
  status: number;
  error?: string;
  retryAfter: string | null;
}

async function call(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<Answer & { body: any }> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(base + path, {
    method: init.method ?? "GET",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  const body = text === "" ? undefined : JSON.parse(text);
  return { status: res.status, error: body?.error, retryAfter: res.headers.get("retry-after"), body };
}

const me = (app: Running, token: string) => call(app.base, "/me", { token });

async function login(app: Running, user: string): Promise<TokenSet> {
  const res = await call(app.base, "/auth/login", { method: "POST", body: { user, password: PASSWORD } });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as TokenSet;
}

/** Polls `condition` until it holds, failing after `timeoutMs`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
  }
}

/** A session the test made, and whether it must still be accepted. */
interface Made {
  user: string;
  tokens: TokenSet;
  live: boolean;
}

/** What a guarded request may answer during a failover, given whether its session is live. */
function allowed(answer: Answer, live: boolean): boolean {
  if (answer.status === 503) return answer.error === "store_unavailable" && answer.retryAfter !== null;
  if (live) return answer.status === 200;
  return answer.status === 401 && answer.error === "session_inactive";
}

describe("Redis Sentinel failover: the master killed", function () {
  this.timeout(60_000);
  let setup: SentinelSetup;
  /** With the local session cache. */
  let cached: Running;
  /** Another process: no cache. */
  let plain: Running;
  let sessions: Made[];
  const key = (m: Made) => sessionKey(userKeyBase("sg:", m.user), m.tokens.session.id);

  before(async () => {
    setup = await startSentinels();
    cached = await runApp(setup, { cache: true });
    plain = await runApp(setup);
    await until(() => cached.t.guard.cache!.subscribed, "the cache follows revocations");

    // Five users, two sessions each (one through each app).
    sessions = [];
    for (const user of ["ada", "grace", "edsger", "barbara", "alan"]) {
      for (const app of [cached, plain]) sessions.push({ user, tokens: await login(app, user), live: true });
    }
    const of = (user: string) => sessions.filter((s) => s.user === user);
    // A logout, a revokeAll, a revoke by id (route and API), a revoke-all of the current user.
    const logout = await call(plain.base, "/auth/logout", { method: "POST", token: of("ada")[0].tokens.access_token });
    expect(logout.status).to.equal(204);
    of("ada")[0].live = false;
    expect(await cached.t.guard.sessions.revokeAll("grace")).to.equal(2);
    for (const s of of("grace")) s.live = false;
    const byId = of("edsger")[1];
    const deleted = await call(cached.base, `/auth/sessions/${byId.tokens.session.id}`, {
      method: "DELETE",
      token: of("edsger")[0].tokens.access_token,
    });
    expect(deleted.status, JSON.stringify(deleted.body)).to.equal(204);
    byId.live = false;
    expect(await plain.t.guard.sessions.revoke(of("barbara")[0].tokens.session.id, "barbara")).to.equal(true);
    of("barbara")[0].live = false;
    const all = await call(plain.base, "/me/revoke-all", { method: "POST", token: of("alan")[1].tokens.access_token });
    expect(all.body).to.deep.equal({ revoked: 2 });
    for (const s of of("alan")) s.live = false;

    // Every session asked once through each app: the cache holds the live ones.
    for (const s of sessions) {
      for (const app of [cached, plain]) {
        const answer = await me(app, s.tokens.access_token);
        expect(answer.status, `${s.user} before the failover`).to.equal(s.live ? 200 : 401);
      }
    }
    expect(cached.t.guard.cache!.size).to.equal(sessions.filter((s) => s.live).length);
    expect(cached.shortfalls.concat(plain.shortfalls), "the replica acknowledged every write").to.deep.equal([]);
  });

  after(async () => {
    for (const app of [cached, plain]) if (app) await stopApp(app);
    await setup?.stop();
  });

  it("while the master is down every request answers 200 (live), 401 (revoked) or 503, and the apps recover by themselves", async () => {
    const killedAt = Date.now();
    await setup.killMaster();
    let promoted = false;
    const promotion = setup.waitForMaster(setup.replica.port, RECOVERY_TIMEOUT_MS).then(() => (promoted = true));
    promotion.catch(() => {});

    const wrong: string[] = [];
    const statuses = new Map<number, number>();
    let first503: number | undefined;
    let last503: number | undefined;
    const loginStatuses: number[] = [];
    let loginInFlight: Promise<void> | undefined;
    let recovered = false;
    const deadline = killedAt + RECOVERY_TIMEOUT_MS;
    while (!recovered) {
      if (Date.now() > deadline) throw new Error(`no recovery within ${RECOVERY_TIMEOUT_MS} ms; answers: ${JSON.stringify([...statuses])}`);
      // A login now and then: 200 or 503, nothing else.
      loginInFlight ??= call(plain.base, "/auth/login", { method: "POST", body: { user: "kurt", password: PASSWORD } }).then((a) => {
        loginStatuses.push(a.status);
        if (a.status !== 200 && !(a.status === 503 && a.error === "store_unavailable")) wrong.push(`login: ${a.status} ${a.error}`);
        loginInFlight = undefined;
      });
      const round = await Promise.all(
        sessions.flatMap((s) =>
          [cached, plain].map(async (app) => {
            const answer = await me(app, s.tokens.access_token);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            if (answer.status === 503) {
              first503 ??= Date.now() - killedAt;
              last503 = Date.now() - killedAt;
            }
            if (!allowed(answer, s.live)) wrong.push(`${s.user} (${s.live ? "live" : "revoked"}): ${answer.status} ${answer.error}`);
            return answer.status === (s.live ? 200 : 401);
          }),
        ),
      );
      recovered = promoted && round.every(Boolean);
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
    }
    await loginInFlight;
    await promotion;
    const recoveredAfter = Date.now() - killedAt;
    if (process.env.SESSION_GUARD_FAILOVER_TIMINGS) {
      console.log(
        `      failover: first 503 at ${first503} ms, last at ${last503} ms, all answers right again at ${recoveredAfter} ms; ` +
          `answers ${JSON.stringify(Object.fromEntries(statuses))}, logins ${JSON.stringify(loginStatuses)}`,
      );
    }
    expect(wrong, "answers other than 200 (live), 401 (revoked) or 503 store_unavailable").to.deep.equal([]);
    expect(statuses.get(503), "the failover was seen as 503s").to.be.greaterThan(0);
    expect([...statuses.keys()].sort()).to.deep.equal([200, 401, 503]);
  });

  it("after the promotion: sessions from before are accepted, revoked ones refused, Redis holds exactly the live ones", async () => {
    for (const s of sessions) {
      for (const app of [cached, plain]) {
        const answer = await me(app, s.tokens.access_token);
        expect(answer.status, `${s.user} (${s.live ? "live" : "revoked"})`).to.equal(s.live ? 200 : 401);
        if (!s.live) expect(answer.error).to.equal("session_inactive");
      }
    }
    const inspect = new Redis({ host: "127.0.0.1", port: setup.replica.port, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    try {
      expect(await inspect.info("replication")).to.match(/^role:master\r?$/m);
      for (const s of sessions) expect(await inspect.exists(key(s)), `${s.user}'s session in the new master`).to.equal(s.live ? 1 : 0);
    } finally {
      inspect.disconnect();
    }
  });

  it("new logins, refreshes and logouts work on the new master; with no replica left, each write reports a shortfall", async () => {
    const before = [cached.shortfalls.length, plain.shortfalls.length];
    const fresh = await login(cached, "hedy");
    expect((await me(plain, fresh.access_token)).status).to.equal(200);
    const refreshed = await call(plain.base, "/auth/refresh", { method: "POST", body: { refresh_token: fresh.refresh_token } });
    expect(refreshed.status, JSON.stringify(refreshed.body)).to.equal(200);
    expect((await me(cached, refreshed.body.access_token)).status).to.equal(200);
    const logout = await call(cached.base, "/auth/logout", { method: "POST", token: refreshed.body.access_token });
    expect(logout.status).to.equal(204);
    expect((await me(plain, refreshed.body.access_token)).error).to.equal("session_inactive");
    // The login and the logout went through `cached`; a refresh that is no reuse waits for no replica.
    expect(cached.shortfalls.slice(before[0])).to.deep.equal([
      { operation: "create", wanted: 1, acknowledged: 0 },
      { operation: "revoke", wanted: 1, acknowledged: 0 },
    ]);
    expect(plain.shortfalls.slice(before[1])).to.deep.equal([]);
  });

  it("the local cache resubscribed on the new master: a revocation through the other app drops its entry", async () => {
    await until(() => cached.t.guard.cache!.subscribed, "the cache follows revocations again");
    const inspect = new Redis({ host: "127.0.0.1", port: setup.replica.port, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    try {
      const [, subscribers] = (await inspect.pubsub("NUMSUB", "sg:invalidations")) as [string, number];
      expect(subscribers, "the cache's subscriber on the new master").to.equal(1);
    } finally {
      inspect.disconnect();
    }
    const live = sessions.filter((s) => s.live);
    // Filled again: each live session checked once more after the subscription was confirmed.
    for (const s of live) expect((await me(cached, s.tokens.access_token)).status).to.equal(200);
    await until(() => cached.t.guard.cache!.size === live.length, "the cache holds every live session");
    const hits = cached.t.guard.cache!.hits;
    for (const s of live) expect((await me(cached, s.tokens.access_token)).status).to.equal(200);
    expect(cached.t.guard.cache!.hits - hits, "answered from memory").to.equal(live.length);

    const victim = live[0];
    expect(await plain.t.guard.sessions.revoke(victim.tokens.session.id, victim.user)).to.equal(true);
    await until(() => cached.t.guard.cache!.size === live.length - 1, "the revocation's message arrives");
    const refused = await me(cached, victim.tokens.access_token);
    expect(refused.status).to.equal(401);
    expect(refused.error).to.equal("session_inactive");
  });
});

describe("Redis Sentinel failover: the old master alive (SENTINEL FAILOVER), and made a replica later", function () {
  this.timeout(60_000);
  let setup: SentinelSetup;
  let app: Running;

  before(async () => {
    setup = await startSentinels();
    app = await runApp(setup, { strict: true });
  });
  after(async () => {
    if (app) await stopApp(app);
    await setup?.stop();
  });

  it("with a throwing onReplicaShortfall, no login answered 200 and no logout answered 204 is lost", async () => {
    const kept = await login(app, "ada");
    const old = new Redis({ host: "127.0.0.1", port: setup.master.port, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    const sentinel = new Redis({ host: "127.0.0.1", port: setup.sentinels[0].port, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    const confirmedLogins: TokenSet[] = [];
    const confirmedLogouts: TokenSet[] = [];
    const wrong: string[] = [];
    const is503 = (a: Answer) => a.status === 503 && a.error === "store_unavailable";
    try {
      const startedAt = Date.now();
      await sentinel.call("SENTINEL", "FAILOVER", setup.name);
      // Until the old master follows the new one, and a login and a logout were confirmed after that.
      let demoted = false;
      let confirmedSince = 0;
      let round = 0;
      while (!(demoted && confirmedSince >= 2)) {
        if (Date.now() - startedAt > RECOVERY_TIMEOUT_MS)
          throw new Error(`no recovery within ${RECOVERY_TIMEOUT_MS} ms: ${wrong.join("; ")}`);
        await new Promise((resolve) => setTimeout(resolve, ROUND_PAUSE_MS));
        const replication = await old.info("replication");
        demoted ||= /^role:slave\r?$/m.test(replication) && /master_link_status:up/.test(replication);
        const check = await me(app, kept.access_token);
        if (check.status !== 200 && !is503(check)) wrong.push(`kept session: ${check.status} ${check.error}`);
        const res = await call(app.base, "/auth/login", { method: "POST", body: { user: "grace", password: PASSWORD } });
        if (res.status !== 200) {
          if (!is503(res)) wrong.push(`login: ${res.status} ${res.error}`);
          continue;
        }
        const tokens = res.body as TokenSet;
        // Every other session is logged out again at once.
        if (round++ % 2 === 0) {
          confirmedLogins.push(tokens);
          if (demoted) confirmedSince++;
          continue;
        }
        const out = await call(app.base, "/auth/logout", { method: "POST", token: tokens.access_token });
        if (out.status === 204) {
          confirmedLogouts.push(tokens);
          if (demoted) confirmedSince++;
        } else if (!is503(out)) wrong.push(`logout of a session just confirmed: ${out.status} ${out.error}`);
      }
    } finally {
      old.disconnect();
      sentinel.disconnect();
    }
    expect(wrong, "answers other than 200/204 or 503 store_unavailable").to.deep.equal([]);
    expect(confirmedLogins, "logins confirmed").to.not.deep.equal([]);
    expect(confirmedLogouts, "logouts confirmed").to.not.deep.equal([]);
    for (const tokens of [kept, ...confirmedLogins]) expect((await me(app, tokens.access_token)).status, "a confirmed login").to.equal(200);
    for (const tokens of confirmedLogouts)
      expect((await me(app, tokens.access_token)).error, "a confirmed logout").to.equal("session_inactive");
    const inspect = new Redis({ host: "127.0.0.1", port: setup.replica.port, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    try {
      const held = async (t: TokenSet) =>
        inspect.exists(sessionKey(userKeyBase("sg:", t.session.id === kept.session.id ? "ada" : "grace"), t.session.id));
      for (const tokens of [kept, ...confirmedLogins]) expect(await held(tokens), "a confirmed login, on the new master").to.equal(1);
      for (const tokens of confirmedLogouts) expect(await held(tokens), "a confirmed logout, on the new master").to.equal(0);
    } finally {
      inspect.disconnect();
    }
  });
});
