/**
 * Admission: may this request become a WebSocket? Every check that happens
 * before the upgrade, each refusal a one-line HTTP answer.
 *
 * @module
 */
import { RETRY_AFTER_S } from "../config/limits.ts";
import {
  JSON_PROTOCOL,
  type Protocol,
  STATUS,
  SUPPORTED_PROTOCOLS,
} from "../config/constants.ts";
import type { HandshakeInfo } from "../protocol/lab_controls.ts";
import { type LabParams, readLabParams } from "../protocol/lab_params.ts";
import { BOOLEAN_WORDS_TEXT, parseBoolean } from "../config/values.ts";
import type { RefusalReason } from "../core/metrics.ts";
import type { ServerState } from "../core/state.ts";
import { text } from "../core/text_response.ts";
import { clientIp, isLoopback } from "./client_ip.ts";
import { compileOriginPolicy } from "./origin.ts";
import { selectProtocol } from "./subprotocol.ts";

/** What admission decided about a request it lets through. */
export interface Admission {
  /** The client's address. */
  readonly ip: string;
  /** The key it counts under for the per-IP cap; `null` when not counted. */
  readonly limitKey: string | null;
  /** The subprotocol to answer with; `""` for none. */
  readonly protocol: Protocol;
  /** Whether to send the welcome message. */
  readonly welcome: boolean;
  /** The query string, parsed; `null` when the URL has none. */
  readonly query: URLSearchParams | null;
  /** What the test lab was asked for; `undefined` for a plain connection. */
  readonly lab: LabParams | undefined;
  /**
   * The upgrade request, for the lab's `handshake` kind: `wsecho.v1` only,
   * copied here because its headers cannot be read after the upgrade.
   */
  readonly handshake: HandshakeInfo | undefined;
}

/** Decides one request: an {@linkcode Admission}, or the refusal to answer with. */
export type Admit = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Admission | Response;

/**
 * Compiles the admission checks of one server.
 *
 * @param state The server state: its config, registry, counters and draining flag.
 * @returns The check.
 */
export function createAdmission(state: ServerState): Admit {
  const { config, registry, metrics } = state;
  const originAllowed = compileOriginPolicy(config.allowOrigin);
  const trusted = new Set(config.trustedProxy);
  const { maxConnections, maxConnectionsPerIp, limitLoopback } = config;

  function refuse(reason: RefusalReason, response: Response): Response {
    metrics.refused[reason]++;
    return response;
  }

  return function admit(request, info) {
    const { headers } = request;
    if (headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return text(
        STATUS.UpgradeRequired,
        "Upgrade required: /ws speaks WebSocket; connect with a WebSocket client, " +
          "or open /client in a browser\n",
        { upgrade: "websocket", connection: "Upgrade" },
      );
    }
    if (headers.get("sec-websocket-version") !== "13") {
      // RFC 6455 4.4: name the version we speak; Deno would answer 101 anyway.
      return text(
        STATUS.UpgradeRequired,
        "Unsupported WebSocket version: this server speaks version 13\n",
        { "sec-websocket-version": "13" },
      );
    }
    if (state.draining) {
      return refuse(
        "draining",
        text(STATUS.ServiceUnavailable, "Server shutting down\n", {
          "retry-after": String(RETRY_AFTER_S),
          connection: "close",
        }),
      );
    }
    // Most URLs have no query: parse it only when there is one.
    const mark = request.url.indexOf("?");
    const query = mark === -1
      ? null
      : new URLSearchParams(request.url.slice(mark + 1));
    let welcome = config.welcome;
    const welcomeParam = query?.get("welcome") ?? null;
    if (welcomeParam !== null) {
      const value = parseBoolean(welcomeParam);
      if (value === undefined) {
        return text(
          STATUS.BadRequest,
          `Invalid query parameter welcome: "${welcomeParam}" is not ${BOOLEAN_WORDS_TEXT}\n`,
        );
      }
      welcome &&= value;
    }
    const origin = headers.get("origin");
    // Only browsers send Origin: parse the URL for its host only then.
    if (origin !== null && !originAllowed(origin, new URL(request.url).host)) {
      return refuse(
        "origin",
        text(
          STATUS.Forbidden,
          `Origin not allowed: "${origin}"; ` +
            "allow it with --allow-origin (or WSECHO_ALLOW_ORIGIN)\n",
        ),
      );
    }
    const lab = readLabParams(query, {
      enabled: config.lab,
      maxEmitRate: config.maxEmitRate,
      maxMessageSize: config.maxMessageSize,
    });
    if (!lab.ok) return text(lab.status, `${lab.message}\n`);
    const labParams = lab.params;
    if (labParams !== undefined && labParams.status !== 0) {
      metrics.lab.refusals++;
      return text(
        labParams.status,
        `Refused by the test lab, as asked: status=${labParams.status}\n`,
        labParams.retryAfter === undefined
          ? {}
          : { "retry-after": String(labParams.retryAfter) },
      );
    }
    if (maxConnections > 0 && registry.size >= maxConnections) {
      return refuse(
        "max_connections",
        text(
          STATUS.ServiceUnavailable,
          `Too many connections: the limit is ${maxConnections}\n`,
          { "retry-after": String(RETRY_AFTER_S) },
        ),
      );
    }
    const peer = info.remoteAddr.hostname;
    const ip = trusted.size === 0 ? peer : clientIp(peer, headers, trusted);
    // Loopback peers are load tests and same-host proxies: capping them per
    // IP would cap the whole server, so they count only when asked to.
    const limitKey = maxConnectionsPerIp === 0 ||
        (!limitLoopback && isLoopback(ip))
      ? null
      : ip;
    if (
      limitKey !== null && registry.countFor(limitKey) >= maxConnectionsPerIp
    ) {
      return refuse(
        "max_connections_per_ip",
        text(
          STATUS.ServiceUnavailable,
          `Too many connections from ${ip}: the limit is ${maxConnectionsPerIp}\n`,
          { "retry-after": String(RETRY_AFTER_S) },
        ),
      );
    }
    // subprotocol=none: complete the handshake choosing none of the offered.
    const protocol = labParams?.subprotocolNone ? "" : selectProtocol(
      headers.get("sec-websocket-protocol"),
      SUPPORTED_PROTOCOLS,
    ) as Protocol;
    const handshake: HandshakeInfo | undefined = protocol === JSON_PROTOCOL
      ? {
        method: request.method,
        url: request.url,
        headers: new Headers(headers),
        remote: { address: peer, port: info.remoteAddr.port },
        protocol,
      }
      : undefined;
    return {
      ip,
      limitKey,
      protocol,
      welcome,
      query,
      lab: labParams,
      handshake,
    };
  };
}
