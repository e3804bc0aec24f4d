/**
 * Reading one query parameter of a request URL without `URLSearchParams`.
 *
 * @module
 */

/**
 * Finds the first value of a query parameter, as `URLSearchParams#get`
 * would. Plain queries (no `%` or `+`, the usual `?welcome=0`) are scanned
 * in place: building a `URLSearchParams` is an op call and several objects,
 * about a microsecond and a third of a kilobyte on every connect with a
 * query. Queries that need decoding still go through `URLSearchParams`.
 *
 * @param url The full request URL.
 * @param name The parameter's name, already decoded, without `%` or `+`.
 * @returns Its first value (`""` when it has none), or `null` when absent.
 *
 * @example Usage
 * ```ts
 * import { queryParam } from "./query_param.ts";
 * queryParam("ws://localhost:8080/ws?welcome=0", "welcome"); // "0"
 * queryParam("ws://localhost:8080/ws", "welcome"); // null
 * ```
 */
export function queryParam(url: string, name: string): string | null {
  const mark = url.indexOf("?");
  if (mark === -1) return null;
  const hash = url.indexOf("#", mark);
  const end = hash === -1 ? url.length : hash;
  const percent = url.indexOf("%", mark);
  const plus = url.indexOf("+", mark);
  if ((percent !== -1 && percent < end) || (plus !== -1 && plus < end)) {
    return new URLSearchParams(url.slice(mark + 1, end)).get(name);
  }
  let start = mark + 1;
  while (start <= end) {
    let amp = url.indexOf("&", start);
    if (amp === -1 || amp > end) amp = end;
    const eq = url.indexOf("=", start);
    const keyEnd = eq !== -1 && eq < amp ? eq : amp;
    if (keyEnd - start === name.length && url.startsWith(name, start)) {
      return keyEnd === amp ? "" : url.slice(keyEnd + 1, amp);
    }
    start = amp + 1;
  }
  return null;
}
