/**
 * The benchmark harness (`npm run bench`; `BENCH_QUICK=1` for a smoke run).
 *
 * Starts its own redis-server, one child process per server variant, and a
 * load-generator child (autocannon). Rounds interleave the variants (the
 * order rotates every round) so drift of the host cancels out; each round
 * reports req/s and latency per variant and its ratio to bare Express in
 * the same round. Then in-process measurements: Redis commands per request,
 * Redis memory and heap per session, login/refresh throughput, revokeAll,
 * and revocation propagation between two app processes with the local
 * session cache (`propagation.ts`).
 *
 * Env: BENCH_ROUNDS, BENCH_DURATION (s), BENCH_WARMUP (s), BENCH_CONNECTIONS,
 * BENCH_SESSIONS, BENCH_OPS_SECONDS, BENCH_REVOCATIONS, BENCH_QUICK=1. A full run writes
 * bench/RESULTS.md; every run writes bench/.results/<time>.json.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { Redis } from "ioredis";
import {
  BENCH_DIR,
  Child,
  ROOT_DIR,
  commandDelta,
  commandStats,
  config,
  median,
  pin,
  sleep,
  startRedis,
  VARIANTS,
  type LoadResult,
  type RedisServer,
  type Variant,
} from "./common.js";
import { measurePropagation } from "./propagation.js";

const LABEL: Record<Variant, string> = {
  bare: "bare Express (upper bound)",
  "express-jwt": "express-jwt (stateless HS256, KeyObject secret)",
  "express-jwt-string": "express-jwt (stateless HS256, string secret)",
  "express-session": "express-session + connect-redis",
  "sg-redis": "session-guard, RedisStore",
  "sg-redis-plain": "session-guard, RedisStore, a plain `new Redis(url)` client",
  "sg-redis-ioredis-pipelining": "session-guard, RedisStore, the same client with ioredis' `enableAutoPipelining`",
  "sg-redis-cache": "session-guard, RedisStore, local session cache (ttl 5 s)",
  "sg-redis-cold": "session-guard, RedisStore, every request a token never seen",
  "sg-memory": "session-guard, MemoryStore",
};
/** The variants whose Redis commands are counted: express-session's and every RedisStore one. */
const USES_REDIS: Variant[] = VARIANTS.filter((v) => v === "express-session" || v.startsWith("sg-redis"));

/**
 * What the load generator needs to sign a fresh access token for every
 * request (the cold variant: the guard's verified-token cache never hits).
 */
interface Mint {
  secret: string;
  sub: string;
  sid: string;
  claims: Record<string, unknown>;
  ttl: number;
}
interface Server {
  variant: Variant;
  child: Child;
  url: string;
  headers: Record<string, string>;
  mint?: Mint;
}

const secret = randomBytes(48).toString("base64");
const children: Child[] = [];
let redis: RedisServer | undefined;

