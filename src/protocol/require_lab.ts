/**
 * The guard of the test lab's kinds: their connection's lab controls, or a
 * `lab_off` error when the server runs with `--no-lab`.
 *
 * @module
 */
import { ProtocolError } from "./envelope.ts";
import type { KindContext } from "./kind.ts";
import type { LabControls } from "./lab_controls.ts";

/**
 * Returns a connection's lab controls, for the lab's kinds.
 *
 * @param context The kind's context.
 * @returns The controls.
 * @throws {ProtocolError} `lab_off` when the server runs with `--no-lab`.
 */
export function requireLab(context: KindContext): LabControls {
  const { lab } = context;
  if (lab === undefined || !lab.enabled) {
    throw new ProtocolError(
      "lab_off",
      "The test lab is off on this server (started with --no-lab)",
    );
  }
  return lab;
}
