/**
 * Shared helpers of the benchmark: configuration, free ports, the bench's own
 * redis-server, child processes (servers, load generator, in-process
 * measurements) and small statistics.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpus } from "node:os";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";

/** The server variants, in the order of the tables (each is a case of `server.ts`). */
export const VARIANTS = [
  "bare",
  "express-jwt",
  "express-jwt-string",
  "express-session",
  "sg-redis",
  "sg-redis-plain",
  "sg-redis-ioredis-pipelining",
  "sg-redis-cache",
  "sg-redis-cold",
  "sg-memory",
] as const;
export type Variant = (typeof VARIANTS)[number];

export const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL("..", import.meta.url));

const quick = process.env.BENCH_QUICK === "1";
function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
  return value;
}

export const config = {
  quick,
  rounds: num("BENCH_ROUNDS", quick ? 1 : 5),
  duration: num("BENCH_DURATION", quick ? 2 : 5),
  warmup: num("BENCH_WARMUP", quick ? 1 : 2),
  connections: num("BENCH_CONNECTIONS", 50),
  /** Sessions created for the Redis-memory and heap measurements. */
  sessions: num("BENCH_SESSIONS", quick ? 1000 : 10_000),
  /** Seconds of each in-process throughput measurement (login, refresh). */
  opsSeconds: num("BENCH_OPS_SECONDS", quick ? 1 : 3),
  /** In-flight operations of the in-process throughput measurements. */
  opsConcurrency: num("BENCH_OPS_CONCURRENCY", 50),
  /** Session counts of the revokeAll measurement. */
  revokeAllSizes: quick ? [100, 1000] : [100, 10_000],
  /** Revocations timed from one app process to another's local session cache. */
  revocations: num("BENCH_REVOCATIONS", quick ? 100 : 2000),
};

/**
 * CPU pinning (BENCH_PIN=0 turns it off): with taskset and at least two
 * cores, the servers run on CPU 0 and the load generator and Redis on CPU 1,
 * so the scheduler does not move them around mid-run.
 */
export const pin = (() => {
  if (process.env.BENCH_PIN === "0" || process.platform !== "linux") return false;
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return cpus().length >= 2;
  } catch {
    return false;
  }
})();

/** The command and arguments that run `command` pinned to `cpu` (unchanged when not pinning). */
export function pinned(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  return pin && cpu !== undefined ? ["taskset", ["-c", String(cpu), command, ...args]] : [command, args];
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a throwaway redis-server on a free loopback port, without persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    ...pinned(1, "redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]),
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  child.stdout!.on("data", (d: Buffer) => {
    log += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited early:\n${log}`);
    const probe = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server did not start:\n${log}`);
      await sleep(50);
    }
  }
  const pid = child.pid!;
  return {
    url,
    port,
    pid,
    async stop() {
      if (child.exitCode !== null) return;
      process.kill(pid, "SIGTERM");
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) process.kill(pid, "SIGKILL");
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TypeScript child process run by tsx, talking over IPC. */
export class Child {
  readonly proc: ChildProcess;
  private readonly waiters: Array<{ test: (m: any) => boolean; resolve: (m: any) => void; reject: (e: Error) => void }> = [];
  private readonly exited: Promise<number | null>;

  constructor(script: string, options: { env?: Record<string, string>; nodeFlags?: string[]; cpu?: number } = {}) {
    // taskset execs node in place, so the pid stays the child's.
    this.proc = spawn(
      ...pinned(options.cpu, process.execPath, [
        ...(options.nodeFlags ?? []),
        "--import",
        "tsx",
        new URL(script, import.meta.url).pathname,
      ]),
      {
        cwd: ROOT_DIR,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      },
    );
    this.proc.on("message", (m: any) => {
      const i = this.waiters.findIndex((w) => w.test(m));
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    });
    this.exited = new Promise((resolve) =>
      this.proc.once("exit", (code) => {
        for (const w of this.waiters.splice(0)) w.reject(new Error(`${script} exited (code ${code}) before answering`));
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Waits for the next message that passes `test`. */
  wait<T = any>(test: (m: any) => boolean): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.proc.exitCode !== null) reject(new Error("child already exited"));
      else this.waiters.push({ test, resolve, reject });
    });
  }

  send(message: unknown): void {
    this.proc.send(message as any);
  }

  /** Asks the child to stop (it exits cleanly, so --cpu-prof writes its profile); kills it by pid after a grace period. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    // A child that finished its work may be exiting on its own: its channel
    // is closed, or closes while the message is on its way (an EPIPE that
    // arrives as an 'error' event, not as a throw).
    if (this.proc.connected) {
      this.proc.once("error", () => {});
      try {
        this.send({ type: "stop" });
      } catch {
        /* already gone */
      }
    }
    const done = await Promise.race([this.exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!done) process.kill(this.pid, "SIGKILL");
  }

  whenExited(): Promise<number | null> {
    return this.exited;
  }
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The result of one load run, as the load child reports it. */
export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Cold variant only: requests that had to reuse a minted token (0 when there were enough). */
  tokensReused?: number;
}

/** Counts of Redis commands by name, from INFO commandstats. */
export async function commandStats(client: Redis): Promise<Map<string, number>> {
  const info = await client.info("commandstats");
  const stats = new Map<string, number>();
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) stats.set(m[1], Number(m[2]));
  }
  return stats;
}

/** Commands run between two snapshots, leaving out the bench's own INFO calls. */
export function commandDelta(before: Map<string, number>, after: Map<string, number>): { total: number; byName: Record<string, number> } {
  const byName: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of after) {
    if (name === "info") continue;
    const d = calls - (before.get(name) ?? 0);
    if (d > 0) {
      byName[name] = d;
      total += d;
    }
  }
  return { total, byName };
}
