/**
 * A real Redis Cluster for the tests: three masters, without replicas or
 * with `replicasPerMaster` each, every node a `redis-server` started with
 * {@link spawnRedisNode} on a free loopback port whose cluster bus port
 * (+10000) is free too, in its own temporary directory, joined with
 * `redis-cli --cluster create`. Ready once every node reports
 * `cluster_state:ok` with all slots covered and every node known, and every
 * replica is linked to its master and done syncing (polled with short
 * retries against a deadline, never a fixed sleep); stopped by pid.
 *
 * - {@link startCluster} starts a private cluster (a test that kills a
 *   master wants its own, with replicas): the caller stops it.
 * - {@link sharedCluster} is one three-master cluster for the whole run,
 *   started on first use and stopped at the end of the run (`teardown.ts`).
 * - {@link clusterTopology} reads `CLUSTER NODES` from a live node: who is
 *   master of which slots, and whose replica each replica is.
 * - {@link connectCluster} opens an ioredis `Cluster` client, waits for its
 *   "ready" event (with the offline queue off, no command may go out before)
 *   and opens its connection to every master.
 * - {@link flushCluster} empties every master (and, with `scripts`, their
 *   script caches).
 * - {@link clusterInspector} is a `Cluster` client for assertions: single-key
 *   commands are routed by the client itself; `KEYS`, `SCRIPT` and `FLUSHALL`,
 *   which a Cluster client would send to one node only, go to every master.
 *
 * The binaries are `redis-server` and `redis-cli` from the PATH, or
 * `$REDIS_SERVER` and `$REDIS_CLI`.
 *
 * @module
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis, type ClusterOptions } from "ioredis";
import { indexKey, userKeyBase } from "../../lib/stores/keys.js";
import { RedisStartError, freePort, spawnRedisNode, type RedisNode } from "./redis-server.js";
import { onRunEnd } from "./teardown.js";

/** Masters in the test cluster. */
const MASTERS = 3;
/** `cluster-node-timeout` without replicas; with replicas the default is lower, so a failover is quick. */
const NODE_TIMEOUT_MS = 2000;
const NODE_TIMEOUT_WITH_REPLICAS_MS = 1000;
/** Offset of a node's cluster bus port from its client port (fixed by Redis). */
const BUS_PORT_OFFSET = 10_000;
/** How long `redis-cli --cluster create` may take. */
const CREATE_TIMEOUT_MS = 30_000;
/** How long the nodes may take to agree the cluster is ok after `create`. */
const READY_TIMEOUT_MS = 20_000;
/** Pause between two rounds of CLUSTER INFO while waiting. */
const POLL_INTERVAL_MS = 20;
/** Attempts at starting a node on fresh ports when another process took ours meanwhile. */
const START_ATTEMPTS = 5;
/** Slots of a Redis Cluster. */
const SLOTS = 16_384;

/** Options of {@link startCluster}. */
export interface ClusterStartOptions {
  /** Replicas of each master. Default 0. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout` in milliseconds: how soon a dead master is failed over. Default 2000, 1000 with replicas. */
  nodeTimeoutMs?: number;
}

/** A running, formed Redis Cluster. */
export interface RedisCluster {
  /** Every node, in the order given to `redis-cli --cluster create` (the masters first, as formed; roles change on a failover). */
  nodes: RedisNode[];
  /** Seed addresses for an ioredis `Cluster` client (every node). */
  startupNodes: Array<{ host: "127.0.0.1"; port: number }>;
  /** Milliseconds from the first spawn to every node reporting `cluster_state:ok`. */
  startMs: number;
  /** Stops every node by its pid. Idempotent. */
  stop(): Promise<void>;
}

let cliChecked: string | undefined;
/** The `redis-cli` binary, checked once. */
export function redisCliBinary(): string {
  if (cliChecked !== undefined) return cliChecked;
  const binary = process.env.REDIS_CLI || "redis-cli";
  const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (probe.error) {
    throw new Error(
      `${binary} could not be run (${probe.error.message}): the Redis Cluster tests form their cluster with redis-cli --cluster create. ` +
        `Install it (Debian/Ubuntu: apt-get install redis-server; .ci/run does this) or point REDIS_CLI at the binary.`,
    );
  }
  cliChecked = binary;
  return binary;
}

