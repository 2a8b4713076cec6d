/**
 * `waitForReplicas` on a Redis Cluster with a replica per master (six
 * `redis-server` processes started for this file, stopped by pid): the
 * `WAIT` reaches the master that took the write, so logins and revocations
 * of users on every master are on that master's replica when the store's
 * call returns (read there with `READONLY`); a shortfall is reported.
 */
import { expect } from "chai";
import type { Cluster, Redis } from "ioredis";
import { RedisStore } from "../../lib/index.js";
import { indexKey, sessionKey, userKeyBase } from "../../lib/stores/keys.js";
import { EPOCH, SECOND } from "../support/clock.js";
import {
  clusterTopology,
  connectCluster,
  connectReplicaOf,
  userSlot,
  masterOfSlot,
  startCluster,
  type RedisCluster,
} from "../support/redis-cluster.js";
import { commandStats } from "../support/redis-server.js";
import { sessionRecord } from "../support/session-record.js";
import { waitingStore } from "../support/waiting-store.js";

const PREFIX = "cluster-replicas:";
const REUSE_WINDOW = 10 * SECOND;
const record = (userId: string, id: string) => sessionRecord(userId, id);
const base = (userId: string) => userKeyBase(PREFIX, userId);
const sessionId = (n: number) => `session-${n}`.padEnd(22, "x");

