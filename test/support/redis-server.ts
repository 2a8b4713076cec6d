/**
 * A real `redis-server` for the tests: started on a free loopback port with
 * persistence off and a temporary working directory, ready once it answers
 * PING (polled with short retries against a deadline, never a fixed sleep),
 * and stopped by its pid.
 *
 * - {@link startRedis} starts a private server (a test that pauses or kills
 *   Redis wants its own).
 * - {@link sharedRedis} is one server for the whole run, started on first use
 *   and stopped by the mocha global teardown (`hooks.ts`).
 * - {@link spawnRedisNode} is the building block both use; a Redis Cluster
 *   fixture starts its nodes with it (`--cluster-enabled yes` in `args`,
 *   each node in its own directory, on a port whose bus port, +10000, is
 *   free too), joins them with `redis-cli --cluster create`, and registers
 *   its stop with `onRunEnd` (`teardown.ts`) as {@link sharedRedis} does.
 *
 * The binary is `redis-server` from the PATH, or `$REDIS_SERVER`.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { onRunEnd } from "./teardown.js";

/** The minimum Redis major version the library supports. */
const MIN_MAJOR = 7;
/** How long a server may take to answer PING after it was spawned. */
const READY_TIMEOUT_MS = 15_000;
/** Pause between two PING attempts while waiting for a server. */
const POLL_INTERVAL_MS = 20;
/** How long a server may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** Attempts at starting on a fresh port when another process took ours meanwhile. */
const START_ATTEMPTS = 5;

/** A running `redis-server` process. */
export interface RedisNode {
  host: "127.0.0.1";
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  pid: number;
  /** The node's working directory (removed by `stop`). */
  dir: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** The last lines the server printed (for failure messages). */
  output(): string;
  /** Stops the process by its pid (SIGTERM, SIGKILL after a deadline), awaits its exit, removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  port: number;
  /** Working directory; must exist. */
  dir: string;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: string[];
  /** A config file, passed first (`redis-server <file> …`), as Sentinel needs; it must be writable (Sentinel rewrites it). */
  configFile?: string;
}

export interface StartOptions {
  /** Extra `redis-server` arguments. */
  args?: string[];
  /** Contents of a config file written into the server's fresh directory and passed first (see {@link SpawnOptions.configFile}). */
  config?: string;
}

/** The binary to run, checked once: present and at least Redis 7. */
let binaryChecked: string | undefined;
export function redisServerBinary(): string {
  if (binaryChecked !== undefined) return binaryChecked;
  const binary = process.env.REDIS_SERVER || "redis-server";
  const probe = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (probe.error) {
    const reason = (probe.error as NodeJS.ErrnoException).code === "ENOENT" ? "was not found" : `could not be run (${probe.error.message})`;
    throw new Error(
      `${binary} ${reason}: the Redis tests start a real redis-server (${MIN_MAJOR}.0 or later). ` +
        `Install it (Debian/Ubuntu: apt-get install redis-server; .ci/run does this) or point REDIS_SERVER at the binary.`,
    );
  }
  const version = /v=(\d+)\.(\d+)\.(\d+)/.exec(probe.stdout ?? "");
  if (!version) throw new Error(`${binary} --version printed no version: ${JSON.stringify(probe.stdout)}`);
  if (Number(version[1]) < MIN_MAJOR) {
    throw new Error(`${binary} is Redis ${version[1]}.${version[2]}.${version[3]}; the tests need Redis ${MIN_MAJOR}.0 or later.`);
  }
  binaryChecked = binary;
  return binary;
}

/** A TCP port that was free on 127.0.0.1 a moment ago (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("listening on port 0 gave no port"));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}

/** Processes still running, killed by pid if the test process exits without teardown. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackUntilExit(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const proc of running) {
      if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(proc.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  });
}

/**
 * Spawns `redis-server` on `port` (bound to 127.0.0.1, no RDB, no AOF, in
 * `dir`) and waits until it answers PING. Rejects with the server's own
 * output if it exits or does not answer in time.
 */
export async function spawnRedisNode(options: SpawnOptions): Promise<RedisNode> {
  const binary = redisServerBinary();
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    "--port",
    String(options.port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    options.dir,
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
    "--loglevel",
    "warning",
    ...(options.args ?? []),
  ];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);

  let hasExited = false;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      hasExited = true;
      resolve();
    });
    child.once("error", (err) => {
      keep(Buffer.from(`\n${err.message}\n`));
      hasExited = true;
      resolve();
    });
  });
  if (child.pid === undefined) {
    await exited;
    throw new Error(`${binary} did not start: ${log.trim()}`);
  }
  const pid = child.pid;
  trackUntilExit(child);

  let stopping: Promise<void> | undefined;
  const node: RedisNode = {
    host: "127.0.0.1",
    port: options.port,
    url: `redis://127.0.0.1:${options.port}`,
    pid,
    dir: options.dir,
    exited,
    output: () => log.trim(),
    stop: () => {
      stopping ??= (async () => {
        if (!hasExited) {
          try {
            process.kill(pid, "SIGTERM");
          } catch {
            // exited in the meantime
          }
          if (!(await settlesWithin(exited, STOP_TIMEOUT_MS))) {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              // exited in the meantime
            }
            await exited;
          }
        }
        child.stdout!.destroy();
        child.stderr!.destroy();
        await rm(options.dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited) {
      await node.stop();
      throw new RedisStartError(`redis-server on port ${options.port} exited before answering PING:\n${node.output()}`, node.output());
    }
    if (await ping(options.port)) break;
    if (Date.now() >= deadline) {
      await node.stop();
      throw new RedisStartError(
        `redis-server on port ${options.port} did not answer PING within ${READY_TIMEOUT_MS} ms:\n${node.output()}`,
        node.output(),
      );
    }
    await delay(POLL_INTERVAL_MS);
  }
  // Once up, the server must not keep the test process alive on its own.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return node;
}

/** A start that failed; `output` is what the server printed. */
export class RedisStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message);
    this.name = "RedisStartError";
  }
}