/** True when nothing listens on 127.0.0.1:`port` right now. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port whose bus port is free too, and neither among `taken`. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    const bus = port + BUS_PORT_OFFSET;
    if (bus > 65_535 || taken.has(port) || taken.has(bus)) continue;
    if (!(await portIsFree(bus))) continue;
    // Checked again: another start may have picked the same port meanwhile.
    if (taken.has(port) || taken.has(bus)) continue;
    taken.add(port).add(bus);
    return port;
  }
}

/** Starts one cluster-enabled node, retrying on fresh ports if either of its ports was taken meanwhile. */
async function startClusterNode(taken: Set<number>, nodeTimeoutMs: number): Promise<RedisNode> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await clusterPort(taken);
    const dir = await mkdtemp(join(tmpdir(), "session-guard-cluster-"));
    try {
      return await spawnRedisNode({
        port,
        dir,
        args: [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, "nodes.conf"),
          "--cluster-node-timeout",
          String(nodeTimeoutMs),
          // A replica's first sync starts at once, not after Redis's default 5 s.
          "--repl-diskless-sync-delay",
          "0",
        ],
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      lastError = err;
      const portTaken = err instanceof RedisStartError && /address already in use|failed listening/i.test(err.output);
      if (!portTaken) throw err;
    }
  }
  throw lastError;
}

/** Runs `redis-cli --cluster create` over the nodes: the first {@link MASTERS} become masters, the others their replicas. */
function createCluster(nodes: RedisNode[], replicasPerMaster: number): Promise<void> {
  const args = [
    "--cluster",
    "create",
    ...nodes.map((n) => `${n.host}:${n.port}`),
    "--cluster-replicas",
    String(replicasPerMaster),
    "--cluster-yes",
  ];
  return new Promise((resolve, reject) => {
    execFile(redisCliBinary(), args, { timeout: CREATE_TIMEOUT_MS, encoding: "utf8" }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      // redis-cli can exit 0 after printing [ERR]; trust neither alone.
      if (err || /\[ERR\]/.test(output))
        reject(new Error(`redis-cli --cluster create failed${err ? ` (${err.message})` : ""}:\n${output}`));
      else resolve();
    });
  });
}

/** Fields of `CLUSTER INFO`. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

/**
 * Whether one node is ready, from its `CLUSTER INFO`, `CLUSTER NODES` and
 * `INFO replication`: the cluster ok with all slots served, every node
 * known, every replica known as one, and (on a replica) linked to its
 * master and done syncing.
 */
function nodeReady(info: string, nodesText: string, replication: string, nodes: number, replicas: number): boolean {
  const fields = parseInfo(info);
  const known = parseClusterNodes(nodesText);
  const replicaLinked =
    !/^role:slave/m.test(replication) || (/^master_link_status:up/m.test(replication) && /^master_sync_in_progress:0/m.test(replication));
  return (
    fields.get("cluster_state") === "ok" &&
    fields.get("cluster_slots_ok") === String(SLOTS) &&
    fields.get("cluster_known_nodes") === String(nodes) &&
    known.filter((n) => n.role === "replica").length === replicas &&
    replicaLinked
  );
}

