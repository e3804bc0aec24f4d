/**
 * `GET /ws`: admission, then the upgrade, then the session.
 *
 * @module
 */
import { STATUS } from "../../src/config/constants.ts";
import type { ServerState } from "../../src/core/state.ts";
import { text } from "../../src/core/text_response.ts";
import type { MessageKind } from "../../src/protocol/kind.ts";
import { createAdmission } from "../../src/session/admission.ts";
import { createSessions } from "../../src/session/session.ts";

/**
 * Creates the `/ws` handler of one server.
 *
 * @param state The server state.
 * @param kinds The `wsecho.v1` kinds, by `type`.
 * @returns The handler: 101 and a live session, or an HTTP refusal.
 */
export function createWebSocketHandler(
  state: ServerState,
  kinds: ReadonlyMap<string, MessageKind>,
): (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Response {
  const admit = createAdmission(state);
  const startSession = createSessions(state, kinds);
  return function upgradeWebSocket(request, info) {
    const admission = admit(request, info);
    if (admission instanceof Response) return admission;
    let upgrade: Deno.WebSocketUpgrade;
    try {
      // The subprotocol is answered below, not through Deno's `protocol`
      // option: Deno checks it against the offer split on ", " only, so
      // `a,b` or `b ,a` (valid per RFC 6455) would fail the handshake.
      upgrade = Deno.upgradeWebSocket(request, {
        idleTimeout: state.config.idleTimeout,
      });
    } catch (error) {
      return text(
        STATUS.BadRequest,
        `Bad WebSocket handshake: ${(error as Error).message}\n`,
      );
    }
    if (admission.protocol !== "") {
      upgrade.response.headers.set(
        "sec-websocket-protocol",
        admission.protocol,
      );
    }
    startSession(upgrade.socket, admission);
    return upgrade.response;
  };
}
