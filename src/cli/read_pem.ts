/**
 * Loading TLS material given as PEM text or as a file path.
 *
 * PEM text needs no file permission at all, which is how a compiled binary
 * (built with network and environment access only) takes a certificate:
 * `WSECHO_CERT="$(cat cert.pem)"`.
 *
 * @module
 */
import { UsageError } from "../config/parse_command.ts";

/**
 * Returns PEM text, reading it from a file unless it already is PEM.
 *
 * @param value PEM text or a file path.
 * @param source The flag it came from, for error messages.
 * @returns The PEM text.
 * @throws {UsageError} When the file cannot be read or holds no PEM block.
 */
export async function readPem(value: string, source: string): Promise<string> {
  if (value.trimStart().startsWith("-----BEGIN")) return value;
  let pem: string;
  try {
    pem = await Deno.readTextFile(value);
  } catch (error) {
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      throw new UsageError(
        `Cannot read ${source} "${value}": no read permission; run with --allow-read=${value} ` +
          "or pass the PEM text itself (WSECHO_CERT, WSECHO_KEY)",
        { cause: error },
      );
    }
    throw new UsageError(
      `Cannot read ${source} "${value}": ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!pem.includes("-----BEGIN")) {
    throw new UsageError(
      `Cannot use ${source} "${value}": the file holds no PEM block`,
    );
  }
  return pem;
}
