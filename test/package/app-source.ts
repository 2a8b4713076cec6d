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
