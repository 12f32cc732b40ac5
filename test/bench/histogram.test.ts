// The latency histogram of `iscsi bench`: quantiles within a bucket's width, exact max and mean, flat memory.
import { expect, test } from "bun:test";
import { LatencyHistogram } from "../../src/bench/histogram.ts";

test("quantiles of 1..10000 µs are within 2.2 % of the exact values; max and mean are exact", () => {
  const h = new LatencyHistogram();
  for (let v = 1; v <= 10_000; v++) h.record(v);
  const s = h.summary();
  expect(s.count).toBe(10_000);
  expect(s.maxUs).toBe(10_000);
  expect(s.meanUs).toBeCloseTo(5000.5, 6);
  expect(Math.abs(s.p50Us - 5000) / 5000).toBeLessThan(0.022);
  expect(Math.abs(s.p99Us - 9900) / 9900).toBeLessThan(0.022);
});

test("sub-microsecond values, huge values and an empty histogram", () => {
  const empty = new LatencyHistogram().summary();
  expect(empty).toEqual({ count: 0, meanUs: 0, p50Us: 0, p99Us: 0, maxUs: 0 });
  const h = new LatencyHistogram();
  h.record(0.2);
  h.record(1e12);
  expect(h.quantile(0.5)).toBeLessThan(1);
  expect(h.quantile(1)).toBeLessThanOrEqual(1e12);
  expect(h.summary().maxUs).toBe(1e12);
});

test("recording a million values keeps the same bucket array", () => {
  const h = new LatencyHistogram();
  const counts = (h as unknown as { counts: Float64Array }).counts;
  for (let i = 0; i < 1_000_000; i++) h.record((i % 5000) + 0.5);
  expect((h as unknown as { counts: Float64Array }).counts).toBe(counts);
  expect(h.count).toBe(1_000_000);
});
