// CPU time and memory of this process over a measured window, for `iscsi bench`: CPU from getrusage (all
// threads: JS, GC, JIT), resident set size sampled on a timer, peak RSS from the kernel's high-water mark.

export interface ResourceReport {
  userSeconds: number;
  systemSeconds: number;
  /** The kernel's high-water mark for this process's RSS (whole life, not just the window). */
  peakRssBytes: number;
  /** RSS when the window opened and when it closed: a steady run keeps these close. */
  rssStartBytes: number;
  rssEndBytes: number;
  /** Up to `MAX_POINTS` RSS samples spread evenly over the window, oldest first. */
  rssSamplesBytes: number[];
}

const MAX_POINTS = 20;

export class ResourceSampler {
  private cpu0: NodeJS.CpuUsage | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private samples: number[] = [];

  constructor(private readonly intervalMs = 250) {}

  start(): void {
    this.samples = [process.memoryUsage.rss()];
    this.cpu0 = process.cpuUsage();
    this.timer = setInterval(() => this.samples.push(process.memoryUsage.rss()), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): ResourceReport {
    const cpu = process.cpuUsage(this.cpu0);
    clearInterval(this.timer);
    this.samples.push(process.memoryUsage.rss());
    const s = this.samples;
    // Node and Bun report maxRSS in KiB on every platform.
    const peak = Math.max(process.resourceUsage().maxRSS * 1024, ...s);
    const step = Math.max(1, (s.length - 1) / (MAX_POINTS - 1));
    const points: number[] = [];
    for (let i = 0; Math.round(i) < s.length && points.length < MAX_POINTS; i += step) points.push(s[Math.round(i)]!);
    if (points[points.length - 1] !== s[s.length - 1]) points[points.length - 1] = s[s.length - 1]!;
    return {
      userSeconds: cpu.user / 1e6,
      systemSeconds: cpu.system / 1e6,
      peakRssBytes: peak,
      rssStartBytes: s[0]!,
      rssEndBytes: s[s.length - 1]!,
      rssSamplesBytes: points,
    };
  }
}
