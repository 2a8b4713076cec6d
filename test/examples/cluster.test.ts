/**
 * `examples/cluster/server.ts` as a child process against the shared test
 * Cluster: log in, call a guarded route, log out, over HTTP with a cookie
 * jar (the example's cookie transport) and its CSRF header.
 */
import { expect } from "chai";
import { startExample, type ExampleApp } from "../support/example.js";
import { sharedCluster } from "../support/redis-cluster.js";

/** The cookies a server set, sent back on the next requests. */
class CookieJar {
  readonly #cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      const value = pair.slice(eq + 1);
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.#cookies.delete(pair.slice(0, eq));
      else this.#cookies.set(pair.slice(0, eq), value);
    }
  }
  get header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
  get size(): number {
    return this.#cookies.size;
  }
}

describe("examples/cluster", function () {
  this.timeout(60_000);
  let app: ExampleApp;

  before(async () => {
    const cluster = await sharedCluster();
    app = await startExample(
      { REDIS_CLUSTER: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(",") },
      "examples/cluster/server.ts",
    );
  });
  after(() => app?.stop());

  it("logs in, answers a guarded route, and logs out on the Cluster", async () => {
    expect(app.output()).to.match(/RedisStore on a Redis Cluster/);
    const jar = new CookieJar();
    const send = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: {
          "x-requested-with": "test",
          ...(jar.size > 0 ? { cookie: jar.header } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      jar.take(res);
      return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, any> | null };
    };

    expect((await send("GET", "/api/me")).status, "no session yet").to.equal(401);
    const login = await send("POST", "/auth/login", { email: "ada@example.com", password: "correct horse" });
    expect(login.status, JSON.stringify(login.body)).to.equal(200);
    const me = await send("GET", "/api/me");
    expect(me.status, JSON.stringify(me.body)).to.equal(200);
    expect(me.body!.user).to.deep.include({ id: "user-1", email: "ada@example.com" });
    const sessionId = me.body!.session.id;
    const sessions = await send("GET", "/auth/sessions");
    expect(sessions.status).to.equal(200);
    expect(JSON.stringify(sessions.body)).to.contain(sessionId);
    const logout = await send("POST", "/auth/logout");
    expect(logout.status, JSON.stringify(logout.body)).to.be.oneOf([200, 204]);
    expect((await send("GET", "/api/me")).status, "logged out").to.equal(401);
  });

  it("exits with a message when REDIS_CLUSTER is not a list of host:port", async () => {
    let failed: Error | undefined;
    try {
      const bad = await startExample({ REDIS_CLUSTER: "localhost" }, "examples/cluster/server.ts");
      await bad.stop();
    } catch (err) {
      failed = err as Error;
    }
    expect(failed?.message).to.match(/exited \(2\)[\s\S]*REDIS_CLUSTER must list/);
  });
});
