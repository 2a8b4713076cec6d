#!/usr/bin/env node
/**
 * The `session-guard` command: see and end a user's sessions, and count
 * what the store holds, from a shell. It acts on the store only (the same
 * scripts the library runs), so it never needs the JWT secret.
 *
 * Exit codes: 0 done, 1 not found, 2 bad usage, 3 Redis unreachable or failing.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { RedisStore } from "../stores/redis.js";
import { ioredis, type RedisClient } from "../stores/redis/client.js";
import { deadlineOf, type SessionRecord } from "../stores/store.js";
import { collectStats } from "./stats.js";

const EXIT = { done: 0, notFound: 1, usage: 2, redis: 3 } as const;

const COMMON_HELP = `Options:
  --redis-url <url>   Redis to act on (default: $REDIS_URL)
  --cluster <nodes>   a Redis Cluster instead: seed nodes, host:port[,host:port…]
  --prefix <prefix>   the store's key prefix (default "sg:")
  --json              machine-readable output
  -h, --help          this help`;

const HELP: Record<string, string> = {
  main: `Usage: session-guard <command> [options]

Commands:
  sessions list <userId>                       the user's live sessions, newest first
  sessions revoke <userId> <sessionId>         end one session
  sessions revoke-all <userId> [--except <id>] end all of the user's sessions (but one)
  stats                                        live sessions, users, remember-me and forever sessions, memory per session

${COMMON_HELP}

Exit codes: 0 done, 1 not found, 2 bad usage, 3 Redis unreachable or failing.`,
  list: `Usage: session-guard sessions list <userId> [options]\n\nThe user's live sessions, newest first.\n\n${COMMON_HELP}`,
  revoke: `Usage: session-guard sessions revoke <userId> <sessionId> [options]\n\nEnds one session, as the library does.\n\n${COMMON_HELP}`,
  "revoke-all": `Usage: session-guard sessions revoke-all <userId> [--except <sessionId>] [options]\n\nEnds every session of the user, or all but --except.\n\n${COMMON_HELP}`,
  stats: `Usage: session-guard stats [options]\n\nCounts live sessions and users (SCAN on every master) and samples memory per session (MEMORY USAGE).\n\n${COMMON_HELP}`,
};

class UsageError extends Error {}
class NotFound extends Error {}

interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function run(argv: string[], env: Record<string, string | undefined>, io: Output): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`session-guard: ${(err as Error).message}\nTry: session-guard --help`);
    return EXIT.usage;
  }
  if (parsed.help) {
    io.out(HELP[parsed.command ?? "main"]);
    return EXIT.done;
  }
  const url = parsed.values["redis-url"] ?? env.REDIS_URL;
  if (parsed.values.cluster === undefined && (url === undefined || url === "")) {
    io.err("session-guard: give --redis-url, --cluster or REDIS_URL");
    return EXIT.usage;
  }
  let client: RedisClient;
  try {
    client = await connect(url, parsed.values.cluster);
  } catch (err) {
    io.err(`session-guard: cannot reach Redis: ${(err as Error).message}`);
    return EXIT.redis;
  }
  const prefix = parsed.values.prefix ?? "sg:";
  const store = new RedisStore({ client, prefix });
  try {
    await execute(parsed, store, client, prefix, io);
    return EXIT.done;
  } catch (err) {
    if (err instanceof NotFound) {
      io.err(`session-guard: ${err.message}`);
      return EXIT.notFound;
    }
    io.err(`session-guard: Redis failed: ${(err as Error).message}`);
    return EXIT.redis;
  } finally {
    client.disconnect();
  }
}

type Parsed = {
  command: string | undefined;
  help: boolean;
  positionals: string[];
  values: Record<string, string | undefined> & { json?: boolean };
};

/** The options that take a value, as `--name value` or `--name=value`. */
const VALUE_OPTIONS = new Set(["--redis-url", "--cluster", "--prefix", "--except"]);

/**
 * Session ids (base64url) and user ids may start with `-`, and an operator
 * pastes them from `sessions list`: `parseArgs` would take `-x…` for short
 * options, and refuse `--except -x…` as ambiguous. So an option's value is
 * joined to it (`--except=-x…`), and every other argument that is not an
 * option (anything but `--…` and `-h`) is passed as a positional, in order,
 * after `--`. An unknown `--name` is still refused.
 */
function withIdsAsValues(argv: string[]): string[] {
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (VALUE_OPTIONS.has(arg) && i + 1 < argv.length) options.push(`${arg}=${argv[++i]}`);
    else if (arg.startsWith("--") || arg === "-h") options.push(arg);
    else positionals.push(arg);
  }
  return [...options, "--", ...positionals];
}

