/**
 * Revocation propagation with the local session cache, across two app
 * processes over one Redis (both children of the harness, see
 * `propagation-app.ts`). For each revocation: A logs a user in, B checks
 * the session until it holds it in its cache (a check answered from memory),
 * then keeps checking it once per event-loop turn; the harness notes its
 * own clock, tells A to revoke, and notes its clock again when B reports
 * that the guard refused the session. One clock (the harness's
 * `performance.now()`), so no clocks of two processes are compared; the
 * figure includes the two IPC hops (harness → A, B → harness), whose round
 * trip is measured beside it.
 */
import { performance } from "node:perf_hooks";
import { Child } from "./common.js";

export interface PropagationResult {
  revocations: number;
  /** Milliseconds from the revoke sent to A until B's refusal arrived. */
  p50: number;
  p99: number;
  max: number;
  /** Median IPC round trip harness ↔ B, in ms (an upper bound of the two hops inside every figure). */
  ipcRoundTrip: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Waits for `child`'s next message of `type` with this `id`; a `failed` message rejects. */
function answer<T>(child: Child, type: string, id: number): Promise<T> {
  return child
    .wait<T & { type: string; error?: string }>((m) => m.type === "failed" || (m.type === type && m.id === id))
    .then((m) => {
      if (m.type === "failed") throw new Error(`propagation-app: ${m.error}`);
      return m;
    });
}

export async function measurePropagation(env: Record<string, string>, revocations: number): Promise<PropagationResult> {
  const a = new Child("propagation-app.ts", { env });
  const b = new Child("propagation-app.ts", { env });
  try {
    await Promise.all([a.wait((m) => m.type === "ready"), b.wait((m) => m.type === "ready")]);
    const rtt: number[] = [];
    for (let id = 0; id < 200; id++) {
      const start = performance.now();
      const pong = answer(b, "pong", id);
      b.send({ type: "ping", id });
      await pong;
      rtt.push(performance.now() - start);
    }
    const latencies: number[] = [];
    for (let id = 0; id < revocations; id++) {
      const userId = `propagation-${id}`;
      const sessionReply = answer<{ authorization: string; sessionId: string }>(a, "session", id);
      a.send({ type: "login", id, userId });
      const { authorization, sessionId } = await sessionReply;
      const watching = answer(b, "watching", id);
      b.send({ type: "watch", id, authorization });
      await watching;
      const refused = answer(b, "refused", id);
      const revoked = answer<{ revoked: boolean }>(a, "revoked", id);
      const start = performance.now();
      a.send({ type: "revoke", id, sessionId, userId });
      await refused;
      latencies.push(performance.now() - start);
      if (!(await revoked).revoked) throw new Error(`A's revoke of ${sessionId} found no session`);
    }
    latencies.sort((x, y) => x - y);
    rtt.sort((x, y) => x - y);
    return {
      revocations,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1],
      ipcRoundTrip: percentile(rtt, 50),
    };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
