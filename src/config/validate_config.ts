/**
 * Validation of a configuration against the option table, shared by the
 * command line and by `createServer()`, so the library refuses exactly what
 * the CLI refuses.
 *
 * @module
 */
import {
  acceptedRange,
  type Config,
  DEFAULT_CONFIG,
  OPTIONS,
  type OptionSpec,
} from "./options.ts";

/**
 * Says what is wrong with a value of an option, if anything.
 *
 * @param option The option.
 * @param value The value, already of the option's JavaScript type or not.
 * @returns `undefined` when the value is acceptable; else `"type"` when it is
 * of the wrong type, or a description of the problem.
 */
export function checkValue(
  option: OptionSpec,
  value: unknown,
): "type" | string | undefined {
  switch (option.kind) {
    case "boolean":
      return typeof value === "boolean" ? undefined : "type";
    case "string":
      if (typeof value !== "string") return "type";
      return value === "" ? undefined : option.check?.(value);
    case "list":
      if (!Array.isArray(value)) return "type";
      for (const entry of value) {
        if (typeof entry !== "string") return "type";
        const problem = option.check?.(entry);
        if (problem !== undefined) return problem;
      }
      return undefined;
    default: {
      if (typeof value !== "number") return "type";
      const { min = 0, max = Number.MAX_SAFE_INTEGER } = option;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        return `${value} is out of range (${acceptedRange(option)})`;
      }
      return undefined;
    }
  }
}

/**
 * Fills in defaults and checks every field against the option table.
 *
 * @param overrides The fields to set; absent or `undefined` ones keep their default.
 * @returns The complete configuration.
 * @throws {TypeError} When a field has the wrong type, is unknown, or `cert`
 * and `key` are not given together.
 * @throws {RangeError} When a number is out of range or an entry is invalid.
 *
 * @example Usage
 * ```ts
 * import { validateConfig } from "./validate_config.ts";
 * validateConfig({ port: 0 }).port; // 0
 * ```
 */
export function validateConfig(overrides: Partial<Config> = {}): Config {
  const config = { ...DEFAULT_CONFIG } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const option = OPTIONS.find((o) => o.key === key);
    if (option === undefined) {
      throw new TypeError(`Unknown option "${key}"`);
    }
    const problem = checkValue(option, value);
    if (problem === "type") {
      throw new TypeError(
        `Invalid option "${key}": expected ${acceptedRange(option)}, got ${
          JSON.stringify(value)
        }`,
      );
    }
    if (problem !== undefined) {
      throw new RangeError(`Invalid option "${key}": ${problem}`);
    }
    config[key] = Array.isArray(value) ? [...value] : value;
  }
  const result = config as unknown as Config;
  if ((result.cert === "") !== (result.key === "")) {
    throw new TypeError('Invalid options: "cert" and "key" go together');
  }
  return result;
}
