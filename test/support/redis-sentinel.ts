/**
 * A real Redis Sentinel setup for the tests: a master, one replica
 * (`--replicaof`) and three Sentinels (`redis-server <conf> --sentinel`,
 * each with its own config file in its own temporary directory, since
 * Sentinel rewrites it), all started with {@link startRedis} on free
 * loopback ports. The Sentinels monitor the master with a quorum of 2 and
 * short timeouts, so a master killed by a test is replaced within seconds.
 *
 * Ready once the replica's link to the master is up and every Sentinel
 * names the master, sees the replica in sync and the other two Sentinels
 * (`SENTINEL CKQUORUM`: a failover can be authorised), polled with short
 * retries against a deadline, never a fixed sleep. Stopped by pid, by the
 * test's own `stop()` or at the end of the run (`teardown.ts`).
 *
 * The replica is started and in sync before the Sentinels: a Sentinel
 * learns of replicas from the master's `INFO`, which it asks for as soon as
 * it connects and then only every 10 s.
 *
 * @module
 */
import { Redis } from "ioredis";
import { startRedis, type RedisNode } from "./redis-server.js";
import { onRunEnd } from "./teardown.js";

/** Sentinels in the setup; the quorum is a majority of them. */
const SENTINELS = 3;
const QUORUM = 2;
/** How long the setup may take to be ready once every process answers PING. */
const READY_TIMEOUT_MS = 20_000;
/** How long a failover may take, from the master's death to every Sentinel naming the promoted replica. */
const FAILOVER_TIMEOUT_MS = 30_000;
/** Pause between two polls. */
const POLL_INTERVAL_MS = 25;

/**
 * Settings of the master and the replica: a full sync starts at once
 * (Redis waits 5 s by default for more replicas to share a diskless one).
 */
const DATA_NODE_ARGS = ["--repl-diskless-sync-delay", "0"];

/** An address as ioredis' `sentinels` option takes it. */
export interface Address {
  host: "127.0.0.1";
  port: number;
}

export interface SentinelOptions {
  /** The master group's name. Default `"sg-master"`. */
  name?: string;
  /** `down-after-milliseconds`: silence after which a Sentinel deems the master down. Default 500. */
  downAfterMs?: number;
  /**
   * `failover-timeout`: how long a promotion may take, and half the pause
   * before the Sentinels try again after a failed election. Default 2000.
   */
  failoverTimeoutMs?: number;
}

