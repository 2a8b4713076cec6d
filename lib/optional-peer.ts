/**
 * Loading an optional peer dependency (ioredis, prom-client) at the moment
 * a feature needs it, so a project without it can still import the package,
 * and one that uses the feature learns at construction what to install.
 *
 * @module
 */
import { createRequire } from "node:module";

/**
 * `require` from this package's own location, so the peer is found where
 * the app installed it. TypeScript refuses this module's URL in CommonJS
 * output, so the CommonJS build swaps it for `__filename` (see
 * `scripts/mark-cjs.mjs`).
 */
// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- the one expression the CommonJS build rewrites
// @ts-ignore
const requireHere = createRequire(import.meta.url);

/** The installed package `name`, or a `TypeError` with `missing` (which says what to install) when it is not installed. */
export function requireOptionalPeer(name: string, missing: string): unknown {
  try {
    return requireHere(name) as unknown;
  } catch (err) {
    const notInstalled = (err as { code?: string }).code === "MODULE_NOT_FOUND" && String((err as Error).message).includes(`'${name}'`);
    if (!notInstalled) throw err;
    throw new TypeError(missing, { cause: err });
  }
}
