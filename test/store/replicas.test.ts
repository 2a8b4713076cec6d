/**
 * `waitForReplicas` on a real master with a real replica (two
 * `redis-server` processes started here, stopped by pid): logins and
 * revocations are on the replica as soon as the store's call returns; a
 * shortfall is reported, not thrown, unless the app's callback throws; the
 * option is validated; a Cluster client that reads from replicas is warned
 * about. And what a client sees for a moment during a failover, when it
 * reaches a node that is a replica (READONLY): 503, never another 5xx. On a
 * Cluster: `cluster-replicas.test.ts`.
 */
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { expect } from "chai";
import { Cluster, Redis } from "ioredis";
import request from "supertest";
import { RedisStore, type ReplicaShortfall } from "../../lib/index.js";
import { ReplicaWaiter, resolveReplicaWait } from "../../lib/stores/redis/replicas.js";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { EPOCH, MINUTE } from "../support/clock.js";
import { startRedis, type RedisNode } from "../support/redis-server.js";
import { sessionRecord } from "../support/session-record.js";
import { waitingStore } from "../support/waiting-store.js";
import { buildApp, expectError, login, me, PASSWORD, ready, refresh, SAFE_CLIENT } from "../http/app.js";

const PREFIX = "replicas:";
const record = (id: string) => sessionRecord("alice", id);
const key = (id: string) => sessionKey(userKeyBase(PREFIX, "alice"), id);

