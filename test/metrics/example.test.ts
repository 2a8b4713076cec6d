// The example app as a child process with METRICS=true, on its own
// redis-server: after a login and a refused request, GET /metrics answers
// Prometheus text with those numbers; without METRICS there is no /metrics.
import { expect } from "chai";
import { startExample, type ExampleApp } from "../support/example.js";
import { startRedis, type RedisNode } from "../support/redis-server.js";
import { parseExposition } from "./scrape.js";

const SECRET = "example-metrics-secret-0123456789-abcdefghijklmnop";
const CSRF = { "x-requested-with": "test" };

describe("the example app's /metrics", function () {
  this.timeout(40_000);
  let redis: RedisNode;
  let example: ExampleApp | undefined;
  before(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await example?.stop();
    example = undefined;
  });
  after(async () => {
    await redis.stop();
  });

  it("with METRICS=true serves the guard's series after a login and a refused request", async () => {
    example = await startExample({ METRICS: "true", REDIS_URL: redis.url, SESSION_SECRET: SECRET });
    const login = await fetch(`${example.url}/auth/login`, {
      method: "POST",
      headers: { ...CSRF, "content-type": "application/json" },
      body: JSON.stringify({ email: "ada@example.com", password: "correct horse" }),
    });
    expect(login.status, example.output()).to.equal(200);
    const cookies = login.headers.getSetCookie().map((line) => line.split(";")[0]!);
    const me = await fetch(`${example.url}/api/me`, { headers: { cookie: cookies.join("; ") } });
    expect(me.status).to.equal(200);
    expect((await fetch(`${example.url}/api/me`)).status).to.equal(401);

    const res = await fetch(`${example.url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain;.*\bversion=0\.0\.4\b/);
    const text = await res.text();
    expect(text).to.include("# TYPE session_guard_store_call_duration_seconds histogram");
    const samples = parseExposition(text);
    expect(samples.get('session_guard_logins_total{remember_me="false"}')).to.equal(1);
    expect(samples.get('session_guard_rejected_requests_total{code="token_missing",source="guard"}')).to.equal(1);
    expect(samples.get('session_guard_store_call_duration_seconds_count{operation="create",outcome="ok"}')).to.equal(1);
    expect(samples.get('session_guard_store_call_duration_seconds_count{operation="check",outcome="ok"}')).to.equal(1);
    expect(samples.get('session_guard_store_errors_total{operation="check"}')).to.equal(0);
  });

  it("without METRICS has no /metrics", async () => {
    example = await startExample({ SESSION_SECRET: SECRET });
    const res = await fetch(`${example.url}/metrics`);
    expect(res.status).to.equal(404);
  });
});
