/**
 * A Redis Cluster failover under traffic: six `redis-server` processes
 * (three masters, a replica each) started for this file and stopped by pid.
 * Users whose keys live on one master log in and some log out, then that
 * master is killed (SIGKILL) while guarded requests keep coming: every
 * answer is 200 for a live session, 401 for a revoked one, or 503
 * `store_unavailable` — never another 5xx, never a revoked session let in —
 * and once the replica took over, the same client recovers without a
 * restart. A second app with the local session cache sees revocations made
 * after the failover.
 */
import { expect } from "chai";
import type { Cluster } from "ioredis";
import request from "supertest";
import { RedisStore, type ReplicaShortfall, type TokenSet } from "../../lib/index.js";
import { indexKey, userKeyBase } from "../../lib/stores/keys.js";
import { fakeClock } from "../support/clock.js";
import {
  clusterTopology,
  connectCluster,
  connectReplicaOf,
  userSlot,
  masterOfSlot,
  startCluster,
  type ClusterNodeInfo,
  type RedisCluster,
} from "../support/redis-cluster.js";
import type { RedisNode } from "../support/redis-server.js";
import { buildApp, login, me, PASSWORD, type TestApp } from "../http/app.js";

const PREFIX = "failover:";
/** How long the replica may take to be promoted and the client to follow it (generous: a loaded 2-core machine). */
const RECOVERY_DEADLINE_MS = 45_000;
/** Pause between two rounds of requests while waiting. */
const ROUND_PAUSE_MS = 50;
/** Rounds in a row in which every live session must answer 200 before the failover counts as over. */
const STABLE_ROUNDS = 5;

/** The ioredis Cluster settings the docs recommend for RedisStore (see docs/failover.md). */
const CLIENT_OPTIONS = {
  scaleReads: "master",
  enableOfflineQueue: false,
  enableAutoPipelining: false,
  redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 },
} as const;

interface User {
  userId: string;
  tokens: TokenSet;
  revoked: boolean;
  /** Whether the user's keys are on the master that is killed. */
  onVictim: boolean;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RedisStore on a Redis Cluster: a master fails over under traffic", function () {
  this.timeout(120_000);
  const clock = fakeClock();
  let cluster: RedisCluster;
  let client: Cluster;
  /** The app without a cache: every guarded request asks Redis. */
  let plain: TestApp;
  /** Another app on the same Redis, with the local session cache. */
  let cached: TestApp;
  let victim: RedisNode;
  let victimInfo: ClusterNodeInfo;
  const users: User[] = [];
  /** Whether the cache's subscriber was on the victim (and so must move to another node). */
  let subscriberMoves = false;
  const shortfalls: ReplicaShortfall[] = [];
  const storeOptions = () => ({
    client,
    prefix: PREFIX,
    waitForReplicas: { replicas: 1, timeout: "500ms" as const },
    onReplicaShortfall: (s: ReplicaShortfall) => shortfalls.push(s),
  });

  before(async () => {
    cluster = await startCluster({ replicasPerMaster: 1 });
    client = await connectCluster(cluster, CLIENT_OPTIONS);
    // storeTimeout above twice the WAIT timeout: the first write of a script
    // on a newly promoted master (NOSCRIPT, then EVAL) waits twice.
    plain = buildApp({ clock, guard: { store: new RedisStore(storeOptions()), storeTimeout: "2s" } });
    cached = buildApp({ clock, guard: { store: new RedisStore(storeOptions()), storeTimeout: "2s", cache: { ttl: "5s" } } });
    await waitFor("the cache's subscription", () => cached.guard.cache!.subscribed);
    // Kill the master the cache's subscriber is connected to when it is on
    // one (so the subscriber must move too), else the first master.
    const topology = await clusterTopology(cluster.nodes);
    const subscriberPort = await portOfSubscriber(cluster);
    victimInfo = topology.find((n) => n.role === "master" && n.port === subscriberPort) ?? topology.find((n) => n.role === "master")!;
    victim = cluster.nodes.find((n) => n.port === victimInfo.port)!;
    // Eight users on the victim, and two on other masters.
    for (let i = 0; users.length < 10; i++) {
      const userId = `failover-user-${i}`;
      const onVictim = masterOfSlot(topology, await userSlot(client, PREFIX, userId)).port === victim.port;
      if (onVictim ? users.filter((u) => u.onVictim).length === 8 : users.filter((u) => !u.onVictim).length === 2) continue;
      users.push({ userId, tokens: await login(plain, userId), revoked: false, onVictim });
    }
    subscriberMoves = subscriberPort === victim.port;
    for (const user of users.filter((u) => u.onVictim).slice(0, 3)) {
      const res = await request(plain.app).post("/me/revoke").set("Authorization", `Bearer ${user.tokens.access_token}`);
      expect(res.status).to.equal(204);
      user.revoked = true;
    }
  });
  after(async () => {
    await plain?.guard.close();
    await cached?.guard.close();
    client?.disconnect();
    await cluster?.stop();
  });