async function cleanup(): Promise<void> {
  await Promise.all(children.map((c) => c.stop().catch(() => {})));
  await redis?.stop().catch(() => {});
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

async function startServer(variant: Variant, redisUrl: string): Promise<Server> {
  const child = new Child("server.ts", { env: { BENCH_VARIANT: variant, BENCH_SECRET: secret, REDIS_URL: redisUrl }, cpu: 0 });
  children.push(child);
  const { port } = await child.wait<{ port: number }>((m) => m.type === "ready");
  const url = `http://127.0.0.1:${port}`;
  const { headers, mint } = await login(variant, url);
  // Check that the credentials work and that the route is really guarded.
  const ok = await fetch(`${url}/hello`, { headers });
  if (ok.status !== 200) throw new Error(`${variant}: GET /hello with credentials answered ${ok.status}`);
  await ok.arrayBuffer();
  if (variant !== "bare") {
    const denied = await fetch(`${url}/hello`);
    await denied.arrayBuffer();
    if (denied.status !== 401) throw new Error(`${variant}: GET /hello without credentials answered ${denied.status}, expected 401`);
  }
  return { variant, child, url, headers, mint };
}

/** Logs in once; returns the headers every request of the load carries (and, for the cold variant, how to mint tokens). */
async function login(variant: Variant, url: string): Promise<{ headers: Record<string, string>; mint?: Mint }> {
  const post = (path: string) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "ada@example.com", password: "correct horse" }),
    });
  switch (variant) {
    case "bare":
      return { headers: {} };
    case "express-jwt":
    case "express-jwt-string": {
      const body = (await (await post("/login")).json()) as { access_token: string };
      return { headers: { authorization: `Bearer ${body.access_token}` } };
    }
    case "express-session": {
      const res = await post("/login");
      await res.arrayBuffer();
      const cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      if (!cookie) throw new Error("express-session: login set no cookie");
      return { headers: { cookie } };
    }
    case "sg-redis":
    case "sg-redis-plain":
    case "sg-redis-ioredis-pipelining":
    case "sg-redis-cache":
    case "sg-redis-cold":
    case "sg-memory": {
      const body = (await (await post("/auth/login")).json()) as { access_token: string; expires_in: number; session: { id: string } };
      const headers = { authorization: `Bearer ${body.access_token}` };
      if (variant !== "sg-redis-cold") return { headers };
      // The same session, the same claims as the server's own tokens (server.ts's authenticate).
      return { headers, mint: { secret, sub: "user-1", sid: body.session.id, claims: { role: "user" }, ttl: body.expires_in } };
    }
  }
}

