// The `session-guard` command, run as a separate process against a real
// redis-server (and the test Cluster), on sessions made by the library:
// list shows them, revoke and revoke-all end them (the next guarded request
// is 401), stats counts them, and every exit code is produced. The command
// reads the real time, so the sessions are made on a clock that starts now.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { Redis } from "ioredis";
import { buildApp, login, me, ready, redisFixture, SAFE_CLIENT, type RedisFixture, type TestApp } from "../http/app.js";
import { RedisStore } from "../../lib/index.js";
import { fakeClock } from "../support/clock.js";
import { sessionRecord } from "../support/session-record.js";
import { connectCluster, sharedCluster } from "../support/redis-cluster.js";

const MAIN = fileURLToPath(new URL("../../lib/cli/main.ts", import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, REDIS_URL: "", ...env, NODE_NO_WARNINGS: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("the session-guard command", function () {
  this.timeout(60_000);
  let redis: RedisFixture;
  let t: TestApp;
  let base: string[];

  before(async () => {
    redis = await redisFixture();
    t = buildApp({ guard: { store: redis.store }, clock: fakeClock(Date.now()) });
    base = ["--redis-url", redis.url, "--prefix", redis.prefix];
  });
  after(async () => {
    await redis.close();
  });

  it("sessions list shows the user's live sessions, newest first, as JSON and as a table", async () => {
    const first = await login(t, "ada");
    t.clock.advance(1000);
    const second = await login(t, "ada", { rememberMe: true });
    const json = await cli(["sessions", "list", "ada", "--json", ...base]);
    expect(json.code, json.stderr).to.equal(0);
    const listed = JSON.parse(json.stdout) as Array<{ id: string; remember_me: boolean }>;
    expect(listed.map((s) => [s.id, s.remember_me])).to.deep.equal([
      [second.session.id, true],
      [first.session.id, false],
    ]);
    const text = await cli(["sessions", "list", "ada", ...base]);
    expect(text.code).to.equal(0);
    const lines = text.stdout.trim().split("\n");
    expect(lines[0]).to.match(/^ID\s+CREATED\s+LAST USED\s+EXPIRES\s+REMEMBER\s+IP\s+USER AGENT$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).to.deep.equal([second.session.id, first.session.id]);
  });

  it("sessions revoke ends one session: the next guarded request is 401", async () => {
    const a = await login(t, "bea");
    const b = await login(t, "bea");
    const res = await cli(["sessions", "revoke", "bea", a.session.id, ...base]);
    expect([res.code, res.stdout.trim()]).to.deep.equal([0, "revoked 1 session"]);
    expect((await me(t, a.access_token)).status).to.equal(401);
    expect((await me(t, b.access_token)).status).to.equal(200);
    const again = await cli(["sessions", "revoke", "bea", a.session.id, ...base]);
    expect(again.code).to.equal(1);
    expect(again.stderr.trim()).to.match(/^session-guard: no live session/);
  });

  it("sessions revoke-all ends them all, or all but --except", async () => {
    const [a, b, c] = [await login(t, "cy"), await login(t, "cy"), await login(t, "cy")];
    const others = await cli(["sessions", "revoke-all", "cy", "--except", c.session.id, "--json", ...base]);
    expect(others.code).to.equal(0);
    expect(JSON.parse(others.stdout).revoked).to.equal(2);
    for (const [tokens, status] of [
      [a, 401],
      [b, 401],
      [c, 200],
    ] as const)
      expect((await me(t, tokens.access_token)).status).to.equal(status);
    const all = await cli(["sessions", "revoke-all", "cy", ...base]);
    expect([all.code, all.stdout.trim()]).to.deep.equal([0, "revoked 1 session"]);
    expect((await me(t, c.access_token)).status).to.equal(401);
    expect((await cli(["sessions", "revoke-all", "cy", ...base])).code).to.equal(1);
  });

  it("takes session and user ids that start with '-', as sessions list prints them", async () => {
    const ids = ["-a" + "x".repeat(20), "-b" + "x".repeat(20), "--" + "c".repeat(20)];
    const now = t.clock.now(); // the command reads the real time
    for (const id of ids) {
      await redis.store.create({
        record: sessionRecord("-dash", id, { createdAt: now, lastUsedAt: now }),
        refreshHash: "h0",
        maxSessions: null,
        now,
      });
    }
    const live = async () => (await redis.store.list("-dash", now)).map((r) => r.id).sort();
    const one = await cli(["sessions", "revoke", "-dash", ids[0], ...base]);
    expect([one.code, one.stdout.trim()], one.stderr).to.deep.equal([0, "revoked 1 session"]);
    expect(await live()).to.deep.equal([ids[2], ids[1]].sort());
    // An id that looks like a long option goes after `--`; as --except's value it needs nothing.
    const others = await cli(["sessions", "revoke-all", "-dash", "--except", ids[2], ...base]);
    expect([others.code, others.stdout.trim()], others.stderr).to.deep.equal([0, "revoked 1 session"]);
    expect(await live()).to.deep.equal([ids[2]]);
    const last = await cli(["sessions", "revoke", ...base, "--", "-dash", ids[2]]);
    expect([last.code, last.stdout.trim()], last.stderr).to.deep.equal([0, "revoked 1 session"]);
    expect(await live()).to.deep.equal([]);
  });

  it("a process's local session cache drops what the command revokes", async () => {
    const client = new Redis(redis.url, SAFE_CLIENT);
    await ready(client);
    const cached = buildApp({
      guard: { store: new RedisStore({ client, prefix: redis.prefix }), cache: { ttl: "1h" } },
      clock: t.clock,
    });
    try {
      const deadline = Date.now() + 5000;
      while (!cached.guard.cache!.subscribed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const [one, two, three] = [await login(t, "dee"), await login(t, "dee"), await login(t, "dee")];
      for (const tokens of [one, two, three]) expect((await me(cached, tokens.access_token)).status).to.equal(200);
      expect(cached.guard.cache!.size).to.equal(3);
      expect((await cli(["sessions", "revoke", "dee", one.session.id, ...base])).code).to.equal(0);
      // The command's process has exited, and its script published before it
      // answered: the message has reached the subscriber or is on its way.
      const dropped = async (size: number) => {
        const until = Date.now() + 2000;
        while (cached.guard.cache!.size !== size && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
        return cached.guard.cache!.size;
      };
      expect(await dropped(2)).to.equal(2);
      expect((await me(cached, one.access_token)).status).to.equal(401);
      expect((await cli(["sessions", "revoke-all", "dee", ...base])).code).to.equal(0);
      expect(await dropped(0)).to.equal(0);
      for (const tokens of [two, three]) expect((await me(cached, tokens.access_token)).status).to.equal(401);
    } finally {
      await cached.guard.close();
      client.disconnect();
    }
  });

  it("stats counts live sessions, users, remember-me sessions, and samples memory", async () => {
    const fixture = await redisFixture();
    try {
      const app = buildApp({ guard: { store: fixture.store }, clock: fakeClock(Date.now()) });
      await login(app, "u1");
      await login(app, "u1", { rememberMe: true });
      await login(app, "u2");
      const res = await cli(["stats", "--json", "--redis-url", fixture.url, "--prefix", fixture.prefix]);
      expect(res.code, res.stderr).to.equal(0);
      const stats = JSON.parse(res.stdout);
      expect({ ...stats, bytesPerSession: typeof stats.bytesPerSession }).to.deep.equal({
        sessions: 3,
        users: 2,
        rememberMe: 1,
        forever: 0,
        dead: 0,
        bytesPerSession: "number",
        sampled: 3,
      });
      expect(stats.bytesPerSession).to.be.within(100, 2000);
    } finally {
      await fixture.close();
    }
  });

  it("works on a Redis Cluster through --cluster", async () => {
    const cluster = await sharedCluster();
    const client = await connectCluster(cluster, { redisOptions: { commandTimeout: 5000 } });
    const prefix = `cli${Date.now()}:`;
    const app = buildApp({ guard: { store: new RedisStore({ client, prefix }) }, clock: fakeClock(Date.now()) });
    try {
      const users = Array.from({ length: 12 }, (_, i) => `cluster-user-${i}`);
      for (const user of users) await login(app, user);
      const seeds = cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(",");
      const stats = await cli(["stats", "--json", "--cluster", seeds, "--prefix", prefix]);
      expect(stats.code, stats.stderr).to.equal(0);
      expect(JSON.parse(stats.stdout)).to.include({ sessions: 12, users: 12 });
      const list = await cli(["sessions", "list", users[3], "--json", "--cluster", seeds, "--prefix", prefix]);
      expect(JSON.parse(list.stdout)).to.have.length(1);
    } finally {
      await client.quit();
    }
  });

  it("exit code 2 for bad usage, with a one-line message and no stack trace", async () => {
    for (const args of [
      [],
      ["sessions"],
      ["sessions", "list"],
      ["sessions", "drop", "x"],
      ["stats", "--nope"],
      ["sessions", "revoke", "a", "--except", "b"],
    ]) {
      const res = await cli([...args, ...base]);
      expect(res.code, args.join(" ")).to.equal(2);
      expect(res.stderr).to.match(/^session-guard: /);
      expect(res.stderr).to.not.match(/\n\s+at /);
    }
    expect((await cli(["stats"])).code, "no Redis given").to.equal(2);
  });

  it("exit code 3 when Redis cannot be reached", async () => {
    const res = await cli(["stats", "--redis-url", "redis://127.0.0.1:1"]);
    expect(res.code).to.equal(3);
    expect(res.stderr.trim().split("\n")).to.have.length(1);
    expect(res.stderr).to.match(/^session-guard: cannot reach Redis/);
  });

  it("--help on every command", async () => {
    for (const args of [
      ["--help"],
      ["sessions", "list", "--help"],
      ["sessions", "revoke", "-h"],
      ["sessions", "revoke-all", "--help"],
      ["stats", "--help"],
    ]) {
      const res = await cli(args);
      expect(res.code, args.join(" ")).to.equal(0);
      expect(res.stdout).to.match(/^Usage: session-guard/);
    }
  });
});
