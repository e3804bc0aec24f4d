/**
 * `GET /metrics`: Prometheus text exposition, version 0.0.4.
 *
 * Written by hand: the counters are plain integers updated on the message
 * path, and a library such as prom-client would put label lookups there.
 *
 * @module
 */
import type { ServerState } from "../../src/core/state.ts";
import { VERSION } from "../../src/config/version.ts";
import {
  type Broker,
  LATENCY_BUCKETS_MS,
} from "../../src/core/broker/broker.ts";

type Sample = [labels: Record<string, string | number>, value: number];

/**
 * Creates the metrics handler of one server.
 *
 * @param state The server state.
 * @returns The handler.
 */
export function createMetricsHandler(state: ServerState): () => Response {
  return function serveMetrics() {
    return new Response(renderMetrics(state), {
      headers: {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  };
}

/**
 * Renders every metric of a server in the Prometheus text format.
 *
 * @param state The server state.
 * @returns The exposition text.
 */
export function renderMetrics(state: ServerState): string {
  const { metrics, registry, rooms } = state;
  const lines: string[] = [];
  function metric(
    name: string,
    type: "counter" | "gauge",
    help: string,
    samples: Sample[],
  ) {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([k, v]) =>
        `${k}="${escapeLabel(String(v))}"`
      );
      lines.push(
        `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}`,
      );
    }
  }
  const modes = [["echo", metrics.echo], ["json", metrics.json]] as const;

  metric("wsecho_build_info", "gauge", "Version of the running server.", [[{
    version: VERSION,
  }, 1]]);
  metric(
    "wsecho_uptime_seconds",
    "gauge",
    "Seconds since the server started.",
    [[
      {},
      (Date.now() - state.startedAt) / 1000,
    ]],
  );
  metric(
    "process_resident_memory_bytes",
    "gauge",
    "Resident memory size in bytes.",
    [[
      {},
      Deno.memoryUsage().rss,
    ]],
  );
  metric("wsecho_connections_open", "gauge", "Open WebSocket connections.", [[
    {},
    registry.size,
  ]]);
  metric(
    "wsecho_connections_accepted_total",
    "counter",
    "WebSocket upgrades accepted.",
    [[
      {},
      metrics.accepted,
    ]],
  );
  metric(
    "wsecho_connections_refused_total",
    "counter",
    "WebSocket upgrades refused, by reason.",
    Object.entries(metrics.refused).map(([reason, n]) => [{ reason }, n]),
  );
  metric(
    "wsecho_messages_received_total",
    "counter",
    "Messages received, by mode.",
    modes.map(([mode, c]) => [{ mode }, c.messagesIn]),
  );
  metric(
    "wsecho_messages_sent_total",
    "counter",
    "Messages sent, by mode.",
    modes.map(([mode, c]) => [{ mode }, c.messagesOut]),
  );
  metric(
    "wsecho_received_bytes_total",
    "counter",
    "Message payload bytes received, by mode.",
    modes.map(([mode, c]) => [{ mode }, c.bytesIn]),
  );
  metric(
    "wsecho_sent_bytes_total",
    "counter",
    "Message payload bytes sent, by mode.",
    modes.map(([mode, c]) => [{ mode }, c.bytesOut]),
  );
  metric(
    "wsecho_closes_total",
    "counter",
    "Closed connections, by close code.",
    [...metrics.closes].sort(([a], [b]) => a - b).map((
      [code, n],
    ) => [{ code }, n]),
  );
  metric(
    "wsecho_protocol_errors_total",
    "counter",
    "Error frames sent, by error code.",
    [...metrics.errors].map(([code, n]) => [{ code }, n]),
  );
  metric("wsecho_rooms", "gauge", "Rooms with at least one member.", [[
    {},
    rooms.size,
  ]]);
  metric("wsecho_room_members", "gauge", "Room memberships over all rooms.", [[
    {},
    rooms.memberships,
  ]]);
  if (state.cluster.broker.url !== "") {
    lines.push(...brokerMetrics(state.cluster.broker));
  }
  const { lab } = metrics;
  metric(
    "wsecho_lab_connections_total",
    "counter",
    "Connections opened with a test lab parameter, by parameter.",
    [...lab.connections].map(([param, n]) => [{ param }, n]),
  );
  const labCounters: [string, string, number][] = [
    [
      "refusals",
      "Handshakes refused on purpose by the lab's status.",
      lab.refusals,
    ],
    [
      "messages_dropped",
      "Messages dropped on purpose by the lab's drop.",
      lab.dropped,
    ],
    [
      "messages_delayed",
      "Messages held back by the lab's delay or jitter.",
      lab.delayed,
    ],
    [
      "messages_emitted",
      "Messages sent by lab streams (emit, the stream kind).",
      lab.emitted,
    ],
    [
      "stream_pauses",
      "Times a lab stream paused for a peer that was not reading.",
      lab.streamPauses,
    ],
    [
      "delay_overflows",
      "Connections closed with 1008 for holding more than --max-delayed.",
      lab.delayOverflows,
    ],
    [
      "closes",
      "Closes the lab was asked for (close_after, close_in, the close kind).",
      lab.closes,
    ],
  ];
  for (const [name, help, value] of labCounters) {
    metric(`wsecho_lab_${name}_total`, "counter", help, [[{}, value]]);
  }
  return `${lines.join("\n")}\n`;
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

/** The broker's metrics, present when a broker URL is configured. */
function brokerMetrics(broker: Broker): string[] {
  const { stats } = broker;
  const { latency } = stats;
  const counter = (name: string, help: string, value: number) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} counter`,
    `${name} ${value}`,
  ];
  const name = "wsecho_broker_latency_seconds";
  return [
    "# HELP wsecho_broker_up 1 while the broker is reachable.",
    "# TYPE wsecho_broker_up gauge",
    `wsecho_broker_up ${broker.status === "up" ? 1 : 0}`,
    ...counter(
      "wsecho_broker_reconnects_total",
      "Times the broker came back after being lost.",
      stats.reconnects,
    ),
    ...counter(
      "wsecho_broker_published_total",
      "Broadcasts published to the other instances.",
      stats.published,
    ),
    ...counter(
      "wsecho_broker_lost_total",
      "Broadcasts that could not be published (broker down or failed).",
      stats.lost,
    ),
    ...counter(
      "wsecho_broker_received_total",
      "Broadcasts received from other instances.",
      stats.received,
    ),
    `# HELP ${name} Publish-to-receive latency of broadcasts from other instances.`,
    `# TYPE ${name} histogram`,
    ...LATENCY_BUCKETS_MS.map((ms, i) =>
      `${name}_bucket{le="${ms / 1000}"} ${latency.buckets[i]}`
    ),
    `${name}_bucket{le="+Inf"} ${latency.count}`,
    `${name}_sum ${latency.sum / 1000}`,
    `${name}_count ${latency.count}`,
  ];
}
