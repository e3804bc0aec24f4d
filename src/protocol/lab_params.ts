/**
 * The test lab's query parameters (`/ws?delay=100&drop=0.1`, `/echo?status=503`):
 * parsing and validation, once per request, as a pure function. A request
 * without any lab parameter gets `params: undefined`, so the caller can pick
 * today's echo path at the upgrade and never look again.
 *
 * @module
 */
import {
  DEFAULT_LAB_RATE,
  DEFAULT_LAB_SIZE,
  MAX_CLOSE_REASON_BYTES,
  MAX_EMIT_RATE,
  MAX_LAB_CLOSE_AFTER,
  MAX_LAB_CLOSE_IN_MS,
  MAX_LAB_DELAY_MS,
  MAX_LAB_EMIT,
  MAX_LAB_RETRY_AFTER_S,
  MAX_MESSAGE_SIZE,
  MIN_LAB_SIZE,
} from "../config/limits.ts";

/** Every lab parameter of `/ws`, in the order the docs list them. */
export const WS_LAB_PARAMS = [
  "delay",
  "jitter",
  "drop",
  "seed",
  "close_after",
  "close_in",
  "close_code",
  "close_reason",
  "status",
  "retry_after",
  "subprotocol",
  "emit",
  "rate",
  "size",
  "binary",
] as const;

/** The lab parameters `/echo` takes. */
export const HTTP_LAB_PARAMS = ["status", "delay", "retry_after"] as const;

/** The name of one lab parameter. */
export type LabParamName = typeof WS_LAB_PARAMS[number];

/** What a connection or request asked the lab for, validated. */
export interface LabParams {
  /** Milliseconds every echo and reply waits; `0`: none. */
  readonly delay: number;
  /** Up to this many milliseconds more, uniform, per message; `0`: none. */
  readonly jitter: number;
  /** Probability that an echo or reply is skipped. */
  readonly drop: number;
  /** Makes `drop` and `jitter` reproducible; `undefined`: `Math.random`. */
  readonly seed: number | undefined;
  /** The server closes after this many echoes; `0`: never. */
  readonly closeAfter: number;
  /** The server closes this many milliseconds after open; `0`: never. */
  readonly closeIn: number;
  /** The code of those closes. */
  readonly closeCode: number;
  /** The reason of those closes; `undefined`: one naming what closed. */
  readonly closeReason: string | undefined;
  /** Refuse the handshake with this HTTP status; `0`: do not. */
  readonly status: number;
  /** With `status`, the `Retry-After` header in seconds; `undefined`: none. */
  readonly retryAfter: number | undefined;
  /** Complete the handshake without choosing a subprotocol. */
  readonly subprotocolNone: boolean;
  /** Messages the server streams; `0`: none. */
  readonly emit: number;
  /** Streamed messages a second. */
  readonly rate: number;
  /** Bytes of each streamed message. */
  readonly size: number;
  /** Stream binary messages rather than text. */
  readonly binary: boolean;
  /** The parameters given, as `name=value` in query order, for the log line. */
  readonly given: readonly string[];
  /** The names of the parameters given, for the counters. */
  readonly names: readonly LabParamName[];
}

/** Options of {@linkcode parseLabQuery}. */
export interface LabQueryOptions {
  /**
   * Whether the lab is on; off, every lab parameter is refused with 403.
   *
   * @default {true}
   */
  enabled?: boolean;
  /**
   * The largest `rate` (`--max-emit-rate`).
   *
   * @default {10000}
   */
  maxEmitRate?: number;
  /**
   * The largest `size` (`--max-message-size`).
   *
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * The parameters this route takes; others are ignored like unknown ones.
   *
   * @default {WS_LAB_PARAMS}
   */
  names?: readonly LabParamName[];
}

/** The outcome of {@linkcode parseLabQuery}. */
export type LabQueryResult =
  | {
    /** The query is fine. */
    readonly ok: true;
    /** What it asked for, or `undefined` when it named no lab parameter. */
    readonly params: LabParams | undefined;
  }
  | {
    /** The query is refused. */
    readonly ok: false;
    /** `400` for a bad value, `403` when the lab is off. */
    readonly status: 400 | 403;
    /** One line naming the parameter and what is accepted. */
    readonly message: string;
  };

