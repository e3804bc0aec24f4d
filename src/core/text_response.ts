/**
 * Plain-text HTTP answers: every refusal and error page is one line of text.
 *
 * @module
 */

/**
 * Builds a plain-text response.
 *
 * @param status The HTTP status.
 * @param body The text.
 * @param headers Extra headers.
 * @returns The response.
 */
export function text(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
