/**
 * Heap per MemoryStore session (run with --expose-gc in its own process):
 * heapUsed after full GCs, before and after creating N sessions through
 * `guard.sessions.create`, divided by N.
 */
import { MemoryStore, sessionGuard } from "../lib/index.js";
import { config } from "./common.js";

const USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("run with --expose-gc");
  for (let i = 0; i < 4; i++) collect();
}

async function main() {
  const guard = sessionGuard({ store: new MemoryStore({ sweepInterval: 0 }), secret: process.env.BENCH_SECRET! });
  // Warm the code paths (and their allocations) before measuring.
  for (let i = 0; i < 200; i++) await guard.sessions.revoke((await guard.sessions.create(`warm-${i}`)).session.id, `warm-${i}`);
  gc();
  const before = process.memoryUsage().heapUsed;
  const n = config.sessions;
  for (let i = 0; i < n; i++) {
    // A distinct user agent string per session, as each request brings its own.
    await guard.sessions.create(`user-${i}`, {
      claims: { role: "user" },
      ip: `203.0.113.${i % 256}`,
      userAgent: `${USER_AGENT} `.slice(0, -1),
    });
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  const stillThere = await guard.sessions.list(`user-${n - 1}`);
  process.send!({
    type: "result",
    result: { sessions: n, heapBytes: after - before, bytesPerSession: (after - before) / n, check: stillThere.length },
  });
}

main().catch((error) => process.send!({ type: "result", error: String(error?.stack ?? error) }));
