/**
 * The router's own JSON body reading: `application/json` only, 16 KB at
 * most, a plain object at the top, no `__proto__` keys. A body the app
 * already parsed (express.json() before the router) is reused. Every failure
 * is a JSON 400 `invalid_request`, never Express's HTML error page.
 *
 * @module
 */
import type { Request } from "express";
import { SessionError } from "../errors.js";

/** Largest body the router reads. */
export const BODY_LIMIT = 16 * 1024;

/** Reads the request's JSON body as a plain object (`{}` when the request has none). */
export async function readJsonBody(req: Request): Promise<Record<string, unknown>> {
  const alreadyParsed = (req as { _body?: unknown })._body === true || req.readableEnded;
  if (alreadyParsed) {
    // A body the app parsed (say, a form by express.urlencoded()) must still be
    // JSON: cross-site HTML forms cannot send application/json.
    if (req.body !== undefined && !isJsonContentType(req.headers["content-type"])) throw bad("The body must be application/json.");
    return checkParsed(req.body);
  }
  const length = req.headers["content-length"];
  const hasBody = (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
  if (!hasBody) return {};
  const jsonType = isJsonContentType(req.headers["content-type"]);
  if (!jsonType && length !== undefined) throw bad("The body must be application/json.");
  if (length !== undefined && !(Number(length) <= BODY_LIMIT)) throw bad(`The body must be at most ${BODY_LIMIT} bytes.`);
  const text = await readText(req);
  // A chunked request may turn out empty: no body, like one without a length.
  if (text === "") return {};
  if (!jsonType) throw bad("The body must be application/json.");
  let parsed: unknown;
  let protoKey = false;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (key === "__proto__") protoKey = true;
      return value;
    });
  } catch {
    throw bad("The body is not valid JSON.");
  }
  if (protoKey) throw bad("The body must not contain a __proto__ key.");
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw bad("The body must be a JSON object.");
  return parsed as Record<string, unknown>;
}

function checkParsed(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== "object" || body === null || Array.isArray(body) || Buffer.isBuffer(body))
    throw bad("The body must be a JSON object.");
  if (hasProtoKey(body, 0)) throw bad("The body must not contain a __proto__ key.");
  return body as Record<string, unknown>;
}

function hasProtoKey(value: unknown, depth: number): boolean {
  if (typeof value !== "object" || value === null || depth > 32) return false;
  if (Object.prototype.hasOwnProperty.call(value, "__proto__")) return true;
  for (const key of Object.keys(value)) if (hasProtoKey((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return params.every((p) => !p.startsWith("charset=") || p === "charset=utf-8" || p === 'charset="utf-8"');
}

function readText(req: Request): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        cleanup();
        req.resume();
        reject(bad(`The body must be at most ${BODY_LIMIT} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      try {
        resolve(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(bad("The body is not valid UTF-8."));
      }
    };
    const onError = () => {
      cleanup();
      reject(bad("The body could not be read."));
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

function bad(message: string): SessionError {
  return new SessionError("invalid_request", message);
}
