/**
 * A route table keyed by exact pathname, with 404 and 405 answers. HEAD is
 * served by the GET handler with the body dropped.
 *
 * @module
 */
import { ROUTES, STATUS } from "../config/constants.ts";
import { text } from "../core/text_response.ts";

/** A `Deno.serve` handler. */
export type Handler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Handlers of one path, by HTTP method; `ANY` takes every method. */
export type Methods = Partial<
  Record<"GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "ANY", Handler>
>;

/**
 * Builds a handler that dispatches by pathname and method.
 *
 * @param routes Methods by exact pathname.
 * @param subtrees Routes that also answer every path below them, such as
 * `/echo` for `/echo/anything`.
 * @returns The handler: 404 for an unknown path, 405 with `Allow` for a
 * known path and a method it does not serve.
 *
 * @example Usage
 * ```ts
 * import { createRouter } from "./router.ts";
 * const handler = createRouter({ "/": { GET: () => new Response("hi") } });
 * ```
 */
export function createRouter(
  routes: Readonly<Record<string, Methods>>,
  subtrees: readonly string[] = [],
): Handler {
  const table = new Map(Object.entries(routes));
  const prefixes = subtrees.flatMap((path) => {
    const methods = table.get(path);
    return methods === undefined ? [] : [[`${path}/`, methods] as const];
  });
  return function route(request, info) {
    const pathname = pathnameOf(request.url);
    const methods = table.get(pathname) ??
      prefixes.find(([prefix]) => pathname.startsWith(prefix))?.[1];
    if (methods === undefined) {
      return text(STATUS.NotFound, `Not found: "${pathname}"; ${HINT}\n`);
    }
    const method = request.method as keyof Methods;
    const handler = methods[method] ?? methods.ANY;
    if (handler !== undefined) return handler(request, info);
    if (method === "HEAD" && methods.GET !== undefined) {
      return headFromGet(methods.GET, request, info);
    }
    const allow = Object.keys(methods);
    if (methods.GET !== undefined && methods.HEAD === undefined) {
      allow.push("HEAD");
    }
    return text(
      STATUS.MethodNotAllowed,
      `Method not allowed: ${request.method} ${pathname}\n`,
      {
        allow: allow.join(", "),
      },
    );
  };
}

/** Answers HEAD with the GET handler's status and headers, and no body. */
async function headFromGet(
  get: Handler,
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
): Promise<Response> {
  const response = await get(request, info);
  await response.body?.cancel();
  return new Response(null, {
    status: response.status,
    headers: response.headers,
  });
}

const HINT = `try ${
  Object.keys(ROUTES).filter((path) => path !== "/").join(", ")
}`;

/** Reads the pathname without a full URL parse: the request URL is already normalised. */
function pathnameOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query !== -1) end = query;
  const hash = url.indexOf("#", start);
  if (hash !== -1 && hash < end) end = hash;
  return url.slice(start, end);
}
