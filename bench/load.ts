/**
 * The load generator, in its own process: runs autocannon (programmatic API)
 * for each `run` message from the parent and answers with a summary.
 *
 * With `mint`, every request carries an access token never sent before:
 * enough tokens for the run are signed up front (before the clock starts),
 * so the server's verified-token cache never hits and signing costs the
 * load nothing while it runs.
 */
import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import jwt from "jsonwebtoken";
import type { LoadResult } from "./common.js";

interface RunMessage {
  type: "run";
  id: number;
  url: string;
  headers: Record<string, string>;
  mint?: { secret: string; sub: string; sid: string; claims: Record<string, unknown>; ttl: number };
  connections: number;
  duration: number;
}

/** More requests per second than any variant serves on the machines this runs on. */
const MAX_RPS = 25_000;

/** `count` distinct access tokens of one session, as session-guard signs them (HS256, `typ: at+jwt`). */
function mintTokens(mint: NonNullable<RunMessage["mint"]>, count: number): string[] {
  const iat = Math.floor(Date.now() / 1000);
  const tokens: string[] = new Array(count);
  const header = { alg: "HS256" as const, typ: "at+jwt" };
  for (let i = 0; i < count; i++) {
    const payload = { ...mint.claims, sub: mint.sub, sid: mint.sid, jti: randomBytes(16).toString("base64url"), iat, exp: iat + mint.ttl };
    tokens[i] = `Bearer ${jwt.sign(payload, mint.secret, { algorithm: "HS256", header })}`;
  }
  return tokens;
}

process.on("message", async (message: RunMessage | { type: "stop" }) => {
  if (message.type === "stop") process.exit(0);
  if (message.type !== "run") return;
  try {
    const tokens = message.mint ? mintTokens(message.mint, Math.ceil(MAX_RPS * (message.duration + 1))) : undefined;
    let sent = 0;
    const requests = tokens && [
      {
        method: "GET" as const,
        setupRequest: (req: { headers?: Record<string, string> }) => {
          req.headers = { ...message.headers, authorization: tokens[sent++ % tokens.length] };
          return req;
        },
      },
    ];
    const result = await autocannon({
      url: message.url,
      headers: message.headers,
      connections: message.connections,
      duration: message.duration,
      pipelining: 1,
      ...(requests ? { requests } : {}),
    } as autocannon.Options);
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
      ...(tokens ? { tokensReused: Math.max(0, sent - tokens.length) } : {}),
    };
    process.send!({ type: "result", id: message.id, result: summary });
  } catch (error) {
    process.send!({ type: "result", id: message.id, error: String(error) });
  }
});

process.send!({ type: "ready" });