/** Polls until the replica is linked (its first sync starts at once: the master runs with `--repl-diskless-sync-delay 0`). */
async function linkUp(replica: Redis): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (/master_link_status:up/.test(await replica.info("replication"))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the replica never linked to its master");
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** A TCP proxy on a free loopback port to a Redis port; `switchTo` drops its connections and sends new ones elsewhere. */
async function switchingProxy(port: number): Promise<{ port: number; switchTo(port: number): void; close(): Promise<void> }> {
  let target = port;
  const sockets = new Set<Socket>();
  const server = createServer((incoming) => {
    const outgoing = connect(target, "127.0.0.1");
    for (const [from, to] of [
      [incoming, outgoing],
      [outgoing, incoming],
    ]) {
      sockets.add(from);
      from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    switchTo(next) {
      target = next;
      for (const socket of sockets) socket.destroy();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("RedisStore waitForReplicas (a master and a replica)", function () {
  this.timeout(30_000);
  let master: RedisNode;
  let replicaNode: RedisNode;
  let client: Redis;
  let replica: Redis;

  before(async () => {
    master = await startRedis({ args: ["--repl-diskless-sync-delay", "0"] });
    replicaNode = await startRedis({ args: ["--replicaof", "127.0.0.1", String(master.port)] });
    client = new Redis(master.url, SAFE_CLIENT);
    replica = new Redis(replicaNode.url, SAFE_CLIENT);
    await Promise.all([ready(client), ready(replica)]);
    await linkUp(replica);
  });
  after(async () => {
    client.disconnect();
    replica.disconnect();
    await replicaNode.stop();
    await master.stop();
  });

  it("a login and a revocation are on the replica when the call returns", async () => {
    const { store, shortfalls } = waitingStore(client, PREFIX, { replicas: 1, timeout: "1s" });
    for (let i = 0; i < 20; i++) {
      const id = `session-${i}`.padEnd(22, "x");
      await store.create({ record: record(id), refreshHash: "h0", maxSessions: null, now: EPOCH });
      expect(await replica.exists(key(id)), "the new session on the replica").to.equal(1);
      expect(await store.revoke("alice", id, EPOCH)).to.equal(true);
      expect(await replica.exists(key(id)), "the revoked session on the replica").to.equal(0);
    }
    const ids = ["a", "b"].map((c) => c.repeat(22));
    for (const id of ids) await store.create({ record: record(id), refreshHash: "h0", maxSessions: null, now: EPOCH });
    expect((await store.revokeAll("alice", undefined, EPOCH)).sort()).to.deep.equal(ids);
    expect(await replica.exists(indexKey(userKeyBase(PREFIX, "alice")), ...ids.map(key))).to.equal(0);
    expect(shortfalls).to.deep.equal([]);
  });

  it("reports fewer replicas than asked for, and still completes the write", async () => {
    const { store, shortfalls } = waitingStore(client, PREFIX, { replicas: 2, timeout: 50 });
    const id = "c".repeat(22);
    await store.create({ record: record(id), refreshHash: "h0", maxSessions: null, now: EPOCH });
    expect(await client.exists(key(id))).to.equal(1);
    expect(await store.revoke("alice", id, EPOCH)).to.equal(true);
    expect(shortfalls).to.deep.equal([
      { operation: "create", wanted: 2, acknowledged: 1 },
      { operation: "revoke", wanted: 2, acknowledged: 1 },
    ]);
  });

  it("warns once by default when replicas fall behind", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(String(w.code));
    process.on("warning", onWarning);
    try {
      const store = new RedisStore({ client, prefix: PREFIX, waitForReplicas: { replicas: 3, timeout: 20 } });
      for (const id of ["d", "e"].map((c) => c.repeat(22)))
        await store.create({ record: record(id), refreshHash: "h0", maxSessions: null, now: EPOCH });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((c) => c === "SESSION_GUARD_REDIS_REPLICAS_BEHIND")).to.have.length(1);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("an onReplicaShortfall that throws fails the call with 503 store_unavailable; the write stays on the master", async () => {
    const prefix = "replicas-strict:";
    const t = buildApp({
      guard: {
        store: new RedisStore({
          client,
          prefix,
          waitForReplicas: { replicas: 2, timeout: 20 },
          onReplicaShortfall: ({ operation, acknowledged }) => {
            throw new Error(`${operation}: ${acknowledged} replica acknowledged`);
          },
        }),
      },
    });
    const res = await request(t.app).post("/auth/login").send({ user: "ada", password: PASSWORD });
    expectError(res, 503, "store_unavailable");
    expect(t.eventsOf("store_error").map((e) => [e.operation, (e.error as Error).message])).to.deep.equal([
      ["create", "create: 1 replica acknowledged"],
    ]);
    expect(await client.keys(`${prefix}*`), "the session and its index, on the master").to.have.length(2);
    await client.del(await client.keys(`${prefix}*`));
  });

  it("a client that reaches a read-only replica (as during a failover) gets 503 store_unavailable for every write; nothing changes", async () => {
    const prefix = "replicas-readonly:";
    const onMaster = buildApp({ guard: { store: new RedisStore({ client, prefix }), touchInterval: "1m" } });
    const tokens = await login(onMaster, "ada");
    expect(Number(await client.call("WAIT", 1, 2000))).to.equal(1);
    const sessionAt = sessionKey(userKeyBase(prefix, "ada"), tokens.session.id);
    const before = await replica.get(sessionAt);
    const onReplica = buildApp({
      clock: onMaster.clock,
      guard: { store: new RedisStore({ client: replica, prefix }), touchInterval: "1m" },
    });

    // A check that writes nothing reads the replica's copy; one due for a touch writes, and is refused.
    expect((await me(onReplica, tokens.access_token)).status).to.equal(200);
    onMaster.clock.advance(2 * MINUTE);
    expectError(await me(onReplica, tokens.access_token), 503, "store_unavailable");
    expectError(await request(onReplica.app).post("/auth/login").send({ user: "bob", password: PASSWORD }), 503, "store_unavailable");
    expectError(await refresh(onReplica, tokens.refresh_token), 503, "store_unavailable");
    const logout = await request(onReplica.app).post("/auth/logout").set("Authorization", `Bearer ${tokens.access_token}`);
    expectError(logout, 503, "store_unavailable");
    expect(await onReplica.guard.sessions.revokeAll("ada").catch((err: { code?: string }) => err.code)).to.equal("store_unavailable");

    const errors = onReplica.eventsOf("store_error").map((e) => [e.operation, /^READONLY /.test((e.error as Error).message)]);
    expect(errors).to.deep.equal([
      ["check", true],
      ["create", true],
      ["rotate", true],
      ["revoke", true],
      ["revokeAll", true],
    ]);
    expect(await client.get(sessionAt), "the master's record, untouched").to.equal(before);
    expect(await client.keys(`${prefix}*`)).to.have.length(2);
    await client.del(await client.keys(`${prefix}*`));
  });

  it("a WAIT that ioredis re-sends on a new connection, after the write's own was lost, counts as no replica", async () => {
    // What a failover does to a login: the write is made on one master, its
    // WAIT blocks (here: that master's replica is paused), the connection is
    // lost, and ioredis re-sends the WAIT on its next connection — to another
    // master (here through a proxy that switches), whose replica holds
    // everything that master wrote and acknowledges at once. That answer says
    // nothing about the write.
    const other = await startRedis({ args: ["--repl-diskless-sync-delay", "0"] });
    const otherReplica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(other.port)] });
    const proxy = await switchingProxy(master.port);
    const own = new Redis(proxy.port, "127.0.0.1", { ...SAFE_CLIENT, commandTimeout: 10_000, retryStrategy: () => 20 });
    const inspect = new Redis(master.url, SAFE_CLIENT);
    const otherReplicaClient = new Redis(otherReplica.url, SAFE_CLIENT);
    try {
      await Promise.all([ready(own), ready(inspect), ready(otherReplicaClient)]);
      await linkUp(otherReplicaClient);
      const shortfalls: ReplicaShortfall[] = [];
      const store = new RedisStore({
        client: own,
        prefix: PREFIX,
        waitForReplicas: { replicas: 1, timeout: "5s" },
        onReplicaShortfall: (s) => shortfalls.push(s),
      });
      const id = "f".repeat(22);
      process.kill(replicaNode.pid, "SIGSTOP");
      let created: Promise<unknown>;
      try {
        created = store.create({ record: record(id), refreshHash: "h0", maxSessions: null, now: EPOCH });
        await until(async () => / cmd=wait /.test(String(await inspect.client("LIST"))), "the WAIT blocks on the first master");
        proxy.switchTo(other.port);
      } finally {
        process.kill(replicaNode.pid, "SIGCONT");
      }
      await created;
      expect(await inspect.exists(key(id)), "the write, on the first master").to.equal(1);
      expect(shortfalls).to.deep.equal([{ operation: "create", wanted: 1, acknowledged: 0 }]);
      await store.close();
      await client.del(key(id), indexKey(userKeyBase(PREFIX, "alice")));
    } finally {
      own.disconnect();
      inspect.disconnect();
      otherReplicaClient.disconnect();
      await proxy.close();
      await otherReplica.stop();
      await other.stop();
    }
  });

  it("logins confirmed while a WAIT is out share the next one: a check waits behind two WAITs at most, not one per login", async () => {
    const { store, shortfalls } = waitingStore(client, "replicas-shared:", { replicas: 1, timeout: 200 });
    const waits = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(String(await client.info("commandstats")))?.[1] ?? 0);
    await store.create({ record: sessionRecord("bob", "b".repeat(22)), refreshHash: "h0", maxSessions: null, now: EPOCH });
    const before = await waits();
    process.kill(replicaNode.pid, "SIGSTOP"); // every WAIT now runs its whole timeout
    try {
      const logins = Array.from({ length: 8 }, (_, i) =>
        store.create({ record: sessionRecord("alice", `shared-${i}`.padEnd(22, "x")), refreshHash: "h0", maxSessions: null, now: EPOCH }),
      );
      const checked = await store.check("bob", "b".repeat(22), EPOCH, MINUTE);
      await Promise.all(logins);
      expect(checked?.id).to.equal("b".repeat(22));
    } finally {
      process.kill(replicaNode.pid, "SIGCONT");
    }
    // One WAIT for the first login's turn, one for all the logins confirmed while it was out.
    expect((await waits()) - before).to.be.at.most(2);
    expect(shortfalls.filter((s) => s.operation === "create")).to.have.length(8);
    expect(shortfalls.every((s) => s.acknowledged === 0)).to.equal(true);
    await client.del(await client.keys("replicas-shared:*"));
    await linkUp(replica);
  });

  it("a write whose connection was lost before its WAIT was answered counts as held by no replica", async () => {
    const shortfalls: ReplicaShortfall[] = [];
    const wait = resolveReplicaWait({ replicas: 1, timeout: "1s" }, (s) => shortfalls.push(s), {})!;
    const own = new Redis(master.url, { ...SAFE_CLIENT, retryStrategy: () => 10 });
    own.on("error", () => {});
    await ready(own);
    const waiter = new ReplicaWaiter(own, wait);
    try {
      // The write is made, then its connection is lost before the WAIT: the
      // WAIT, answered on the next connection (1: the replica holds all the
      // master has), says nothing about the write.
      const lost = waiter.mark();
      await own.set("replicas-lost:a", "1");
      await client.client("KILL", "ID", String(await own.client("ID")));
      await until(async () => own.status !== "ready", "the connection is lost");
      await ready(own);
      await waiter.confirm("create", lost);
      expect(shortfalls).to.deep.equal([{ operation: "create", wanted: 1, acknowledged: 0 }]);
      // A write on the connection its WAIT is sent on is confirmed.
      const kept = waiter.mark();
      await own.set("replicas-lost:b", "1");
      await waiter.confirm("create", kept);
      expect(shortfalls).to.have.length(1);
    } finally {
      waiter.close();
      own.disconnect();
      await client.del("replicas-lost:a", "replicas-lost:b");
    }
  });

  it("validates the option at construction, naming it", () => {
    const make = (extra: Record<string, unknown>) => () => new RedisStore({ client, ...extra } as never);
    expect(make({ waitForReplicas: { replicas: 0, timeout: "1s" } })).to.throw(TypeError, /waitForReplicas\.replicas/);
    expect(make({ waitForReplicas: { replicas: 1, timeout: "soon" } })).to.throw(TypeError, /waitForReplicas\.timeout/);
    expect(make({ waitForReplicas: { replicas: 1, timeout: "1s", quorum: 2 } })).to.throw(TypeError, /waitForReplicas\.quorum/);
    expect(make({ onReplicaShortfall: () => {} })).to.throw(TypeError, /onReplicaShortfall.*waitForReplicas/);
    // A Cluster client is taken (WAIT goes in the write's pipeline); a
    // Cluster-like client without pipeline() cannot be.
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    expect(() => new RedisStore({ client: cluster, waitForReplicas: { replicas: 1, timeout: "1s" } })).to.not.throw();
    const noPipeline = Object.assign(Object.create(client) as Redis, { isCluster: true, pipeline: undefined });
    expect(() => new RedisStore({ client: noPipeline, waitForReplicas: { replicas: 1, timeout: "1s" } })).to.throw(
      TypeError,
      /waitForReplicas.*Cluster.*pipeline/,
    );
    // The store's own client: a WAIT that waits its timeout out must not time out as a command.
    const owned = (extra: Record<string, unknown>) => () => new RedisStore({ url: master.url, ...extra } as never);
    expect(owned({ waitForReplicas: { replicas: 1, timeout: "1s" } })).to.throw(TypeError, /waitForReplicas\.timeout.*commandTimeout/);
    expect(owned({ commandTimeout: 300, waitForReplicas: { replicas: 1, timeout: "500ms" } })).to.throw(TypeError, /500 ms.*300 ms/);
  });

  it("warns about a client whose commandTimeout is no longer than waitForReplicas.timeout", async () => {
    const codes: string[] = [];
    const onWarning = (w: Error & { code?: string }) => codes.push(String(w.code));
    process.on("warning", onWarning);
    const short = new Redis(master.url, { ...SAFE_CLIENT, commandTimeout: 500, lazyConnect: true });
    const long = new Redis(master.url, { ...SAFE_CLIENT, commandTimeout: 501, lazyConnect: true });
    try {
      new RedisStore({ client: long, waitForReplicas: { replicas: 1, timeout: "500ms" } });
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes).to.not.include("SESSION_GUARD_REDIS_WAIT_TIMEOUT");
      new RedisStore({ client: short, waitForReplicas: { replicas: 1, timeout: "500ms" } });
      new RedisStore({ client: short, waitForReplicas: { replicas: 1, timeout: "500ms" } });
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes.filter((c) => c === "SESSION_GUARD_REDIS_WAIT_TIMEOUT")).to.have.length(1);
    } finally {
      process.off("warning", onWarning);
      short.disconnect();
      long.disconnect();
    }
  });

  it("warns about a Cluster client that reads from replicas", async () => {
    const codes: string[] = [];
    const onWarning = (w: Error & { code?: string }) => codes.push(String(w.code));
    process.on("warning", onWarning);
    try {
      const reading = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true, scaleReads: "slave" });
      const master = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true, scaleReads: "master" });
      new RedisStore({ client: master });
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes).to.not.include("SESSION_GUARD_REDIS_REPLICA_READS");
      new RedisStore({ client: reading });
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes).to.include("SESSION_GUARD_REDIS_REPLICA_READS");
    } finally {
      process.off("warning", onWarning);
    }
  });
});
