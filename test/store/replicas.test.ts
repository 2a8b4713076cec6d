/**
 * `waitForReplicas` on a real master with a real replica (two
 * `redis-server` processes started here, stopped by pid): logins and
 * revocations are on the replica as soon as the store's call returns; a
 * shortfall is reported, not thrown; the option is validated; a Cluster
 * client that reads from replicas is warned about. On a Cluster:
 * `cluster-replicas.test.ts`.
 */
import { expect } from "chai";
import { Cluster, Redis } from "ioredis";
import { RedisStore } from "../../lib/index.js";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { EPOCH } from "../support/clock.js";
import { startRedis, type RedisNode } from "../support/redis-server.js";
import { sessionRecord } from "../support/session-record.js";
import { waitingStore } from "../support/waiting-store.js";
import { ready, SAFE_CLIENT } from "../http/app.js";

const PREFIX = "replicas:";
const record = (id: string) => sessionRecord("alice", id);
const key = (id: string) => sessionKey(userKeyBase(PREFIX, "alice"), id);

async function linkUp(replica: Redis): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (/master_link_status:up/.test(await replica.info("replication"))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the replica never linked to its master");
}

describe("RedisStore waitForReplicas (a master and a replica)", function () {
  this.timeout(30_000);
  let master: RedisNode;
  let replicaNode: RedisNode;
  let client: Redis;
  let replica: Redis;

  before(async () => {
    master = await startRedis();
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

  it("warns when WAIT can outlast the client's commandTimeout", async () => {
    const codes: string[] = [];
    const onWarning = (w: Error & { code?: string }) => codes.push(String(w.code));
    process.on("warning", onWarning);
    try {
      new RedisStore({ client, prefix: PREFIX, waitForReplicas: { replicas: 1, timeout: "1s" } });
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes, "timeout below the 2 s commandTimeout").to.not.include("SESSION_GUARD_REDIS_WAIT_TIMEOUT");
      new RedisStore({ client, prefix: PREFIX, waitForReplicas: { replicas: 1, timeout: "2s" } });
      new RedisStore({ url: master.url, commandTimeout: 100, waitForReplicas: { replicas: 1, timeout: "100ms" } }).close();
      await new Promise((resolve) => setImmediate(resolve));
      expect(codes.filter((c) => c === "SESSION_GUARD_REDIS_WAIT_TIMEOUT")).to.have.length(2);
    } finally {
      process.off("warning", onWarning);
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
