/**
 * The example app (`app.ts`) on memory, or on Redis when REDIS_URL is set.
 *
 *   npm run example            # then open http://localhost:3000
 *
 * Environment: REDIS_URL, and the app's own (see `app.ts`: PORT,
 * SESSION_SECRET, ACCESS_TOKEN_TTL, JWT_CLOCK_TOLERANCE, COOKIE_SECURE).
 */
import { MemoryStore, RedisStore } from "../../lib/index.js";
import { serveExample } from "./app.js";

const url = process.env.REDIS_URL;
serveExample(url ? { store: new RedisStore({ url }), name: "RedisStore" } : { store: new MemoryStore(), name: "MemoryStore" });