const NO_LAB: LabQueryResult = Object.freeze({ ok: true, params: undefined });

const DEFAULTS = {
  delay: 0,
  jitter: 0,
  drop: 0,
  seed: undefined,
  closeAfter: 0,
  closeIn: 0,
  closeCode: 1000,
  closeReason: undefined,
  status: 0,
  retryAfter: undefined,
  subprotocolNone: false,
  emit: 0,
  rate: DEFAULT_LAB_RATE,
  size: DEFAULT_LAB_SIZE,
  binary: false,
} as const;

/** Thrown inside the parser for one bad value; never escapes it. */
class BadParam extends Error {}

/**
 * Reads the lab parameters of a request URL. Unknown parameters are ignored
 * (other tools append their own); a known one with a bad value is refused.
 *
 * @param url The request URL (or only its query, starting with `?`).
 * @param options Which parameters count and their bounds.
 * @returns The parameters, `params: undefined` when none was given, or a refusal.
 *
 * @example Usage
 * ```ts
 * import { parseLabQuery } from "./lab_params.ts";
 * const result = parseLabQuery("http://localhost/ws?delay=100&drop=0.5");
 * if (result.ok) console.log(result.params?.delay); // 100
 * ```
 */
export function parseLabQuery(
  url: string,
  options: LabQueryOptions = {},
): LabQueryResult {
  const query = url.indexOf("?");
  // Most URLs have no query: decide that without parsing anything.
  if (query === -1 || query === url.length - 1) return NO_LAB;
  const hash = url.indexOf("#", query);
  return readLabParams(
    new URLSearchParams(url.slice(query + 1, hash === -1 ? undefined : hash)),
    options,
  );
}

/**
 * Reads the lab parameters of a parsed query, like {@linkcode parseLabQuery}.
 *
 * @param search The query; `null` when the URL has none.
 * @param options Which parameters count and their bounds.
 * @returns The parameters, `params: undefined` when none was given, or a refusal.
 */
export function readLabParams(
  search: URLSearchParams | null,
  options: LabQueryOptions = {},
): LabQueryResult {
  if (search === null || search.size === 0) return NO_LAB;
  const {
    enabled = true,
    maxEmitRate = MAX_EMIT_RATE,
    maxMessageSize = MAX_MESSAGE_SIZE,
    names = WS_LAB_PARAMS,
  } = options;
  const given: string[] = [];
  const present: LabParamName[] = [];
  const values = new Map<LabParamName, string>();
  for (const [name, value] of search) {
    if (!(names as readonly string[]).includes(name)) continue;
    const key = name as LabParamName;
    // The first of a repeated parameter wins, as with URLSearchParams.get().
    if (values.has(key)) continue;
    values.set(key, value);
    present.push(key);
    given.push(`${name}=${encodeURIComponent(value)}`);
  }
  if (present.length === 0) return NO_LAB;
  if (!enabled) {
    return {
      ok: false,
      status: 403,
      message: `The test lab is off on this server: parameter "${
        present[0]
      }" is refused (started with --no-lab)`,
    };
  }
  try {
    const read = <T>(
      name: LabParamName,
      parse: (value: string) => T,
      fallback: T,
    ): T => {
      const value = values.get(name);
      return value === undefined ? fallback : parse(value);
    };
    const params: LabParams = {
      delay: read(
        "delay",
        (v) => integer("delay", v, 0, MAX_LAB_DELAY_MS, "milliseconds"),
        DEFAULTS.delay,
      ),
      jitter: read(
        "jitter",
        (v) => integer("jitter", v, 0, MAX_LAB_DELAY_MS, "milliseconds"),
        DEFAULTS.jitter,
      ),
      drop: read("drop", (v) => probability("drop", v), DEFAULTS.drop),
      seed: read<number | undefined>(
        "seed",
        (v) => integer("seed", v, 0, 0xffff_ffff, "an integer"),
        DEFAULTS.seed,
      ),
      closeAfter: read(
        "close_after",
        (v) => integer("close_after", v, 1, MAX_LAB_CLOSE_AFTER, "echoes"),
        DEFAULTS.closeAfter,
      ),
      closeIn: read(
        "close_in",
        (v) => integer("close_in", v, 1, MAX_LAB_CLOSE_IN_MS, "milliseconds"),
        DEFAULTS.closeIn,
      ),
      closeCode: read("close_code", closeCode, DEFAULTS.closeCode),
      closeReason: read<string | undefined>(
        "close_reason",
        closeReason,
        DEFAULTS.closeReason,
      ),
      status: read(
        "status",
        (v) => integer("status", v, 400, 599, "an HTTP status"),
        DEFAULTS.status,
      ),
      retryAfter: read<number | undefined>(
        "retry_after",
        (v) => integer("retry_after", v, 0, MAX_LAB_RETRY_AFTER_S, "seconds"),
        DEFAULTS.retryAfter,
      ),
      subprotocolNone: read("subprotocol", subprotocol, false),
      emit: read(
        "emit",
        (v) => integer("emit", v, 1, MAX_LAB_EMIT, "messages"),
        DEFAULTS.emit,
      ),
      rate: read(
        "rate",
        (v) =>
          integer(
            "rate",
            v,
            1,
            maxEmitRate,
            "messages a second (--max-emit-rate)",
          ),
        DEFAULTS.rate,
      ),
      size: read(
        "size",
        (v) =>
          integer(
            "size",
            v,
            MIN_LAB_SIZE,
            maxMessageSize,
            "bytes (--max-message-size)",
          ),
        Math.min(DEFAULTS.size, Math.max(MIN_LAB_SIZE, maxMessageSize)),
      ),
      binary: read("binary", (v) => boolean("binary", v), DEFAULTS.binary),
      given,
      names: present,
    };
    return { ok: true, params };
  } catch (error) {
    if (!(error instanceof BadParam)) throw error;
    return { ok: false, status: 400, message: error.message };
  }
}

