/**
 * An opt-in report of where one CNI call spends its time. With
 * `COORDINATOR_PHASES` set in the plugin's environment, every {@linkcode mark}
 * records the time since the process started (`performance.now()`), and
 * `main.ts` prints one line `PHASES {"name": ms, ...}` on stderr when the call
 * ends (stderr is the plugin's log channel; stdout keeps the one CNI answer).
 * Unset, a mark is one test of a constant: nothing is recorded or printed.
 * `deno task bench` sets it on its timed calls and reports the phases.
 *
 * The marks live on `globalThis` (under a registered symbol), not in this
 * module: the bundle is several files (tools/lib/bundle.ts) and each file that
 * imports this module holds its own copy of it; one list serves them all.
 *
 * @example
 * ```ts
 * import { mark, phaseReport } from "./phases.ts";
 * mark("parsed");
 * if (Deno.env.get("COORDINATOR_PHASES") === undefined && phaseReport() !== undefined) {
 *   throw new Error("a report without the variable");
 * }
 * ```
 *
 * @module
 */

/** The variable that turns the report on. */
export const PHASES_ENV = "COORDINATOR_PHASES";

const ON = Deno.env.get(PHASES_ENV) !== undefined;
const MARKS = Symbol.for("coordinator.phases");
const marks: [string, number][] = ((globalThis as { [MARKS]?: [string, number][] })[MARKS] ??= []);

/**
 * Record that a phase ended now (only with {@linkcode PHASES_ENV} set).
 *
 * @param name the phase
 */
export function mark(name: string): void {
  if (ON) marks.push([name, performance.now()]);
}

/**
 * The report line, or undefined when the report is off.
 *
 * @returns `PHASES {"<phase>": <ms since the process started>, ...}`
 */
export function phaseReport(): string | undefined {
  if (!ON) return undefined;
  const out: Record<string, number> = {};
  for (const [name, t] of marks) out[name] = Math.round(t * 100) / 100;
  return `PHASES ${JSON.stringify(out)}`;
}
