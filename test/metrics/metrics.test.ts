// session-guard/metrics against a real redis-server: traffic through an
// app (logins, refreshes, a reuse, logouts, refused requests, a store call
// that outlives storeTimeout while Redis is paused), then a scrape of its
// /metrics, checked number by number. Time is the fake clock; only the
// store latency is real time, so only its counts are asserted.
import { channel, tracingChannel } from "node:diagnostics_channel";
import { expect } from "chai";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import request from "supertest";
import { REJECTED_CHANNEL, RedisStore, TRACED_OPERATIONS, type Guard } from "../../lib/index.js";
import { sessionGuardMetrics, type SessionGuardMetrics } from "../../lib/metrics/index.js";
import { buildApp, expectError, login, me, MOUNT, ready, refresh, SAFE_CLIENT, type TestApp } from "../http/app.js";
import { SECOND } from "../support/clock.js";
import { sharedRedis, startRedis, type RedisNode } from "../support/redis-server.js";
import { parseExposition, samplesOf } from "./scrape.js";

const STORE_TIMEOUT = 300;
const P = "session_guard_";
const bearer = (token: string) => `Bearer ${token}`;

/** An app of `buildApp` with its guard's metrics at `GET /metrics`. */
function appWithMetrics(options: Parameters<typeof buildApp>[0] = {}): { t: TestApp; metrics: SessionGuardMetrics } {
  let metrics: SessionGuardMetrics | undefined;
  const t = buildApp({
    ...options,
    routes: (app, guard) => {
      metrics = sessionGuardMetrics(guard);
      const { registry } = metrics;
      app.get("/metrics", (_req, res, next) => {
        registry.metrics().then((text) => res.type(registry.contentType).send(text), next);
      });
    },
  });
  return { t, metrics: metrics! };
}

async function scrape(t: TestApp): Promise<Map<string, number>> {
  const res = await request(t.app).get("/metrics");
  expect(res.status).to.equal(200);
  // Express 4 orders the parameters (charset first); Prometheus reads either.
  expect(res.headers["content-type"]).to.match(/^text\/plain;.*\bversion=0\.0\.4\b/);
  return parseExposition(res.text);
}

/** The `_count` of every store-latency series that has one. */
function latencyCounts(samples: Map<string, number>): Record<string, number> {
  const counts = samplesOf(samples, `${P}store_call_duration_seconds_count`);
  return Object.fromEntries(Object.entries(counts).map(([key, value]) => [key.slice(key.indexOf("{")), value]));
}