/** Polls every node until each is ready (see {@link nodeReady}), against a deadline. */
async function waitUntilClusterOk(nodes: RedisNode[], replicas: number): Promise<void> {
  const clients = nodes.map(
    (n) => new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true }),
  );
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: string[] = [];
  const ask = (c: Redis, ...args: string[]) =>
    (c.call(args[0], ...args.slice(1)) as Promise<string>).catch((err: Error) => `error:${err.message}`);
  try {
    for (;;) {
      const answers = await Promise.all(
        clients.map((c) => Promise.all([ask(c, "CLUSTER", "INFO"), ask(c, "CLUSTER", "NODES"), ask(c, "INFO", "replication")])),
      );
      last = answers.map((a) => a.join("\n"));
      if (answers.every(([info, known, replication]) => nodeReady(info, known, replication, nodes.length, replicas))) return;
      if (Date.now() >= deadline) {
        throw new Error(
          `the Redis Cluster was not ready on every node within ${READY_TIMEOUT_MS} ms:\n` +
            nodes.map((n, i) => `-- 127.0.0.1:${n.port}\n${last[i].trim()}\n${n.output()}`).join("\n"),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

/**
 * Starts and forms a private cluster of {@link MASTERS} masters, each with
 * `replicasPerMaster` replicas. The caller stops it (`stop()`, by pid).
 */
export async function startCluster(options: ClusterStartOptions = {}): Promise<RedisCluster> {
  const replicasPerMaster = options.replicasPerMaster ?? 0;
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) throw new TypeError("replicasPerMaster must be a whole number");
  const nodeTimeoutMs = options.nodeTimeoutMs ?? (replicasPerMaster > 0 ? NODE_TIMEOUT_WITH_REPLICAS_MS : NODE_TIMEOUT_MS);
  const started = Date.now();
  const taken = new Set<number>();
  const count = MASTERS * (1 + replicasPerMaster);
  const settled = await Promise.allSettled(Array.from({ length: count }, () => startClusterNode(taken, nodeTimeoutMs)));
  const nodes = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
  try {
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    await createCluster(nodes, replicasPerMaster);
    await waitUntilClusterOk(nodes, MASTERS * replicasPerMaster);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: n.host, port: n.port })),
    startMs: Date.now() - started,
    stop,
  };
}

/** One line of `CLUSTER NODES`. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: "master" | "replica";
  /** The master's id, for a replica. */
  masterId: string | undefined;
  /** Flagged `fail` or `fail?` by the node asked. */
  failing: boolean;
  /** The slots it serves (a master), as `[first, last]` ranges. */
  slots: Array<[number, number]>;
}

/** Parses `CLUSTER NODES` (slots being imported or migrated, `[…]`, are left out). */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .flatMap((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(" ");
      const port = Number(/:(\d+)@/.exec(address ?? "")?.[1]);
      if (!id || !flags || !Number.isFinite(port)) return [];
      const flagSet = new Set(flags.split(","));
      return [
        {
          id,
          port,
          role: flagSet.has("slave") ? "replica" : "master",
          masterId: master === "-" ? undefined : master,
          failing: flagSet.has("fail") || flagSet.has("fail?"),
          slots: slots
            .filter((range) => !range.startsWith("["))
            .map((range) => {
              const [first, last = first] = range.split("-").map(Number);
              return [first, last] as [number, number];
            }),
        },
      ];
    });
}

/** `CLUSTER NODES` as seen by the first live node of `nodes` (the ones not stopped). */
export async function clusterTopology(nodes: RedisNode[]): Promise<ClusterNodeInfo[]> {
  let lastError: unknown;
  for (const node of nodes) {
    const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      return parseClusterNodes((await client.call("CLUSTER", "NODES")) as string);
    } catch (err) {
      lastError = err;
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`no node answered CLUSTER NODES: ${String(lastError)}`);
}

/** The master serving `slot` in `topology`. */
export function masterOfSlot(topology: ClusterNodeInfo[], slot: number): ClusterNodeInfo {
  const master = topology.find((n) => n.role === "master" && !n.failing && n.slots.some(([a, b]) => slot >= a && slot <= b));
  if (!master) throw new Error(`no live master serves slot ${slot}`);
  return master;
}

let shared: Promise<RedisCluster> | undefined;

/**
 * One Redis Cluster for the whole test run, started on first use and stopped
 * by the mocha global teardown. Tests must not stop, pause or reshard it;
 * they isolate themselves with a fresh key prefix or {@link flushCluster}.
 */
export function sharedCluster(): Promise<RedisCluster> {
  if (shared === undefined) {
    const starting = startCluster();
    shared = starting;
    starting.catch(() => {
      if (shared === starting) shared = undefined;
    });
    onRunEnd("shared redis cluster", async () => {
      const cluster = await starting.catch(() => undefined);
      if (shared === starting) shared = undefined;
      await cluster?.stop();
    });
  }
  return shared;
}

/** How long a Cluster client may take to become ready. */
const CLIENT_READY_TIMEOUT_MS = 10_000;