  /** Polls `condition` until it holds, against {@link RECOVERY_DEADLINE_MS}. */
  async function waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + RECOVERY_DEADLINE_MS;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${RECOVERY_DEADLINE_MS} ms`);
      await pause(ROUND_PAUSE_MS);
    }
  }

  /** One guarded request per user and app; returns the statuses, asserting each is one the user may see. */
  async function round(): Promise<Array<{ user: User; status: number }>> {
    return Promise.all(
      users.flatMap((user) =>
        [plain, cached].map(async (app) => {
          const res = await me(app, user.tokens.access_token);
          const allowed = user.revoked ? [401, 503] : [200, 503];
          expect(allowed, `${user.userId} (revoked: ${user.revoked}): ${res.status} ${JSON.stringify(res.body)}`).to.include(res.status);
          if (res.status === 503) expect(res.body.error).to.equal("store_unavailable");
          if (res.status === 401) expect(res.body.error).to.equal("session_inactive");
          return { user, status: res.status };
        }),
      ),
    );
  }

  it("before the kill, live sessions are accepted and revoked ones refused", async () => {
    expect(users.filter((u) => u.revoked)).to.have.length(3);
    const answers = await round();
    expect(answers.map((a) => a.status)).to.deep.equal(users.flatMap((u) => (u.revoked ? [401, 401] : [200, 200])));
    // WAIT made the replica hold each login and logout, unless it fell short
    // of its 500 ms on a loaded machine (reported, not an error): what the
    // rest relies on is checked on the replica itself.
    const onVictim = users.filter((u) => u.onVictim);
    const replica = await connectReplicaOf(cluster, await userSlot(client, PREFIX, onVictim[0].userId));
    try {
      await waitFor("the replica to hold every login and logout", async () => {
        const held = await Promise.all(onVictim.map((u) => replica.exists(indexKey(userKeyBase(PREFIX, u.userId)))));
        return held.every((exists, i) => exists === (onVictim[i].revoked ? 0 : 1));
      });
    } finally {
      replica.disconnect();
    }
  });

  let unavailableMs = 0;
  it("while the replica takes over, only 200, 401 or 503; then the same client recovers", async () => {
    process.kill(victim.pid, "SIGKILL");
    await victim.exited;
    const killedAt = performance.now();
    let last503: number | undefined;
    let last503Elsewhere: number | undefined;
    let stable = 0;
    let rounds = 0;
    const errorsBefore = plain.eventsOf("store_error").length;
    await waitFor("recovery after the failover", async () => {
      rounds++;
      const answers = await round();
      const now = performance.now();
      if (answers.some((a) => a.status === 503)) {
        last503 = now;
        if (answers.some((a) => a.status === 503 && !a.user.onVictim)) last503Elsewhere = now;
        stable = 0;
      } else {
        stable++;
      }
      return stable >= STABLE_ROUNDS;
    });
    const since = (t: number | undefined) => (t === undefined ? 0 : Math.round(t - killedAt));
    unavailableMs = since(last503);
    const errors = new Set(
      plain
        .eventsOf("store_error")
        .slice(errorsBefore)
        .map((e) => String((e.error as Error).message).split(/[.:]/)[0]),
    );
    const topology = await clusterTopology(cluster.nodes.filter((n) => n !== victim));
    const promoted = topology.find(
      (n) => n.role === "master" && !n.failing && n.slots.some(([a]) => victimInfo.slots.some(([b]) => a === b)),
    );
    expect(promoted, "a replica serves the dead master's slots").to.not.equal(undefined);
    console.log(
      `      [failover] last 503 ${unavailableMs} ms after the kill (users of other masters: ${since(last503Elsewhere)} ms), ` +
        `${rounds} rounds; store errors: ${[...errors].join(" | ")}; subscriber moved: ${subscriberMoves}`,
    );
  });

  it("after the failover: pre-kill sessions valid, revoked ones refused, new logins and refreshes work", async () => {
    for (const user of users) {
      for (const app of [plain, cached]) {
        const res = await me(app, user.tokens.access_token);
        expect(res.status, `${user.userId}: ${JSON.stringify(res.body)}`).to.equal(user.revoked ? 401 : 200);
      }
    }
    const live = users.find((u) => !u.revoked && u.onVictim)!;
    const refreshed = await request(plain.app).post("/auth/refresh").send({ refresh_token: live.tokens.refresh_token });
    expect(
      refreshed.status,
      JSON.stringify(refreshed.body) +
        String(
          plain
            .eventsOf("store_error")
            .slice(-3)
            .map((e) => `${e.operation} ${(e.error as Error)?.message}`),
        ),
    ).to.equal(200);
    live.tokens = refreshed.body as TokenSet;
    expect((await me(plain, live.tokens.access_token)).status).to.equal(200);
    // A new login for a user of the promoted master: its replica is gone, so WAIT falls short (reported), the login stands.
    const newcomer = { userId: users[0].userId, tokens: await login(plain, users[0].userId) };
    expect((await me(plain, newcomer.tokens.access_token)).status).to.equal(200);
    expect(shortfalls.map((s) => [s.operation, s.acknowledged])).to.deep.include(["create", 0]);
    expect(plain.eventsOf("store_error").length + cached.eventsOf("store_error").length, "store errors were reported").to.be.greaterThan(0);
  });

  it("the local cache still receives revocations after the failover", async () => {
    await waitFor("the cache's subscription after the failover", () => cached.guard.cache!.subscribed);
    const user = users.find((u) => !u.revoked && u.onVictim)!;
    // Fill the cache (asked of Redis once the subscription is up), then answer from it.
    expect((await me(cached, user.tokens.access_token)).status).to.equal(200);
    const hits = cached.guard.cache!.hits;
    expect((await me(cached, user.tokens.access_token)).status).to.equal(200);
    expect(cached.guard.cache!.hits, "answered from the cache").to.equal(hits + 1);
    // Revoked through the other app; the clock stands still, so only the invalidation can end it in the cache.
    expect((await request(plain.app).post("/me/revoke").set("Authorization", `Bearer ${user.tokens.access_token}`)).status).to.equal(204);
    user.revoked = true;
    await waitFor("the revocation to reach the cached app", async () => (await me(cached, user.tokens.access_token)).status === 401);
  });

  it("a slot no master serves (CLUSTERDOWN) answers 503 store_unavailable, and 200 again once served", async () => {
    const user = users.find((u) => !u.revoked && !u.onVictim)!;
    const slot = await userSlot(client, PREFIX, user.userId);
    const owner = masterOfSlot(await clusterTopology(cluster.nodes.filter((n) => n !== victim)), slot);
    const { Redis } = await import("ioredis");
    const admin = new Redis({ host: "127.0.0.1", port: owner.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.call("CLUSTER", "DELSLOTS", String(slot));
      const seen = new Set<number>();
      await waitFor("CLUSTERDOWN to reach the guard", async () => {
        const res = await me(plain, user.tokens.access_token);
        seen.add(res.status);
        expect([200, 503], JSON.stringify(res.body)).to.include(res.status);
        if (res.status === 503) expect(res.body.error).to.equal("store_unavailable");
        return res.status === 503;
      });
      // A login and a logout (script and WAIT in one pipeline) for that slot.
      const loginRes = await request(plain.app).post("/auth/login").send({ user: user.userId, password: PASSWORD });
      expect([loginRes.status, loginRes.body.error]).to.deep.equal([503, "store_unavailable"]);
      const logoutRes = await request(plain.app).post("/auth/logout").send({ refresh_token: user.tokens.refresh_token });
      expect([logoutRes.status, logoutRes.body.error]).to.deep.equal([503, "store_unavailable"]);
      const errors = plain.eventsOf("store_error").map((e) => String((e.error as Error).message));
      expect(
        errors.some((m) => /CLUSTERDOWN/.test(m)),
        errors.slice(-3).join(" | "),
      ).to.equal(true);
    } finally {
      await admin.call("CLUSTER", "ADDSLOTS", String(slot));
      admin.disconnect();
    }
    await waitFor("the slot served again", async () => (await me(plain, user.tokens.access_token)).status === 200);
  });
});

/** The port of the node that holds the cache's subscriber connection (a client subscribed to a channel), if any. */
async function portOfSubscriber(cluster: RedisCluster): Promise<number | undefined> {
  const { Redis } = await import("ioredis");
  for (const node of cluster.nodes) {
    const probe = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      const list = (await probe.call("CLIENT", "LIST")) as string;
      if (/ sub=[1-9]/.test(list)) return node.port;
    } finally {
      probe.disconnect();
    }
  }
  return undefined;
}