describe("session-guard/metrics", function () {
  describe("an app's traffic, scraped", function () {
    let node: RedisNode;
    let client: Redis;
    let t: TestApp;
    let metrics: SessionGuardMetrics;

    beforeEach(async () => {
      node = await startRedis();
      client = new Redis(node.url, SAFE_CLIENT);
      await ready(client);
      ({ t, metrics } = appWithMetrics({ guard: { store: new RedisStore({ client, prefix: "m:" }), storeTimeout: STORE_TIMEOUT } }));
    });
    afterEach(async () => {
      metrics.close();
      await t.guard.close();
      client.disconnect();
      await node.stop();
    });

    it("counts logins, refreshes, a reuse, logouts, revocations, every refusal and a store error exactly", async () => {
      const a1 = await login(t, "alice");
      const a2 = await login(t, "alice");
      const b = await login(t, "bob", { rememberMe: true });
      expectError(await request(t.app).post(`${MOUNT}/login`).send({ user: "alice", password: "wrong" }), 401, "invalid_credentials");
      const rotated = await refresh(t, a1.refresh_token);
      expect(rotated.status).to.equal(200);
      t.clock.advance(11 * SECOND); // past the reuse window
      expectError(await refresh(t, a1.refresh_token), 401, "refresh_token_reused");
      expectError(await me(t, rotated.body.access_token), 401, "session_inactive", { tokenPresented: true });
      expectError(await request(t.app).get("/me"), 401, "token_missing");
      expectError(await request(t.app).get("/me").set("Authorization", "Bearer x.y.z"), 401, "token_invalid", { tokenPresented: true });
      expectError(await request(t.app).get("/maybe").set("Authorization", "Bearer x.y.z"), 401, "token_invalid", { tokenPresented: true });
      expect((await request(t.app).get("/maybe")).status).to.equal(200); // no token: passes, no refusal
      expectError(await request(t.app).delete(`${MOUNT}/sessions/%`).set("Authorization", bearer(a2.access_token)), 400, "invalid_request");
      expect((await me(t, a2.access_token)).status).to.equal(200);
      expect((await request(t.app).post(`${MOUNT}/logout`).set("Authorization", bearer(b.access_token))).status).to.equal(204);
      const a3 = await login(t, "alice");
      const all = await request(t.app).post(`${MOUNT}/logout-all`).set("Authorization", bearer(a3.access_token));
      expect(all.body).to.deep.equal({ revoked: 2 });

      // A check that outlives storeTimeout: Redis paused.
      const carol = await login(t, "carol");
      const admin = new Redis(node.url);
      try {
        await admin.call("CLIENT", "PAUSE", "1500", "ALL");
        expectError(await me(t, carol.access_token), 503, "store_unavailable");
        await admin.call("CLIENT", "UNPAUSE");
      } finally {
        admin.disconnect();
      }

      const samples = await scrape(t);
      expect(samplesOf(samples, `${P}logins_total`)).to.deep.equal({
        [`${P}logins_total{remember_me="false"}`]: 4,
        [`${P}logins_total{remember_me="true"}`]: 1,
      });
      expect(samples.get(`${P}refreshes_total`)).to.equal(1);
      expect(samples.get(`${P}logouts_total`)).to.equal(1);
      expect(samples.get(`${P}reuse_detections_total`)).to.equal(1);
      expect(samplesOf(samples, `${P}revocations_total`)).to.deep.equal({
        [`${P}revocations_total{reason="evicted"}`]: 0,
        [`${P}revocations_total{reason="logout-all"}`]: 2,
        [`${P}revocations_total{reason="logout-others"}`]: 0,
        [`${P}revocations_total{reason="revoked"}`]: 0,
      });
      const rejected = (code: string, source: string) => `${P}rejected_requests_total{code="${code}",source="${source}"}`;
      expect(samplesOf(samples, `${P}rejected_requests_total`)).to.deep.equal({
        [rejected("invalid_credentials", "login")]: 1,
        [rejected("invalid_request", "router")]: 1,
        [rejected("refresh_token_reused", "refresh")]: 1,
        [rejected("session_inactive", "guard")]: 1,
        [rejected("store_unavailable", "guard")]: 1,
        [rejected("token_invalid", "guard")]: 1,
        [rejected("token_invalid", "guard.optional")]: 1,
        [rejected("token_missing", "guard")]: 1,
      });
      expect(samplesOf(samples, `${P}store_errors_total`)).to.deep.equal(
        Object.fromEntries(
          [...TRACED_OPERATIONS]
            .sort()
            .map((operation) => [`${P}store_errors_total{operation="${operation}"}`, operation === "check" ? 1 : 0]),
        ),
      );
      // Every store call once: five logins, a refresh and the reuse, three checks that
      // answered and one that timed out, a logout, a global logout.
      expect(latencyCounts(samples)).to.deep.equal({
        '{operation="check",outcome="error"}': 1,
        '{operation="check",outcome="ok"}': 3,
        '{operation="create",outcome="ok"}': 5,
        '{operation="revoke",outcome="ok"}': 1,
        '{operation="revokeAll",outcome="ok"}': 1,
        '{operation="rotate",outcome="ok"}': 2,
      });
      const timedOut = samples.get(`${P}store_call_duration_seconds_sum{operation="check",outcome="error"}`)!;
      expect(timedOut).to.be.above(0);
      // Without the cache option there are no cache series.
      expect(samplesOf(samples, `${P}cache_`)).to.deep.equal({});
    });

    it("close() unsubscribes from the guard and the channels and empties the registry", async () => {
      await login(t, "alice");
      metrics.close();
      metrics.close();
      expect((await metrics.registry.metrics()).trim()).to.equal("");
      expect(channel(REJECTED_CHANNEL).hasSubscribers).to.equal(false);
      for (const operation of TRACED_OPERATIONS) {
        const traced = tracingChannel(`session-guard:${operation}`);
        expect([traced.start.hasSubscribers, traced.asyncEnd.hasSubscribers], operation).to.deep.equal([false, false]);
      }
      // The same registry takes a new set, which counts from zero.
      const again = sessionGuardMetrics(t.guard, { registry: metrics.registry });
      try {
        await login(t, "alice");
        expectError(await request(t.app).get("/me"), 401, "token_missing");
        const samples = parseExposition(await again.registry.metrics());
        expect(samples.get(`${P}logins_total{remember_me="false"}`)).to.equal(1);
        expect(samples.get(`${P}rejected_requests_total{code="token_missing",source="guard"}`)).to.equal(1);
      } finally {
        again.close();
      }
    });
  });

  describe("several guards in one process", function () {
    let first: TestApp;
    let second: TestApp;
    afterEach(async () => {
      await first.guard.close();
      await second.guard.close();
    });

    it("each counts only its own requests and store calls, under its own prefix on a shared registry", async () => {
      first = buildApp();
      second = buildApp();
      const registry = new Registry();
      const a = sessionGuardMetrics(first.guard, { registry, prefix: "first_" });
      const b = sessionGuardMetrics(second.guard, { registry, prefix: "second_" });
      try {
        await login(first, "alice");
        await login(first, "bob");
        const tokens = await login(second, "carol");
        expect((await me(second, tokens.access_token)).status).to.equal(200);
        expectError(await request(second.app).get("/me"), 401, "token_missing");
        const samples = parseExposition(await registry.metrics());
        expect(samples.get('first_logins_total{remember_me="false"}')).to.equal(2);
        expect(samples.get('second_logins_total{remember_me="false"}')).to.equal(1);
        expect(samplesOf(samples, "first_rejected_requests_total")).to.deep.equal({});
        expect(samplesOf(samples, "second_rejected_requests_total")).to.deep.equal({
          'second_rejected_requests_total{code="token_missing",source="guard"}': 1,
        });
        expect(latencyCounts(new Map([...samples].map(([k, v]) => [k.replace(/^first_/, P), v])))).to.deep.equal({
          '{operation="create",outcome="ok"}': 2,
        });
        expect(samples.get('second_store_call_duration_seconds_count{operation="check",outcome="ok"}')).to.equal(1);
        expect(samples.get('second_store_call_duration_seconds_count{operation="create",outcome="ok"}')).to.equal(1);
      } finally {
        a.close();
        b.close();
      }
    });

    it("refuses a second set under the same names, naming `prefix`, and registers nothing of it", async () => {
      first = buildApp();
      second = buildApp();
      const registry = new Registry();
      const a = sessionGuardMetrics(first.guard, { registry });
      try {
        const before = await registry.metrics();
        expect(() => sessionGuardMetrics(second.guard, { registry })).to.throw(
          TypeError,
          "the registry already has a series `session_guard_logins_total`: give each guard its own `prefix` or `registry`",
        );
        expect(await registry.metrics()).to.equal(before);
      } finally {
        a.close();
      }
    });
  });

  describe("with the local session cache", function () {
    let client: Redis;
    let t: TestApp;
    let metrics: SessionGuardMetrics;
    afterEach(async () => {
      metrics.close();
      await t.guard.close();
      client.disconnect();
    });

    it("reads the cache's size, bound, hits, misses, hit ratio and subscription on every scrape", async () => {
      client = new Redis((await sharedRedis()).url, SAFE_CLIENT);
      await ready(client);
      ({ t, metrics } = appWithMetrics({
        guard: { store: new RedisStore({ client, prefix: `mcache${process.pid}:` }), cache: { ttl: "5s", max: 500 } },
      }));
      const deadline = Date.now() + 3000;
      while (!t.guard.cache!.subscribed) {
        if (Date.now() > deadline) throw new Error("the cache did not subscribe");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const cacheSeries = async () => {
        const series = Object.entries(samplesOf(await scrape(t), `${P}cache_`));
        return Object.fromEntries(series.map(([name, value]) => [name.slice(`${P}cache_`.length), value]));
      };
      expect(await cacheSeries()).to.deep.equal({
        hit_ratio: 0,
        hits_total: 0,
        max_sessions: 500,
        misses_total: 0,
        sessions: 0,
        subscribed: 1,
      });
      const tokens = await login(t, "alice");
      for (let i = 0; i < 4; i++) expect((await me(t, tokens.access_token)).status).to.equal(200);
      expect(await cacheSeries()).to.deep.equal({
        hit_ratio: 0.75,
        hits_total: 3,
        max_sessions: 500,
        misses_total: 1,
        sessions: 1,
        subscribed: 1,
      });
      // Only the one miss went to the store.
      expect((await scrape(t)).get(`${P}store_call_duration_seconds_count{operation="check",outcome="ok"}`)).to.equal(1);
    });
  });

  describe("options", function () {
    let t: TestApp;
    before(() => {
      t = buildApp();
    });
    after(async () => {
      await t.guard.close();
    });

    const refusals: Array<[string, unknown, RegExp]> = [
      ["not an object", "session_guard_", /`options` must be an object/],
      ["an unknown option", { prefixes: "x" }, /unknown option `prefixes`/],
      ["a prefix starting with a digit", { prefix: "1x_" }, /`prefix` must be a string/],
      ["a prefix with a dash", { prefix: "session-guard_" }, /`prefix` must be a string/],
      ["a registry that is not one", { registry: {} }, /`registry` must be a prom-client Registry/],
      ["empty buckets", { buckets: [] }, /`buckets` must be a non-empty array/],
      ["buckets out of order", { buckets: [0.1, 0.01] }, /`buckets` must be a non-empty array of increasing/],
      ["a negative bucket", { buckets: [-1, 1] }, /`buckets`/],
    ];
    for (const [what, options, message] of refusals) {
      it(`refuses ${what} with a TypeError naming the option`, () => {
        expect(() => sessionGuardMetrics(t.guard, options as never)).to.throw(TypeError, message);
      });
    }

    it("refuses anything but a guard made by sessionGuard()", () => {
      const fake = (() => {}) as unknown as Guard;
      expect(() => sessionGuardMetrics(fake)).to.throw(TypeError, /needs the guard returned by sessionGuard\(\)/);
    });

    it("takes an empty prefix and its own buckets", async () => {
      const metrics = sessionGuardMetrics(t.guard, { prefix: "", buckets: [0.01, 1] });
      try {
        await login(t, "alice");
        const samples = parseExposition(await metrics.registry.metrics());
        expect(samples.get('logins_total{remember_me="false"}')).to.equal(1);
        expect(
          Object.keys(samplesOf(samples, "store_call_duration_seconds_bucket")).map((key) => /le="([^"]+)"/.exec(key)![1]),
        ).to.deep.equal(["+Inf", "0.01", "1"]);
      } finally {
        metrics.close();
      }
    });
  });
});
