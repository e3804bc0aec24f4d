/**
 * The Origin check against cross-site WebSocket hijacking: requests with no
 * `Origin` (non-browser clients) and same-origin pages pass; others only when
 * listed.
 *
 * @module
 */

/** Decides whether a request's `Origin` may upgrade, given the request's `Host`. */
export type OriginPolicy = (
  origin: string | null,
  host: string | null,
) => boolean;

/**
 * Compiles an allow list into a policy.
 *
 * @param allowed Origins such as `https://app.example.com`, patterns such as
 * `https://*.example.com` (any subdomain), or `*` for every origin.
 * @returns The policy.
 *
 * @example Usage
 * ```ts
 * import { compileOriginPolicy } from "./origin.ts";
 * const allowed = compileOriginPolicy(["https://*.example.com"]);
 * allowed("https://app.example.com", "localhost:8080"); // true
 * ```
 */
export function compileOriginPolicy(allowed: readonly string[]): OriginPolicy {
  if (allowed.includes("*")) return () => true;
  const patterns = allowed.map(toPattern);
  return (origin, host) => {
    if (origin === null) return true;
    const normalized = origin.toLowerCase().replace(/\/+$/, "");
    if (host !== null && hostOf(normalized) === host.toLowerCase()) return true;
    return patterns.some((pattern) => pattern.test(normalized));
  };
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

function toPattern(entry: string): RegExp {
  const escaped = entry.toLowerCase().replace(/\/+$/, "").replace(
    /[.+?^${}()|[\]\\]/g,
    "\\$&",
  );
  // A "*." stands for one or more subdomain labels, nothing else.
  return new RegExp(`^${escaped.replaceAll("*\\.", "(?:[a-z0-9-]+\\.)+")}$`);
}
