/**
 * The load generator, in its own process: runs autocannon (programmatic API)
 * for each `run` message from the parent and answers with a summary.
 */
import autocannon from "autocannon";
import type { LoadResult } from "./common.js";

interface RunMessage {
  type: "run";
  id: number;
  url: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}

process.on("message", async (message: RunMessage | { type: "stop" }) => {
  if (message.type === "stop") process.exit(0);
  if (message.type !== "run") return;
  try {
    const result = await autocannon({
      url: message.url,
      headers: message.headers,
      connections: message.connections,
      duration: message.duration,
      pipelining: 1,
    });
    const seconds = result.duration > 0 ? result.duration : message.duration;
    const ok = result["2xx"];
    const summary: LoadResult = {
      requests: ok,
      seconds,
      rps: ok / seconds,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    };
    process.send!({ type: "result", id: message.id, result: summary });
  } catch (error) {
    process.send!({ type: "result", id: message.id, error: String(error) });
  }
});

process.send!({ type: "ready" });