function parse(argv: string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: withIdsAsValues(argv),
    allowPositionals: true,
    strict: true,
    options: {
      "redis-url": { type: "string" },
      cluster: { type: "string" },
      prefix: { type: "string" },
      except: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [group, sub, ...rest] = positionals;
  const help = values.help === true;
  const command = group === "stats" ? "stats" : group === "sessions" && sub !== undefined && sub in HELP ? sub : undefined;
  if (help && (group === undefined || command !== undefined)) return { command, help, positionals: [], values: values as Parsed["values"] };
  if (command === undefined)
    throw new UsageError(group === undefined ? "no command given" : `unknown command: ${[group, sub].filter(Boolean).join(" ")}`);
  const args = command === "stats" ? [sub, ...rest].filter((a) => a !== undefined) : rest;
  const wanted = { list: 1, revoke: 2, "revoke-all": 1, stats: 0 }[command as "list"];
  if (args.length !== wanted)
    throw new UsageError(`${command === "stats" ? "stats" : `sessions ${command}`} takes ${wanted} argument(s), got ${args.length}`);
  if (values.except !== undefined && command !== "revoke-all") throw new UsageError("--except is an option of sessions revoke-all");
  if (values.prefix !== undefined && (values.prefix === "" || /[{}]/.test(values.prefix)))
    throw new UsageError("--prefix must be non-empty, without { or }");
  return { command, help: false, positionals: args, values: values as Parsed["values"] };
}

async function connect(url: string | undefined, cluster: string | undefined): Promise<RedisClient> {
  const { Redis, Cluster } = ioredis() as {
    Redis: new (url: string, options: object) => RedisClient & { connect(): Promise<void> };
    Cluster: new (nodes: Array<{ host: string; port: number }>, options: object) => RedisClient & { connect(): Promise<void> };
  };
  const common = { lazyConnect: true, enableOfflineQueue: false, commandTimeout: 5000, maxRetriesPerRequest: 1 };
  let client: RedisClient & { connect(): Promise<void> };
  if (cluster !== undefined) {
    const nodes = cluster.split(",").map((seed) => {
      const at = seed.lastIndexOf(":");
      const port = Number(seed.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port)) throw new Error(`--cluster: "${seed}" is not host:port`);
      return { host: seed.slice(0, at), port };
    });
    client = new Cluster(nodes, { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null, redisOptions: common });
  } else {
    client = new Redis(url!, { ...common, retryStrategy: () => null });
  }
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

async function execute(parsed: Parsed, store: RedisStore, client: RedisClient, prefix: string, io: Output): Promise<void> {
  const now = Date.now();
  const json = parsed.values.json === true;
  const [userId, sessionId] = parsed.positionals;
  switch (parsed.command) {
    case "list": {
      const records = (await store.list(userId, now)).sort((a, b) => b.createdAt - a.createdAt);
      if (records.length === 0) throw new NotFound(`no live sessions for user ${JSON.stringify(userId)}`);
      io.out(json ? JSON.stringify(records.map(toJson), null, 2) : table(records.map(toRow)));
      return;
    }
    case "revoke": {
      if (!(await store.revoke(userId, sessionId, now)))
        throw new NotFound(`no live session ${sessionId} of user ${JSON.stringify(userId)}`);
      io.out(json ? JSON.stringify({ revoked: 1 }) : "revoked 1 session");
      return;
    }
    case "revoke-all": {
      const ended = await store.revokeAll(userId, parsed.values.except, now);
      if (ended.length === 0) throw new NotFound(`no live sessions to end for user ${JSON.stringify(userId)}`);
      io.out(
        json
          ? JSON.stringify({ revoked: ended.length, sessions: ended })
          : `revoked ${ended.length} session${ended.length === 1 ? "" : "s"}`,
      );
      return;
    }
    case "stats": {
      const stats = await collectStats(client, prefix, now);
      io.out(
        json
          ? JSON.stringify(stats, null, 2)
          : table([
              ["live sessions", String(stats.sessions)],
              ["users", String(stats.users)],
              ["remember-me sessions", String(stats.rememberMe)],
              ["forever sessions", String(stats.forever)],
              ["dead, not yet expired", String(stats.dead)],
              ["bytes per session", stats.bytesPerSession === null ? "-" : `${stats.bytesPerSession} (MEMORY USAGE of ${stats.sampled})`],
            ]),
      );
    }
  }
}

function toJson(r: SessionRecord) {
  const deadline = deadlineOf(r);
  return {
    id: r.id,
    created_at: new Date(r.createdAt).toISOString(),
    last_used_at: new Date(r.lastUsedAt).toISOString(),
    expires_at: deadline === null ? null : new Date(deadline).toISOString(),
    remember_me: r.rememberMe,
    ip: r.ip,
    user_agent: r.userAgent,
  };
}

const HEADER = ["ID", "CREATED", "LAST USED", "EXPIRES", "REMEMBER", "IP", "USER AGENT"];
function toRow(r: SessionRecord): string[] {
  const j = toJson(r);
  const short = (iso: string | null) => (iso === null ? "never" : iso.slice(0, 19).replace("T", " "));
  return [
    j.id,
    short(j.created_at),
    short(j.last_used_at),
    short(j.expires_at),
    j.remember_me ? "yes" : "no",
    j.ip || "-",
    (j.user_agent || "-").slice(0, 60),
  ];
}

function table(rows: string[][]): string {
  const all = rows[0]?.length === HEADER.length ? [HEADER, ...rows] : rows;
  const widths = all[0].map((_, i) => Math.max(...all.map((row) => row[i].length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

// Run when started as the command, not when imported by a test.
const entry = process.argv[1] ?? "";
if (/(?:^|[\\/])(?:session-guard|main\.[cm]?[jt]s)$/.test(entry)) {
  void run(process.argv.slice(2), process.env, { out: (t) => console.log(t), err: (t) => console.error(t) }).then((code) => {
    process.exitCode = code;
  });
}