/**
 * Opens an ioredis `Cluster` client on `cluster` and resolves once it emitted
 * "ready" (slots loaded, ready check passed). Defaults: offline queue off,
 * `commandTimeout` 2000 ms, no periodic slot refresh.
 */
export async function connectCluster(cluster: RedisCluster, options: ClusterOptions = {}): Promise<Cluster> {
  const client = new Cluster(cluster.startupNodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    slotsRefreshInterval: 0,
    ...options,
    redisOptions: { commandTimeout: 2000, maxRetriesPerRequest: 1, ...options.redisOptions },
  });
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    timer = setTimeout(
      () => reject(new Error(`the Cluster client was not ready within ${CLIENT_READY_TIMEOUT_MS} ms`)),
      CLIENT_READY_TIMEOUT_MS,
    );
  });
  try {
    await Promise.all([ready, client.connect()]);
    // "ready" leaves the connections to the masters unopened. With the
    // offline queue off, ioredis rejects a command for a master whose
    // connection is still opening ("Connection is closed."), then retries it
    // after retryDelayOnFailover (100 ms) on a random node and follows the
    // MOVED. Opening them all now keeps every test off that path.
    await Promise.all(masters(client).map((node) => node.ping()));
  } catch (err) {
    client.disconnect();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** The masters a ready Cluster client is connected to. */
function masters(client: Cluster): Redis[] {
  const nodes = client.nodes("master");
  if (nodes.length === 0) throw new Error("the Cluster client knows no master (is it ready?)");
  return nodes;
}

/** Deletes every key on every master (and, with `scripts`, empties their script caches). */
export async function flushCluster(client: Cluster, options: { scripts?: boolean } = {}): Promise<void> {
  await Promise.all(
    masters(client).map(async (node) => {
      await node.flushall();
      if (options.scripts) await node.script("FLUSH");
    }),
  );
}

/**
 * `client` for assertions, with the commands that a Cluster client would
 * send to one node only going to every master:
 *
 * - `keys(pattern)` — the keys of all masters;
 * - `script(...)` — run on every master (e.g. `SCRIPT FLUSH`), the first reply;
 * - `flushall()` — every master.
 *
 * Everything else is the Cluster client's own (single-key commands are
 * routed by key slot).
 */
export function clusterInspector(client: Cluster): Cluster {
  const fanOut: Record<string, (...args: unknown[]) => Promise<unknown>> = {
    keys: async (pattern: unknown) => (await Promise.all(masters(client).map((n) => n.keys(String(pattern))))).flat(),
    script: async (...args: unknown[]) => (await Promise.all(masters(client).map((n) => n.call("SCRIPT", ...(args as string[])))))[0],
    flushall: async () => (await Promise.all(masters(client).map((n) => n.flushall())))[0],
  };
  return new Proxy(client, {
    get(target, name, receiver) {
      if (typeof name === "string" && Object.hasOwn(fanOut, name)) return fanOut[name];
      const value = Reflect.get(target, name, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The hash slot of `key`, as the cluster computes it (`CLUSTER KEYSLOT`). */
export async function keySlot(client: Cluster, key: string): Promise<number> {
  return Number(await client.call("CLUSTER", "KEYSLOT", key));
}

/** The hash slot of every key of `userId` in a store with `prefix`. */
export function userSlot(client: Cluster, prefix: string, userId: string): Promise<number> {
  return keySlot(client, indexKey(userKeyBase(prefix, userId)));
}

/**
 * A connection to the (first live) replica of the master serving `slot`,
 * in `READONLY` mode, so it answers reads of that slot from what the
 * replica itself holds instead of redirecting them to the master.
 */
export async function connectReplicaOf(cluster: RedisCluster, slot: number): Promise<Redis> {
  const topology = await clusterTopology(cluster.nodes);
  const master = masterOfSlot(topology, slot);
  const replica = topology.find((n) => n.role === "replica" && n.masterId === master.id && !n.failing);
  if (!replica) throw new Error(`the master of slot ${slot} (port ${master.port}) has no live replica`);
  const client = new Redis({ host: "127.0.0.1", port: replica.port, readOnly: true, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}
