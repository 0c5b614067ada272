/**
 * Small statistics shared by the benchmarks and the measuring scripts.
 *
 * @module
 */

/**
 * The median: the middle value, or the mean of the two middle values of an
 * even count (NaN for none).
 *
 * @param values the samples, in any order
 * @returns the median
 */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const a = s[mid] ?? NaN;
  return s.length % 2 === 1 ? a : ((s[mid - 1] ?? NaN) + a) / 2;
}