/**
 * Starts a private `redis-server` on a free loopback port in a fresh
 * temporary directory. Retries on a new port if another process grabbed the
 * chosen one between the probe and the start.
 */
export async function startRedis(options: StartOptions = {}): Promise<RedisNode> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), "session-guard-redis-"));
    try {
      let configFile: string | undefined;
      if (options.config !== undefined) {
        configFile = join(dir, "redis.conf");
        await writeFile(configFile, options.config);
      }
      return await spawnRedisNode({ port: await freePort(), dir, args: options.args, configFile });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      lastError = err;
      const portTaken = err instanceof RedisStartError && /address already in use/i.test(err.output);
      if (!portTaken) throw err;
    }
  }
  throw lastError;
}

let shared: Promise<RedisNode> | undefined;

/**
 * One `redis-server` for the whole test run, started on first use and
 * stopped by the mocha global teardown. Tests must not stop or pause it;
 * they isolate themselves with a fresh key prefix or {@link flushRedis}.
 */
export function sharedRedis(): Promise<RedisNode> {
  if (shared === undefined) {
    const starting = startRedis();
    shared = starting;
    starting.catch(() => {
      if (shared === starting) shared = undefined;
    });
    onRunEnd("shared redis-server", async () => {
      const node = await starting.catch(() => undefined);
      if (shared === starting) shared = undefined;
      await node?.stop();
    });
  }
  return shared;
}

/** Deletes every key of every database (and, with `scripts`, the script cache). */
export async function flushRedis(client: Redis, options: { scripts?: boolean } = {}): Promise<void> {
  await client.flushall();
  if (options.scripts) await client.script("FLUSH");
}

/** Calls per command name (lower case, e.g. `hset`, `evalsha`, `config|resetstat`) from `INFO commandstats`. */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const info = await client.info("commandstats");
  const stats = new Map<string, number>();
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) stats.set(match[1], Number(match[2]));
  }
  return stats;
}

/**
 * Commands Redis has executed since start (or `CONFIG RESETSTAT`), from
 * `INFO commandstats`: the total over all commands, or over `names` only.
 * The `INFO` calls this helper itself makes are left out of the total.
 *
 * Redis counts the commands a script runs (`redis.call`) as well as the
 * script call itself: one EVALSHA that runs HGETALL and HSET adds 3. To
 * count round trips, count `evalsha`/`eval` or use {@link recordCommands}.
 */
export async function commandCount(client: Redis, names?: string[]): Promise<number> {
  const stats = await commandStats(client);
  let total = 0;
  for (const [name, calls] of stats) {
    if (names === undefined ? name !== "info" : names.includes(name)) total += calls;
  }
  return total;
}

/** A command as MONITOR saw it. */
export interface SeenCommand {
  /** Lower-case command name. */
  name: string;
  args: string[];
  /** True for a command run by a script (not a round trip of its own). */
  fromScript: boolean;
}

/**
 * Runs `fn` and returns, besides its result, every command Redis received
 * meanwhile (from any client but the recorder's own), in order, telling
 * client round trips from commands run inside scripts. Uses MONITOR on a
 * separate connection and a marker command to know the recording is
 * complete, so no waiting for a fixed time.
 */
export async function recordCommands<T>(
  url: string,
  fn: () => Promise<T>,
): Promise<{ result: T; commands: SeenCommand[]; roundTrips: SeenCommand[] }> {
  const control = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const source = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await control.connect();
  await source.connect();
  const monitor = await source.monitor();
  try {
    const startMarker = `session-guard-record-start-${process.hrtime.bigint()}`;
    const endMarker = `session-guard-record-end-${process.hrtime.bigint()}`;
    const commands: SeenCommand[] = [];
    let recording = false;
    let markStarted!: () => void;
    let markEnded!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      const name = String(args[0] ?? "").toLowerCase();
      if (name === "echo" && args[1] === startMarker) {
        recording = true;
        markStarted();
        return;
      }
      if (name === "echo" && args[1] === endMarker) {
        recording = false;
        markEnded();
        return;
      }
      if (recording) commands.push({ name, args: args.slice(1).map(String), fromScript: /lua/i.test(source) });
    });
    await control.echo(startMarker);
    await settlesWithin(started, READY_TIMEOUT_MS, "MONITOR did not see the start marker");
    const result = await fn();
    await control.echo(endMarker);
    await settlesWithin(ended, READY_TIMEOUT_MS, "MONITOR did not see the end marker");
    return { result, commands, roundTrips: commands.filter((c) => !c.fromScript) };
  } finally {
    monitor.disconnect();
    source.disconnect();
    control.disconnect();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves true when `promise` settles within `ms`, false otherwise; with `failure`, rejects instead of returning false. */
async function settlesWithin(promise: Promise<unknown>, ms: number, failure?: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    const settled = await Promise.race([
      promise.then(
        () => true as const,
        () => true as const,
      ),
      timeout,
    ]);
    if (!settled && failure !== undefined) throw new Error(failure);
    return settled;
  } finally {
    clearTimeout(timer);
  }
}

/** One PING over a raw connection: true when the server answered `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
    socket.once("end", () => finish(false));
  });
}
