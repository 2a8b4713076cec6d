import { expect } from "chai";
import { Redis } from "ioredis";
import { RedisStore, type ReplicaShortfall } from "../../lib/index.js";
import { buildApp, login, me, ready } from "../http/app.js";
import { fakeClock } from "../support/clock.js";
import { startSentinels } from "../support/redis-sentinel.js";

describe("scratch manual failover", function () {
  this.timeout(60000);
  for (const detector of [false, true]) it(`probes, failoverDetector ${detector}`, async () => {
    const setup = await startSentinels();
    const client = new Redis({ sentinels: setup.sentinelAddresses, name: setup.name, enableOfflineQueue: false, commandTimeout: 1000, maxRetriesPerRequest: 1, retryStrategy: (t) => Math.min(t * 50, 500), failoverDetector: detector });
    client.on("error", () => {});
    await ready(client);
    const shortfalls: ReplicaShortfall[] = [];
    const t = buildApp({ clock: fakeClock(), guard: { store: new RedisStore({ client, waitForReplicas: { replicas: 1, timeout: "500ms" }, onReplicaShortfall: (s) => shortfalls.push(s) }) } });
    const sent = new Redis({ host: "127.0.0.1", port: setup.sentinels[0].port });
    const start = Date.now();
    await sent.call("SENTINEL", "FAILOVER", setup.name);
    const promoted = setup.waitForMaster(setup.replica.port).then(() => console.log("promoted at", Date.now() - start));
    let done = false; promoted.then(() => (done = true));
    const revoked: Array<{ token: string; sid: string; shortfall: boolean; at: number }> = [];
    const outcomes: Record<string, number> = {};
    while (!done || Date.now() - start < 5000) {
      try {
        const tokens = await t.guard.sessions.create("u");
        const before = shortfalls.length;
        const ok = await t.guard.sessions.revoke(tokens.session.id, "u");
        revoked.push({ token: tokens.access_token, sid: tokens.session.id, shortfall: shortfalls.length > before, at: Date.now() - start });
        outcomes[`revoke ${ok}`] = (outcomes[`revoke ${ok}`] ?? 0) + 1;
      } catch (err) { const k = (err as any).code + " " + String((err as any).cause?.message).slice(0, 40); outcomes[k] = (outcomes[k] ?? 0) + 1; }
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(outcomes, "shortfalls", shortfalls.length);
    const back = [];
    for (const r of revoked) { const res = await me(t, r.token); if (res.status !== 401) back.push({ ...r, status: res.status }); }
    console.log("revoked sessions that answer other than 401:", back.length, back.slice(0, 5), "of", revoked.length);
    console.log(t.eventsOf("store_error").map((e) => String((e.error as Error).message).slice(0, 60)).filter((v, i, a) => a.indexOf(v) === i));
    sent.disconnect(); await t.guard.close(); client.disconnect(); await setup.stop();
  });
});