describe("RedisStore waitForReplicas on a Redis Cluster with replicas", function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let client: Cluster;
  /** One user per master, with a READONLY connection to that master's replica. */
  const users: Array<{ userId: string; replica: Redis; masterPort: number }> = [];

  before(async () => {
    cluster = await startCluster({ replicasPerMaster: 1 });
    client = await connectCluster(cluster, { scaleReads: "master" });
    const topology = await clusterTopology(cluster.nodes);
    const seen = new Set<number>();
    for (let i = 0; seen.size < 3; i++) {
      const userId = `user-${i}`;
      const master = masterOfSlot(topology, await userSlot(client, PREFIX, userId));
      if (seen.has(master.port)) continue;
      seen.add(master.port);
      users.push({
        userId,
        masterPort: master.port,
        replica: await connectReplicaOf(cluster, await userSlot(client, PREFIX, userId)),
      });
    }
  });
  after(async () => {
    for (const { replica } of users) replica.disconnect();
    client?.disconnect();
    await cluster?.stop();
  });

  it("a login and a revocation are on the replica of the user's master when the call returns", async () => {
    const { store, shortfalls } = waitingStore(client, PREFIX, { replicas: 1, timeout: "1s" });
    expect(new Set(users.map((u) => u.masterPort)).size, "users on three masters").to.equal(3);
    for (const { userId, replica } of users) {
      const key = (id: string) => sessionKey(base(userId), id);
      for (let i = 0; i < 10; i++) {
        const id = sessionId(i);
        await store.create({ record: record(userId, id), refreshHash: "h0", maxSessions: null, now: EPOCH });
        expect(await replica.exists(key(id)), `${userId}'s new session on the replica`).to.equal(1);
        expect(await store.revoke(userId, id, EPOCH)).to.equal(true);
        expect(await replica.exists(key(id)), `${userId}'s revoked session on the replica`).to.equal(0);
      }
      // A logout by refresh token, and a reuse detected at refresh.
      await store.create({ record: record(userId, sessionId(20)), refreshHash: "h0", maxSessions: null, now: EPOCH });
      expect(await store.revokeByRefresh(userId, sessionId(20), 0, "h0", EPOCH, REUSE_WINDOW)).to.equal("ended");
      expect(await replica.exists(key(sessionId(20)))).to.equal(0);
      await store.create({ record: record(userId, sessionId(21)), refreshHash: "h0", maxSessions: null, now: EPOCH });
      const rotate = (now: number, successorHash: string) =>
        store.rotate({
          userId,
          sessionId: sessionId(21),
          generation: 0,
          presentedHash: "h0",
          successorHash,
          now,
          reuseWindow: REUSE_WINDOW,
          ip: "",
          userAgent: "",
        });
      expect((await rotate(EPOCH, "h1")).status).to.equal("rotated");
      expect((await rotate(EPOCH + 2 * REUSE_WINDOW, "h1")).status).to.equal("reused");
      expect(await replica.exists(key(sessionId(21))), "the session revoked on reuse, on the replica").to.equal(0);
      // A global logout.
      const ids = [sessionId(30), sessionId(31)];
      for (const id of ids) await store.create({ record: record(userId, id), refreshHash: "h0", maxSessions: null, now: EPOCH });
      expect((await store.revokeAll(userId, undefined, EPOCH)).sort()).to.deep.equal(ids);
      expect(await replica.exists(indexKey(base(userId)), ...ids.map(key))).to.equal(0);
    }
    expect(shortfalls).to.deep.equal([]);
    await store.close();
  });

  it("sends each WAIT to the master that took the write, none to the others", async () => {
    const store = new RedisStore({ client, prefix: PREFIX, waitForReplicas: { replicas: 1, timeout: "1s" } });
    const masters = client.nodes("master");
    await Promise.all(masters.map((node) => node.config("RESETSTAT")));
    const { userId, masterPort } = users[2];
    for (let i = 0; i < 5; i++)
      await store.create({ record: record(userId, sessionId(40 + i)), refreshHash: "h0", maxSessions: null, now: EPOCH });
    const waits = await Promise.all(masters.map(async (node) => [node.options.port, (await commandStats(node)).get("wait") ?? 0]));
    expect(Object.fromEntries(waits)).to.deep.equal(
      Object.fromEntries(masters.map((n) => [n.options.port, n.options.port === masterPort ? 5 : 0])),
    );
    await store.close();
  });

  it("reports fewer replicas than asked for, and still completes the write", async () => {
    const { store, shortfalls } = waitingStore(client, PREFIX, { replicas: 2, timeout: 50 });
    const { userId, replica } = users[0];
    const id = "c".repeat(22);
    await store.create({ record: record(userId, id), refreshHash: "h0", maxSessions: null, now: EPOCH });
    expect(await replica.exists(sessionKey(base(userId), id))).to.equal(1);
    expect(await store.revoke(userId, id, EPOCH)).to.equal(true);
    expect(await store.revoke(userId, id, EPOCH), "nothing left to revoke").to.equal(false);
    expect(shortfalls).to.deep.equal([
      { operation: "create", wanted: 2, acknowledged: 1 },
      { operation: "revoke", wanted: 2, acknowledged: 1 },
    ]);
    await store.close();
  });

  it("loads its scripts itself after SCRIPT FLUSH (NOSCRIPT inside the pipeline)", async () => {
    const store = new RedisStore({ client, prefix: PREFIX, waitForReplicas: { replicas: 1, timeout: "1s" } });
    await Promise.all(client.nodes("master").map((node) => node.script("FLUSH")));
    const { userId, replica } = users[1];
    const id = "d".repeat(22);
    await store.create({ record: record(userId, id), refreshHash: "h0", maxSessions: null, now: EPOCH });
    expect(await replica.exists(sessionKey(base(userId), id))).to.equal(1);
    await store.close();
  });

  it("follows a MOVED: a write whose slot moved to another master is sent there, and its WAIT too", async () => {
    const store = new RedisStore({ client, prefix: PREFIX, waitForReplicas: { replicas: 1, timeout: "1s" } });
    const userId = "moving-user";
    const slot = await userSlot(client, PREFIX, userId);
    const topology = await clusterTopology(cluster.nodes);
    const from = masterOfSlot(topology, slot);
    const to = topology.find((n) => n.role === "master" && n.id !== from.id)!;
    const { Redis } = await import("ioredis");
    const admin = (port: number) => new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
    const [source, target] = [admin(from.port), admin(to.port)];
    try {
      expect(Number(await source.call("CLUSTER", "COUNTKEYSINSLOT", String(slot))), "an empty slot to move").to.equal(0);
      // An empty slot moved as redis-cli --cluster reshard would; the client's slot map is not told.
      await target.call("CLUSTER", "SETSLOT", String(slot), "IMPORTING", from.id);
      await source.call("CLUSTER", "SETSLOT", String(slot), "MIGRATING", to.id);
      await target.call("CLUSTER", "SETSLOT", String(slot), "NODE", to.id);
      await source.call("CLUSTER", "SETSLOT", String(slot), "NODE", to.id);
      // The create script known to the new master (no NOSCRIPT round to count).
      const other = users.find((u) => u.masterPort === to.port)!;
      await store.create({ record: record(other.userId, "f".repeat(22)), refreshHash: "h0", maxSessions: null, now: EPOCH });
      await Promise.all(client.nodes("master").map((node) => node.config("RESETSTAT")));
      const id = "e".repeat(22);
      await store.create({ record: record(userId, id), refreshHash: "h0", maxSessions: null, now: EPOCH });
      expect(await target.exists(sessionKey(base(userId), id)), "the session on the slot's new master").to.equal(1);
      const waits = await Promise.all(
        client.nodes("master").map(async (node) => [node.options.port, (await commandStats(node)).get("wait") ?? 0]),
      );
      // The pipeline that met the MOVED carried its WAIT to the old master; the one that wrote, to the new one.
      expect(Object.fromEntries(waits)).to.deep.equal(
        Object.fromEntries(
          client.nodes("master").map((n) => [n.options.port, n.options.port === to.port || n.options.port === from.port ? 1 : 0]),
        ),
      );
      const replica = await connectReplicaOf(cluster, slot);
      try {
        expect(replica.options.port, "the new master's replica").to.not.equal(from.port);
        await waitForReplicaTopology(replica, to.id);
        expect(await replica.exists(sessionKey(base(userId), id)), "the session on the new master's replica").to.equal(1);
      } finally {
        replica.disconnect();
      }
    } finally {
      source.disconnect();
      target.disconnect();
      await store.close();
    }
  });
});

/** Checks that `replica` replicates the master `masterId` (its CLUSTER NODES says so). */
async function waitForReplicaTopology(replica: Redis, masterId: string): Promise<void> {
  const myself = ((await replica.call("CLUSTER", "NODES")) as string).split("\n").find((line) => line.includes("myself"))!;
  expect(myself.split(" ")[3], "the replica's master").to.equal(masterId);
}
