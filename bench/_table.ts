/**
 * The result table: one row per figure, both servers and their ratio.
 *
 * @module
 */

/** Which direction of a figure is good. */
export type Better = "higher" | "lower" | "equal";

/** One figure measured on one or both servers. */
export interface Row {
  /** Scenario the figure belongs to. */
  scenario: string;
  /** What was measured. */
  figure: string;
  /** Unit of the values. */
  unit: string;
  /** Which direction is good. */
  better: Better;
  /** Value on the baseline, if measured. */
  baseline?: number;
  /** Value on wsecho, if measured. */
  wsecho?: number;
  /** Flags, CPU use or caveats. */
  note: string;
}

/**
 * Computes wsecho / baseline for a row.
 *
 * @param row The row.
 * @returns The ratio, or `undefined` when a side is missing or the baseline is 0.
 */
export function ratio(row: Row): number | undefined {
  if (row.baseline === undefined || row.wsecho === undefined) return undefined;
  if (row.baseline === 0) return undefined;
  return row.wsecho / row.baseline;
}

/**
 * Formats a number for the table: thousands separators from 100 up, three
 * significant digits below.
 *
 * @param value The number, or `undefined` for a missing figure.
 * @returns The text.
 */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return "—";
  if (Math.abs(value) >= 100) {
    return Math.round(value).toLocaleString("en-US");
  }
  if (value === 0) return "0";
  return value.toPrecision(3).replace(/\.?0+$/, "");
}

/**
 * Renders rows as a fixed-width text table.
 *
 * @param rows The rows.
 * @returns The table, ending with a newline.
 */
export function formatTable(rows: Row[]): string {
  const header = [
    "scenario",
    "figure",
    "unit",
    "baseline",
    "wsecho",
    "ws/base",
    "better",
    "notes",
  ];
  const cells = rows.map((row) => {
    const r = ratio(row);
    return [
      row.scenario,
      row.figure,
      row.unit,
      formatNumber(row.baseline),
      formatNumber(row.wsecho),
      r === undefined ? "—" : r.toFixed(2),
      row.better,
      row.note,
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...cells.map((c) => (c[i] ?? "").length))
  );
  const numeric = new Set([3, 4, 5]);
  const line = (values: string[]) =>
    values.map((value, i) => {
      const width = i === values.length - 1 ? 0 : widths[i] ?? 0;
      return numeric.has(i) ? value.padStart(width) : value.padEnd(width);
    }).join("  ").trimEnd();
  const rule = widths.map((w, i) => "-".repeat(i === widths.length - 1 ? 5 : w))
    .join("  ");
  return [line(header), rule, ...cells.map(line)].join("\n") + "\n";
}
