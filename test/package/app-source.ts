// The app each throwaway project of the packaging test compiles and runs,
// written as its user would: ES module or CommonJS JavaScript, or
// TypeScript (which every module kind compiles from the same source). It
// prints one JSON line that the test reads.

export type AppFlavour = "esm" | "cjs" | "typescript";

const IMPORTS: Record<AppFlavour, string> = {
  esm: `import express from "express";
import { createSessionRouter, MemoryStore, RedisStore, sessionGuard } from "session-guard";
import { describeStoreContract } from "session-guard/testing";`,
  cjs: `const express = require("express");
const { createSessionRouter, MemoryStore, RedisStore, sessionGuard } = require("session-guard");
const { describeStoreContract } = require("session-guard/testing");`,
  typescript: `import express from "express";
import type { AddressInfo } from "node:net";
import { createSessionRouter, MemoryStore, RedisStore, sessionGuard, type TokenSet } from "session-guard";
import { describeStoreContract, type StoreContractOptions } from "session-guard/testing";`,
};

export function appSource(flavour: AppFlavour): string {
  const ts = flavour === "typescript";
  const as = (type: string) => (ts ? ` as ${type}` : "");
  return `${IMPORTS[flavour]}

const secret = "consumer-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/** Constructs what the call makes and closes it again, or tells why it threw. */
async function attempt(make${ts ? ": () => { close(): Promise<void> }" : ""})${ts ? ": Promise<string>" : ""} {
  try {
    await make().close();
    return "constructed";
  } catch (err) {
    return String(err);
  }
}

/** The contract suite loads; outside a test runner it asks for one. */
function contractSuite()${ts ? ": string" : ""} {
  const options${ts ? ": StoreContractOptions" : ""} = { name: "MemoryStore", open: async () => ({ store: new MemoryStore() }) };
  try {
    describeStoreContract(options);
    return "registered";
  } catch (err) {
    return String(err);
  }
}

async function main()${ts ? ": Promise<void>" : ""} {
  const url = process.env.REDIS_URL;
  const store = url ? new RedisStore({ url, prefix: process.env.KEY_PREFIX }) : new MemoryStore();
  const guard = sessionGuard({ store, secret });
  const app = express();
  app.use(
    "/auth",
    createSessionRouter(guard, {
      authenticate: (req) =>
        req.body.email === "ada@example.com" && req.body.password === "correct horse" ? { userId: "user-1", claims: { role: "admin" } } : null,
    }),
  );
  app.get("/me", guard, (req, res) => {
    res.json({ user: req.session.userId, role: req.session.claims.role });
  });
  app.use(guard.errorHandler);

  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const base = "http://127.0.0.1:" + (server.address()${as("AddressInfo")}).port;

  const login = await fetch(base + "/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "ada@example.com", password: "correct horse" }),
  });
  const tokens = (await login.json())${as("TokenSet")};
  const me = await fetch(base + "/me", { headers: { authorization: "Bearer " + tokens.access_token } });
  const denied = await fetch(base + "/me");
  const deniedBody = (await denied.json())${as("{ error: string }")};

  const report = {
    store: url ? "RedisStore" : "MemoryStore",
    login: login.status,
    tokenType: tokens.token_type,
    me: { status: me.status, body: await me.json() },
    denied: { status: denied.status, code: deniedBody.error, wwwAuthenticate: denied.headers.has("www-authenticate") },
    urlStore: await attempt(() => new RedisStore({ url: "redis://127.0.0.1:1" })),
    testing: contractSuite(),
    fromEnv: url ? "not tried" : await attempt(() => sessionGuard.fromEnv({ SESSION_SECRET: secret, REDIS_URL: "redis://127.0.0.1:1" })),
  };
  await new Promise((resolve) => server.close(resolve));
  await guard.close();
  console.log(JSON.stringify(report));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;
}

const METRICS_IMPORTS: Record<AppFlavour, string> = {
  esm: `import { MemoryStore, REJECTED_CHANNEL, sessionGuard } from "session-guard";
import { sessionGuardMetrics } from "session-guard/metrics";
import { Registry } from "prom-client";`,
  cjs: `const { MemoryStore, REJECTED_CHANNEL, sessionGuard } = require("session-guard");
const { sessionGuardMetrics } = require("session-guard/metrics");
const { Registry } = require("prom-client");`,
  typescript: `import { MemoryStore, REJECTED_CHANNEL, sessionGuard } from "session-guard";
import { sessionGuardMetrics, type SessionGuardMetrics, type SessionGuardMetricsOptions } from "session-guard/metrics";
import { Registry } from "prom-client";`,
};

/**
 * The metrics app of projects with prom-client: the guard's series on the
 * app's own prom-client Registry after one login. Prints one JSON line.
 */
export function metricsSource(flavour: AppFlavour): string {
  const ts = flavour === "typescript";
  return `${METRICS_IMPORTS[flavour]}

async function main()${ts ? ": Promise<void>" : ""} {
  const guard = sessionGuard({ store: new MemoryStore(), secret: "consumer-secret-0123456789-abcdefghijklmnopqrstuvwxyz" });
  const options${ts ? ": SessionGuardMetricsOptions" : ""} = { registry: new Registry(), prefix: "app_" };
  const metrics${ts ? ": SessionGuardMetrics" : ""} = sessionGuardMetrics(guard, options);
  await guard.sessions.create("user-1");
  const text = await metrics.registry.metrics();
  const logins = text.split("\\n").find((line) => line.startsWith('app_logins_total{remember_me="false"}'));
  metrics.close();
  await guard.close();
  console.log(JSON.stringify({ logins, sameRegistry: metrics.registry === options.registry, channel: REJECTED_CHANNEL }));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;
}

/** Loads session-guard/metrics by import and by require where prom-client is missing; prints what each call threw. */
export const METRICS_WITHOUT_PROM_CLIENT = `
const { createRequire } = require("node:module");
const { MemoryStore, sessionGuard } = require("session-guard");
const guard = sessionGuard({ store: new MemoryStore(), secret: "consumer-secret-0123456789-abcdefghijklmnopqrstuvwxyz" });
const attempt = (load) => { try { load().sessionGuardMetrics(guard); return "constructed"; } catch (err) { return String(err); } };
import("session-guard/metrics").then(async (esm) => {
  const report = { require: attempt(() => require("session-guard/metrics")), import: attempt(() => esm) };
  await guard.close();
  console.log(JSON.stringify(report));
});
`;
