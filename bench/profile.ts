/**
 * CPU profile of one server variant under load (`tsx bench/profile.ts`;
 * BENCH_PROFILE_VARIANT, default sg-redis; BENCH_PROFILE_SECONDS, default 10).
 * The server child runs with `node --cpu-prof`; its .cpuprofile goes to
 * bench/.results/profile/ and is summarised here by self time.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { BENCH_DIR, Child, ROOT_DIR, config, startRedis } from "./common.js";

const variant = process.env.BENCH_PROFILE_VARIANT ?? "sg-redis";
const seconds = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
const top = Number(process.env.BENCH_PROFILE_TOP ?? 15);
const dir = `${BENCH_DIR}.results/profile-${variant}`;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function (name + file + line), in ms, from a .cpuprofile. */
export function selfTimes(profile: Profile): Array<{ name: string; where: string; ms: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const totals = new Map<string, { name: string; where: string; ms: number }>();
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || "(anonymous)";
    const file = url.replace(/^file:\/\//, "").replace(ROOT_DIR, "");
    const where = file ? `${file}:${lineNumber + 1}` : "";
    const key = `${name} ${where}`;
    const entry = totals.get(key) ?? { name, where, ms: 0 };
    entry.ms += ms;
    totals.set(key, entry);
  }
  return [...totals.values()].sort((a, b) => b.ms - a.ms);
}

/** Self time per file group (package, lib file, node internals). */
function byGroup(rows: Array<{ name: string; where: string; ms: number }>): Array<[string, number]> {
  const groups = new Map<string, number>();
  for (const r of rows) {
    let g = r.where.replace(/:\d+$/, "");
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(g);
    if (pkg) g = `node_modules/${pkg[1]}`;
    else if (g.startsWith("node:")) g = "node internals";
    else if (!g) g = r.name;
    groups.set(g, (groups.get(g) ?? 0) + r.ms);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

async function main() {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const redis = await startRedis();
  const secret = randomBytes(48).toString("base64");
  const server = new Child("server.ts", {
    env: { BENCH_VARIANT: variant, BENCH_SECRET: secret, REDIS_URL: redis.url },
    nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    cpu: 0,
  });
  const loader = new Child("load.ts", { cpu: 1 });
  const loaderReady = loader.wait((m) => m.type === "ready");
  try {
    const { port } = await server.wait<{ port: number }>((m) => m.type === "ready");
    await loaderReady;
    const url = `http://127.0.0.1:${port}`;
    const loginPath = variant.startsWith("sg-") ? "/auth/login" : "/login";
    const res = await fetch(`${url}${loginPath}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const headers: Record<string, string> = {};
    if (variant === "express-session")
      headers.cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
    else if (variant !== "bare") headers.authorization = `Bearer ${((await res.json()) as { access_token: string }).access_token}`;
    for (const [i, duration] of [
      [1, 2],
      [2, seconds],
    ] as const) {
      loader.send({ type: "run", id: i, url: `${url}/hello`, headers, connections: config.connections, duration });
      const { result, error } = await loader.wait((m) => m.type === "result" && m.id === i);
      if (!result) throw new Error(error);
      if (i === 2)
        console.log(`${variant} under profile: ${Math.round(result.rps)} req/s, ${result.non2xx} non-2xx (the profiler slows it)`);
    }
  } finally {
    await server.stop();
    await loader.stop();
    await redis.stop();
  }
  // One .cpuprofile per thread (tsx's module-loader thread writes one too):
  // the server's main thread is the busiest.
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => {
      const rows = selfTimes(JSON.parse(readFileSync(`${dir}/${f}`, "utf8")) as Profile);
      return { rows, busy: rows.filter((r) => r.name !== "(idle)").reduce((s, r) => s + r.ms, 0) };
    });
  if (profiles.length === 0) throw new Error("the server wrote no .cpuprofile");
  const { rows, busy } = profiles.sort((a, b) => b.busy - a.busy)[0];
  const total = rows.reduce((s, r) => s + r.ms, 0);
  console.log(
    `\nprofile: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s not idle (whole process life, start-up included)\n`,
  );
  console.log("| # | self ms | % of busy | function | where |\n|---:|---:|---:|---|---|");
  rows
    .filter((r) => r.name !== "(idle)")
    .slice(0, top)
    .forEach((r, i) => console.log(`| ${i + 1} | ${r.ms.toFixed(0)} | ${((100 * r.ms) / busy).toFixed(1)} | ${r.name} | ${r.where} |`));
  console.log("\nby package / file:\n\n| self ms | % of busy | group |\n|---:|---:|---|");
  for (const [g, ms] of byGroup(rows.filter((r) => r.name !== "(idle)")).slice(0, top))
    console.log(`| ${ms.toFixed(0)} | ${((100 * ms) / busy).toFixed(1)} | ${g} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