let nextId = 0;
async function load(loader: Child, server: Server, duration: number): Promise<LoadResult> {
  const id = ++nextId;
  const answer = loader.wait<{ result?: LoadResult; error?: string }>((m) => m.type === "result" && m.id === id);
  loader.send({
    type: "run",
    id,
    url: `${server.url}/hello`,
    headers: server.headers,
    mint: server.mint,
    connections: config.connections,
    duration,
  });
  const { result, error } = await answer;
  if (!result) throw new Error(`load of ${server.variant} failed: ${error}`);
  if (result.tokensReused)
    throw new Error(`${server.variant}: the load ran out of fresh tokens (${result.tokensReused} requests reused one)`);
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${server.variant}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts under load`);
  }
  return result;
}

async function runChild(script: string, nodeFlags: string[] = []): Promise<any> {
  const child = new Child(script, { env: { BENCH_SECRET: secret, REDIS_URL: redis!.url }, nodeFlags });
  children.push(child);
  const { result, error } = await child.wait<{ result?: unknown; error?: string }>((m) => m.type === "result");
  await child.stop();
  if (error) throw new Error(`${script}: ${error}`);
  return result;
}

function version(pkg: string): string {
  try {
    return JSON.parse(readFileSync(`${ROOT_DIR}node_modules/${pkg}/package.json`, "utf8")).version;
  } catch {
    return "?";
  }
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main() {
  const started = Date.now();
  redis = await startRedis();
  const admin = new Redis(redis.url);
  const redisVersion = /redis_version:(\S+)/.exec(await admin.info("server"))?.[1] ?? "?";

  console.log(
    `bench: ${config.rounds} rounds × ${config.duration}s per variant, ${config.connections} connections${pin ? ", servers pinned to CPU 0, load generator and Redis to CPU 1" : ""}${config.quick ? " (quick mode)" : ""}`,
  );
  const loader = new Child("load.ts", { cpu: 1 });
  children.push(loader);
  await loader.wait((m) => m.type === "ready");
  const servers: Server[] = [];
  for (const variant of VARIANTS) servers.push(await startServer(variant, redis.url));

  if (config.warmup > 0) {
    console.log(`warm-up: ${config.warmup}s per variant`);
    for (const server of servers) await load(loader, server, config.warmup);
  }

  const rounds: Array<Record<Variant, LoadResult & { ratio: number; commands?: number; commandsByName?: Record<string, number> }>> = [];
  for (let r = 0; r < config.rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]);
    const round = {} as (typeof rounds)[number];
    for (const server of order) {
      const before = USES_REDIS.includes(server.variant) ? await commandStats(admin) : undefined;
      const result = await load(loader, server, config.duration);
      // Let answers still in flight at the end of the run (and their writes) settle.
      await sleep(300);
      const entry: (typeof round)[Variant] = { ...result, ratio: NaN };
      if (before) {
        const delta = commandDelta(before, await commandStats(admin));
        entry.commands = delta.total / result.requests;
        entry.commandsByName = delta.byName;
      }
      round[server.variant] = entry;
    }
    for (const v of VARIANTS) round[v].ratio = round[v].rps / round.bare.rps;
    rounds.push(round);
    console.log(
      `round ${r + 1}/${config.rounds}: ` +
        VARIANTS.map((v) => `${v} ${fmt(round[v].rps)} req/s (${round[v].ratio.toFixed(2)}×)`).join(", "),
    );
  }
  for (const server of servers) await server.child.stop();

  const summary = VARIANTS.map((v) => ({
    variant: v,
    label: LABEL[v],
    rps: median(rounds.map((r) => r[v].rps)),
    p50: median(rounds.map((r) => r[v].p50)),
    p99: median(rounds.map((r) => r[v].p99)),
    ratio: median(rounds.map((r) => r[v].ratio)),
    ratioMin: Math.min(...rounds.map((r) => r[v].ratio)),
    ratioMax: Math.max(...rounds.map((r) => r[v].ratio)),
    commands: USES_REDIS.includes(v) ? median(rounds.map((r) => r[v].commands!)) : undefined,
  }));
  const sgVsSession = median(rounds.map((r) => r["sg-redis"].rps / r["express-session"].rps));
  const perRoundRatio = (v: Variant, of: Variant) => {
    const ratios = rounds.map((r) => r[v].rps / r[of].rps);
    return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
  };
  const plainVsTuned = perRoundRatio("sg-redis-plain", "sg-redis");
  const cacheVsExpressJwt = perRoundRatio("sg-redis-cache", "express-jwt");
  const storeVsIoredisBatching = perRoundRatio("sg-redis", "sg-redis-ioredis-pipelining");
  const cacheCommands = summary.find((s) => s.variant === "sg-redis-cache")!.commands!;
  // Per request, by command (median over rounds). commandstats also counts the
  // commands a Lua script runs, so EVALSHA is the round trip and the rest run inside it.
  const commandsByName = Object.fromEntries(
    USES_REDIS.map((v) => {
      const names = new Set(rounds.flatMap((r) => Object.keys(r[v].commandsByName ?? {})));
      return [
        v,
        Object.fromEntries(
          [...names].map((n) => [n, Number(median(rounds.map((r) => (r[v].commandsByName?.[n] ?? 0) / r[v].requests)).toFixed(3))]),
        ),
      ];
    }),
  );
  const commandRows = [
    "| variant | Redis commands per request, by name (median over rounds) |",
    "|---|---|",
    ...USES_REDIS.map(
      (v) =>
        `| ${LABEL[v]} | ${Object.entries(commandsByName[v])
          .sort((a, b) => b[1] - a[1])
          .map(([n, c]) => `${n.toUpperCase()} ${c}`)
          .join(", ")} |`,
    ),
  ].join("\n");

  console.log("in-process measurements (Redis memory, login, refresh, revokeAll)…");
  const micro = await runChild("micro.ts");
  console.log("heap per MemoryStore session…");
  const heap = await runChild("heap.ts", ["--expose-gc"]);
  console.log("the middleware alone…");
  const middleware = await runChild("middleware.ts");
  console.log(`revocation propagation between two processes (${config.revocations} revocations)…`);
  const propagation = await measurePropagation({ BENCH_SECRET: secret, REDIS_URL: redis.url }, config.revocations);
  admin.disconnect();
  await redis.stop();

  let commit = "?";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT_DIR }).toString().trim();
  } catch {
    /* not a checkout */
  }
  const machine = {
    cpu: os.cpus()[0]?.model ?? "?",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
  };
  const packages = Object.fromEntries(
    ["session-guard", "express", "ioredis", "jsonwebtoken", "express-jwt", "express-session", "connect-redis", "redis", "autocannon"].map(
      (p) => [p, p === "session-guard" ? `${JSON.parse(readFileSync(`${ROOT_DIR}package.json`, "utf8")).version} (${commit})` : version(p)],
    ),
  );

  const table = [
    "| variant | req/s (median) | p50 ms | p99 ms | × bare (median, min–max) | Redis cmds / req |",
    "|---|---:|---:|---:|---:|---:|",
    ...summary.map(
      (s) =>
        `| ${s.label} | ${fmt(s.rps)} | ${s.p50} | ${s.p99} | ${s.ratio.toFixed(2)} (${s.ratioMin.toFixed(2)}–${s.ratioMax.toFixed(2)}) | ${s.commands === undefined ? "–" : s.commands.toFixed(2)} |`,
    ),
  ].join("\n");
  const revokeRows = new Map<number, number[]>();
  const loginMs = new Map<number, number[]>();
  for (const r of micro.revokeAll as Array<{ sessions: number; revoked: number; ms: number; loginMs?: number }>) {
    if (r.revoked !== r.sessions) throw new Error(`revokeAll revoked ${r.revoked} of ${r.sessions}`);
    revokeRows.set(r.sessions, [...(revokeRows.get(r.sessions) ?? []), r.ms]);
    if (r.loginMs !== undefined) loginMs.set(r.sessions - 1, [...(loginMs.get(r.sessions - 1) ?? []), r.loginMs]);
  }
  const loginRows = [...loginMs].map(
    ([n, ms]) =>
      `| one login (\`create\`) of a user who has ${fmt(n)} sessions (\`maxSessionsPerUser: null\`)${ms.length > 1 ? ` (median of ${ms.length})` : ""} | ${fmt(median(ms), 1)} ms |`,
  );
  const ratioText = (r: { median: number; min: number; max: number }) =>
    `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
  const extra = [
    "| measurement | value |",
    "|---|---:|",
    `| session-guard RedisStore ÷ express-session + connect-redis (req/s, median of rounds) | ${sgVsSession.toFixed(2)}× |`,
    `| session-guard RedisStore, plain \`new Redis(url)\` ÷ the tuned client (req/s, median of per-round ratios, min–max) | ${ratioText(plainVsTuned)} |`,
    `| the store's own batching ÷ ioredis' \`enableAutoPipelining\` on the same client (req/s, median of per-round ratios, min–max) | ${ratioText(storeVsIoredisBatching)} |`,
    `| session-guard with the local session cache ÷ express-jwt (req/s, median of per-round ratios, min–max) | ${ratioText(cacheVsExpressJwt)} |`,
    `| Redis commands per guarded request with the local session cache (ttl 5 s, default touchInterval 1 min; median of rounds) | ${cacheCommands.toFixed(4)} |`,
    `| revocation propagation: revoke in process A until process B refuses the session it held in its cache (${fmt(propagation.revocations)} revocations) | p50 ${propagation.p50.toFixed(2)} ms, p99 ${propagation.p99.toFixed(2)} ms (max ${propagation.max.toFixed(1)} ms; IPC round trip ${propagation.ipcRoundTrip.toFixed(3)} ms) |`,
    `| Redis memory per session, minimal (${fmt(micro.memoryMinimal.sessions)} sessions of distinct users; session record + user index) | ${fmt(micro.memoryMinimal.bytesPerSession)} B (record alone ${fmt(micro.memoryMinimal.sessionHashBytes)} B, ${micro.memoryMinimal.encoding} encoding) |`,
    `| Redis memory per session, typical (role claim, IPv4, browser user agent) | ${fmt(micro.memoryTypical.bytesPerSession)} B (record alone ${fmt(micro.memoryTypical.sessionHashBytes)} B, ${micro.memoryTypical.encoding} encoding) |`,
    `| login, \`guard.sessions.create\` (RedisStore, ${config.opsConcurrency} in flight) | ${fmt(micro.login.opsPerSec)} ops/s |`,
    `| refresh, \`guard.sessions.refresh\` (RedisStore, ${config.opsConcurrency} in flight) | ${fmt(micro.refresh.opsPerSec)} ops/s |`,
    ...[...revokeRows].map(
      ([n, ms]) =>
        `| \`revokeAll\` of one user's ${fmt(n)} sessions${ms.length > 1 ? ` (median of ${ms.length})` : ""} | ${fmt(median(ms), 1)} ms |`,
    ),
    ...loginRows,
    `| heap per MemoryStore session (${fmt(heap.sessions)} typical sessions, after GC) | ${fmt(heap.bytesPerSession)} B |`,
    `| the middleware alone, in process, µs per call (session-guard with MemoryStore / express-jwt, same HS256 token) | ${middleware.guardUs.toFixed(1)} / ${middleware.expressJwtUs.toFixed(1)} µs |`,
    `| the guard alone with a tracing subscriber on \`session-guard:check\` (µs per call, against ${middleware.guardUs.toFixed(1)} µs without) | ${middleware.guardTracedUs.toFixed(1)} µs |`,
    `| a refused request (no token) through the guard alone, without / with a subscriber on \`session-guard:rejected\` | ${middleware.refusedUs.toFixed(2)} / ${middleware.refusedListenedUs.toFixed(2)} µs |`,
  ].join("\n");
  const perRound = [
    "| round | " + VARIANTS.join(" | ") + " |",
    "|---|" + VARIANTS.map(() => "---:").join("|") + "|",
    ...rounds.map((r, i) => `| ${i + 1} | ` + VARIANTS.map((v) => `${fmt(r[v].rps)} (${r[v].ratio.toFixed(2)}×)`).join(" | ") + " |"),
  ].join("\n");

  console.log("\n" + table + "\n\n" + extra + "\n\nper round (req/s, × bare):\n\n" + perRound + "\n");
  console.log(commandRows + "\n");

  const stamp = new Date().toISOString();
  mkdirSync(`${BENCH_DIR}.results`, { recursive: true });
  writeFileSync(
    `${BENCH_DIR}.results/${stamp.replace(/[:.]/g, "-")}.json`,
    JSON.stringify(
      {
        stamp,
        config,
        machine,
        packages,
        summary,
        sgVsSession,
        plainVsTuned,
        storeVsIoredisBatching,
        cacheVsExpressJwt,
        cacheCommands,
        propagation,
        rounds,
        commandsByName,
        micro,
        heap,
        middleware,
      },
      null,
      2,
    ),
  );

  if (!config.quick) {
    const md = `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts) on ${stamp.slice(0, 10)}; the run took ${Math.round((Date.now() - started) / 1000)} s.
Numbers from one machine: compare the ratios, not the absolute req/s.

## Machine

- CPU: ${machine.cpu}, ${machine.cores} cores; memory: ${machine.memoryGiB} GiB; ${machine.os}
- Node ${machine.node}, Redis ${machine.redis}
- Packages: ${Object.entries(packages)
      .map(([p, v]) => `${p} ${v}`)
      .join(", ")}

## Method

- Every variant is an Express app in its own child process on a free loopback port; the load generator
  (autocannon's programmatic API) runs in another child; the bench starts its own \`redis-server\`
  (\`--save '' --appendonly no\`) on a free loopback port. Server, load generator and Redis share the
  ${machine.cores} cores, so absolute numbers are low; what matters is the ratio within a round.${
    pin
      ? `
  With \`taskset\`, every server runs on CPU 0 and the load generator and Redis on CPU 1 (the
  in-process measurements are not pinned).`
      : ""
  }