/** A running Sentinel setup. */
export interface SentinelSetup {
  /** The master group's name (ioredis' `name`). */
  name: string;
  /** The node started as master. */
  master: RedisNode;
  /** The node started as its replica. */
  replica: RedisNode;
  sentinels: RedisNode[];
  /** The Sentinels' addresses (ioredis' `sentinels`). */
  sentinelAddresses: Address[];
  /** Kills the node started as master with SIGKILL (by pid) and resolves once it exited. */
  killMaster(): Promise<void>;
  /**
   * Polls until every Sentinel names the node on `port` as master and that
   * node reports `role:master`; rejects after a deadline with what each
   * Sentinel said.
   */
  waitForMaster(port: number, timeoutMs?: number): Promise<void>;
  /** Stops every process by its pid and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

/** The config file of one Sentinel: the master it watches, and timeouts short enough for a test. */
function sentinelConfig(name: string, master: RedisNode, options: Required<SentinelOptions>): string {
  return [
    `sentinel monitor ${name} ${master.host} ${master.port} ${QUORUM}`,
    `sentinel down-after-milliseconds ${name} ${options.downAfterMs}`,
    `sentinel failover-timeout ${name} ${options.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${name} 1`,
    "",
  ].join("\n");
}

/** A client for polling: one attempt per command, queued until connected. */
function pollClient(node: RedisNode): Redis {
  const client = new Redis({ host: node.host, port: node.port, maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 1000 });
  client.on("error", () => {});
  return client;
}

/** `field value field value …` (as SENTINEL answers) into an object. */
function fields(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/** Polls `probe` until it answers `true`, else throws after `timeoutMs` with the last thing it said. */
async function until(probe: () => Promise<true | string>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await probe().catch((err: Error) => `error: ${err.message}`);
    if (answer === true) return;
    if (Date.now() >= deadline) throw new Error(`${what} within ${timeoutMs} ms; last: ${answer}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** Whether a Sentinel names `port` as the master (and, with `replicaPort`, sees that replica in sync and a quorum of Sentinels). */
async function sentinelAgrees(sentinel: Redis, name: string, port: number, replicaPort?: number): Promise<true | string> {
  const master = (await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as string[] | null;
  if (master === null || Number(master[1]) !== port) return `names master ${JSON.stringify(master)}, not ${port}`;
  if (replicaPort === undefined) return true;
  const replicas = ((await sentinel.call("SENTINEL", "REPLICAS", name)) as unknown[]).map(fields);
  const replica = replicas.find((r) => Number(r.port) === replicaPort);
  if (replica === undefined) return `knows no replica on ${replicaPort}`;
  if (/s_down|o_down|disconnected/.test(replica.flags) || replica["master-link-status"] !== "ok") {
    return `replica ${replicaPort}: flags ${replica.flags}, link ${replica["master-link-status"]}`;
  }
  try {
    await sentinel.call("SENTINEL", "CKQUORUM", name);
  } catch (err) {
    return `no quorum yet: ${(err as Error).message}`;
  }
  return true;
}

/** Every Sentinel at once: true when all agree. */
async function allAgree(clients: Redis[], name: string, port: number, replicaPort?: number): Promise<true | string> {
  const answers = await Promise.all(clients.map((c) => sentinelAgrees(c, name, port, replicaPort)));
  const disagreeing = answers.flatMap((a, i) => (a === true ? [] : [`sentinel ${i}: ${a}`]));
  return disagreeing.length === 0 ? true : disagreeing.join("; ");
}

/** Starts a master, its replica and three Sentinels, and resolves once the setup is ready (see the module's doc). */
export async function startSentinels(options: SentinelOptions = {}): Promise<SentinelSetup> {
  const settings: Required<SentinelOptions> = { name: "sg-master", downAfterMs: 500, failoverTimeoutMs: 2000, ...options };
  const { name } = settings;
  const nodes: RedisNode[] = [];
  const sentinels: RedisNode[] = [];
  let stopping: Promise<void> | undefined;
  // Sentinels first, so none reconfigures a node that is going away.
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all(nodes.filter((n) => sentinels.includes(n)).map((n) => n.stop()));
      await Promise.all(nodes.map((n) => n.stop()));
    })());
  onRunEnd("redis sentinel setup", stop);
  const polls: Redis[] = [];
  try {
    const master = await startRedis({ args: DATA_NODE_ARGS });
    nodes.push(master);
    const replica = await startRedis({ args: [...DATA_NODE_ARGS, "--replicaof", master.host, String(master.port)] });
    nodes.push(replica);
    const replicaPoll = pollClient(replica);
    polls.push(replicaPoll);
    await until(
      async () => /master_link_status:up/.test(await replicaPoll.info("replication")) || "the replica's link is not up",
      READY_TIMEOUT_MS,
      "the replica did not sync with its master",
    );
    const started = await Promise.allSettled(
      Array.from({ length: SENTINELS }, () => startRedis({ config: sentinelConfig(name, master, settings), args: ["--sentinel"] })),
    );
    for (const s of started) if (s.status === "fulfilled") sentinels.push(s.value);
    nodes.push(...sentinels);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    const sentinelPolls = sentinels.map(pollClient);
    polls.push(...sentinelPolls);
    await until(() => allAgree(sentinelPolls, name, master.port, replica.port), READY_TIMEOUT_MS, "the Sentinels were not ready");

    return {
      name,
      master,
      replica,
      sentinels,
      sentinelAddresses: sentinels.map((s) => ({ host: s.host, port: s.port })),
      killMaster: async () => {
        try {
          process.kill(master.pid, "SIGKILL");
        } catch {
          // already gone
        }
        // The child is unref'd: without a timer of our own the event loop
        // could run dry before its exit event arrives.
        const keepAlive = setInterval(() => {}, 1000);
        try {
          await master.exited;
        } finally {
          clearInterval(keepAlive);
        }
      },
      waitForMaster: async (port, timeoutMs = FAILOVER_TIMEOUT_MS) => {
        const target = nodes.find((n) => n.port === port);
        if (target === undefined) throw new Error(`no node of the setup listens on ${port}`);
        const probes = sentinels.map(pollClient);
        const node = pollClient(target);
        try {
          await until(
            async () => {
              const agreed = await allAgree(probes, name, port);
              if (agreed !== true) return agreed;
              return /^role:master\r?$/m.test(await node.info("replication")) || `${port} does not report role:master yet`;
            },
            timeoutMs,
            `the Sentinels did not promote ${port}`,
          );
        } finally {
          for (const c of [...probes, node]) c.disconnect();
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${nodes.map((n) => `-- 127.0.0.1:${n.port}\n${n.output()}`).join("\n")}`, {
      cause: err,
    });
  } finally {
    for (const c of polls) c.disconnect();
  }
}
