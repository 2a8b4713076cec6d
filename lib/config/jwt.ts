/**
 * The JWT group: signing and verification keys, `iss`/`aud`, the clock
 * tolerance, the access-token lifetime, and the refresh-token key.
 *
 * @module
 */
import type { KeyObject } from "node:crypto";
import { parseDuration } from "../duration.js";
import type { JwtOptions, SessionGuardOptions } from "../options.js";
import { resolveKeys, resolveRefreshKey, type JwtAlgorithm, type KeyRing } from "../tokens/keys.js";
import { warnOnce } from "../warnings.js";
import { DEFAULTS, JWT_OPTION_NAMES } from "./defaults.js";
import { orDefault, plainObject, rejectUnknown } from "./validate.js";

/** The JWT settings resolved. */
export interface ResolvedJwt {
  keys: KeyRing;
  refreshKey: KeyObject;
  issuer: string | undefined;
  audience: string | string[] | undefined;
  /** Seconds. */
  clockTolerance: number;
  /** Milliseconds, a whole number of seconds. */
  accessTokenTtl: number;
}

/** Resolves `secret`, `jwt`, `refreshSecret` and `accessTokenTtl`. */
export function resolveJwt(options: SessionGuardOptions): ResolvedJwt {
  const jwtOptions = plainObject("jwt", orDefault(options.jwt, {})) as JwtOptions;
  rejectUnknown("jwt.", jwtOptions, JWT_OPTION_NAMES);
  if (options.secret !== undefined && jwtOptions.secret !== undefined) {
    throw new TypeError("session-guard: give the secret once: either `secret` or `jwt.secret`, not both");
  }
  const algorithm = orDefault(jwtOptions.algorithm, DEFAULTS.jwt.algorithm as JwtAlgorithm);
  if (typeof algorithm === "string" && algorithm.startsWith("HS") && options.secret === undefined && jwtOptions.secret === undefined) {
    throw new TypeError("session-guard: `secret` is required (a string or Buffer of at least 32 bytes), or give `jwt` with a key");
  }
  const keys = resolveKeys({ ...jwtOptions, algorithm, secret: options.secret ?? jwtOptions.secret });
  if (jwtOptions.issuer !== undefined && (typeof jwtOptions.issuer !== "string" || jwtOptions.issuer === "")) {
    throw new TypeError("session-guard: `jwt.issuer` must be a non-empty string");
  }
  const audience = jwtOptions.audience;
  if (
    audience !== undefined &&
    !(typeof audience === "string" && audience !== "") &&
    !(Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === "string" && a !== ""))
  ) {
    throw new TypeError("session-guard: `jwt.audience` must be a non-empty string or array of strings");
  }
  const clockTolerance =
    jwtOptions.clockTolerance === 0
      ? 0
      : parseDuration("jwt.clockTolerance", orDefault(jwtOptions.clockTolerance, DEFAULTS.jwt.clockTolerance));

  const refresh = resolveRefreshKey(keys, options.refreshSecret);
  if (refresh.derived && (jwtOptions.verifyKeys?.length ?? 0) > 0) {
    warnOnce(
      "SESSION_GUARD_REFRESH_KEY_FROM_JWT",
      "session-guard: refresh tokens are signed with a key derived from the JWT signing key, so a rotation of the JWT keys (`jwt.verifyKeys`) ends every refresh token issued before it. Set `refreshSecret` to keep refresh tokens across JWT key rotations.",
    );
  }
  const accessTokenTtl = parseDuration("accessTokenTtl", orDefault(options.accessTokenTtl, DEFAULTS.accessTokenTtl));
  if (accessTokenTtl < 1000 || accessTokenTtl % 1000 !== 0) {
    throw new TypeError(
      `session-guard: \`accessTokenTtl\` must be a whole number of seconds, at least 1s, since JWT times are in seconds (got ${accessTokenTtl} ms)`,
    );
  }
  return {
    keys,
    refreshKey: refresh.key,
    issuer: jwtOptions.issuer,
    audience,
    clockTolerance: clockTolerance / 1000,
    accessTokenTtl,
  };
}