- Each variant logs in once and then \`GET /hello\` (a small JSON body) is loaded with ${config.connections}
  connections for ${config.duration} s, after a ${config.warmup} s warm-up per variant. ${config.rounds} rounds; within each round
  all variants run one after the other, the order rotating every round, so drift of the host cancels
  out. Reported: the median over rounds of req/s (2xx answers ÷ seconds), of the p50 and p99 latency, and
  of the per-round ratio to bare Express. Any non-2xx answer, error or timeout aborts the run.
- Variants: **bare Express**, no auth (the upper bound); **express-jwt**, stateless HS256 over the same
  JWT session-guard issues, once with the secret as a \`KeyObject\` (its best case) and once as the plain
  string most apps pass (jsonwebtoken 9 then tries to parse it as a public key, and throws, on every
  verification); **express-session + connect-redis** (\`resave: false, saveUninitialized: false\`,
  rolling off, a logged-in session cookie; connect-redis ${packages["connect-redis"]} requires node-redis,
  its peer dependency, so it runs on \`redis\` ${packages.redis}: it cannot take an ioredis client any more);
  **session-guard with RedisStore** (defaults, an ioredis client made as the README recommends:
  \`enableOfflineQueue: false, commandTimeout: 1000\`; the store batches the script calls of one event-loop
  turn into one pipeline itself), the same with **a plain client** (\`new RedisStore({ client: new Redis(url) })\`,
  no options), the tuned client **with ioredis' \`enableAutoPipelining: true\`** (ioredis batches instead of
  the store), the tuned client with **the local session cache**
  (\`cache: { ttl: "5s", max: 10000 }\`, default \`touchInterval\` of 1 min: the one session of the load is
  answered from memory, asking Redis again 5 s after it last confirmed it), the same **with every
  request a token never seen** (the load generator signs a fresh access token of the same session for
  every request before the run starts, so the guard's verified-token cache never hits: the cost of a
  client's first request with a token), and **with MemoryStore**.
- Redis commands per request: \`INFO commandstats\` before and after each load run (its own INFO calls
  left out; 300 ms after the run, so writes of answers still in flight are counted) ÷ 2xx answers.
- Redis memory per session: ${fmt(config.sessions)} sessions created through \`guard.sessions.create\` for
  ${fmt(config.sessions)} users (\`user-0\` … \`user-${config.sessions - 1}\`), with the store's defaults (prefix \`sg:\`), each
  measurement in a logical database of its own; \`MEMORY USAGE key SAMPLES 0\` summed over every key of the
  prefix (session records and per-user indexes) ÷ ${fmt(config.sessions)}. Redis allocates in steps (8 bytes
  for small sizes, then 16 and 32), so a longer prefix or user id can cost a step more per key.
- Login and refresh throughput: \`guard.sessions.create\` / \`guard.sessions.refresh\` in one process
  against the same Redis, ${config.opsConcurrency} operations in flight, ${config.opsSeconds} s each; every refresh uses the
  token the previous one returned.
- \`revokeAll\`: one user with N sessions (\`maxSessionsPerUser: null\`), time of one call, with a client and
  \`storeTimeout\` generous enough to measure past the 1 s defaults. Every login reads all of the user's
  sessions to prune dead ones, so creating 10,000 sessions of one user through \`create\` is O(N²) work
  in Redis (minutes); past 500 created ones, the rest are copies of a real one (\`DUMP\`/\`RESTORE\` under
  new ids, added to the user's index). One more login is then timed before the \`revokeAll\`.
- Revocation propagation: two app processes (children of the harness, each a guard with the local
  session cache on the tuned client, over the bench's Redis), driven over IPC. For each of
  ${fmt(config.revocations)} revocations, A logs a new user in; B runs its guard in process on that session until a
  check is answered from its cache, then keeps checking it once per event-loop turn; the harness reads
  its own clock (\`performance.now()\`), tells A to revoke the session (\`guard.sessions.revoke\`), and reads
  its clock again when B reports that its guard refused the session (401 \`session_inactive\`: B's cache
  dropped it on the revocation's pub/sub message, and its next check asked Redis). Only the harness's
  clock is read, so no two processes' clocks are compared; each figure includes the IPC hops harness → A
  and B → harness, whose round trip is given beside it. Not pinned to CPUs.
- Heap per MemoryStore session: a child with \`--expose-gc\`, \`heapUsed\` after full GCs before and after
  creating ${fmt(config.sessions)} typical sessions, ÷ ${fmt(config.sessions)}.

## Results

${table}

${commandRows}

\`INFO commandstats\` also counts the commands a Lua script runs: for session-guard the one round trip
is the \`EVALSHA\`, and the commands beside it run inside that script.

${extra}

Per round (req/s, × bare in the same round):

${perRound}
`;
    writeFileSync(`${BENCH_DIR}RESULTS.md`, md);
    console.log("wrote bench/RESULTS.md");
  }
  await cleanup();
}

main().catch(async (error) => {
  console.error(error);
  await cleanup();
  process.exit(1);
});