/**
 * Formats the given parameters for a log line, as `delay=100&drop=0.1`.
 *
 * @param params The parameters.
 * @returns The query-string form of what was given.
 */
export function formatLabParams(params: LabParams): string {
  return params.given.join("&");
}

function refuse(name: string, value: string, accepted: string): never {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  throw new BadParam(
    `Bad lab parameter "${name}": ${JSON.stringify(shown)} is not ${accepted}`,
  );
}

function integer(
  name: string,
  value: string,
  min: number,
  max: number,
  unit: string,
): number {
  const n = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    refuse(name, value, `an integer from ${min} to ${max} (${unit})`);
  }
  return n;
}

function probability(name: string, value: string): number {
  const n = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 1)) {
    refuse(name, value, "a probability from 0 to 1 (for example 0.1)");
  }
  return n;
}

const TRUE_WORDS = new Set(["", "1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off"]);

function boolean(name: string, value: string): boolean {
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return refuse(
    name,
    value,
    "a boolean (1, 0, true, false, yes, no, on, off, or empty for true)",
  );
}

/**
 * Whether a server may send this close code: 1000, 1001, 1003, 1007 to 1014,
 * or 3000 to 4999 (RFC 6455 section 7.4; 1004 to 1006 and 1015 are reserved,
 * 1002 is left to the WebSocket implementation).
 *
 * @param code The code.
 * @returns `true` when it may be sent.
 */
export function isLabCloseCode(code: number): boolean {
  return Number.isInteger(code) &&
    (code === 1000 || code === 1001 || code === 1003 ||
      (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999));
}

/** The accepted close codes, as the refusals say them. */
export const LAB_CLOSE_CODES_TEXT =
  "1000, 1001, 1003, 1007 to 1014, or 3000 to 4999";

function closeCode(value: string): number {
  const n = /^\d{4}$/.test(value) ? Number(value) : NaN;
  if (!isLabCloseCode(n)) {
    refuse("close_code", value, `a close code: ${LAB_CLOSE_CODES_TEXT}`);
  }
  return n;
}

/**
 * Counts the UTF-8 bytes of a close reason.
 *
 * @param reason The reason.
 * @returns Its length in UTF-8 bytes.
 */
export function closeReasonBytes(reason: string): number {
  return new TextEncoder().encode(reason).length;
}

function closeReason(value: string): string {
  if (closeReasonBytes(value) > MAX_CLOSE_REASON_BYTES) {
    refuse(
      "close_reason",
      value,
      `a text of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`,
    );
  }
  return value;
}

function subprotocol(value: string): boolean {
  if (value !== "none") refuse("subprotocol", value, `"none"`);
  return true;
}
