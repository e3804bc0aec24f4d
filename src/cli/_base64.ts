/**
 * Base64 for the client's output, without a dependency.
 *
 * @module
 */

/**
 * Encodes bytes as standard base64 with padding.
 *
 * @param bytes The bytes.
 * @returns The base64 text.
 */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
