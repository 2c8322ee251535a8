/**
 * A queue of (due time, index) driven by a single unref'd timer: 50,000 pending check-ins
 * cost one timer and a binary min-heap instead of 50,000 timers.
 */
export class DueQueue {
  private readonly due: number[] = [];
  private readonly idx: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private stopped = false;

  constructor(private readonly run: (index: number) => void) {}

  add(at: number, index: number): void {
    if (this.stopped) return;
    const d = this.due,
      x = this.idx;
    let c = d.push(at) - 1;
    x.push(index);
    while (c > 0) {
      const p = (c - 1) >> 1;
      if ((d[p] ?? 0) <= at) break;
      d[c] = d[p] ?? 0;
      x[c] = x[p] ?? 0;
      c = p;
    }
    d[c] = at;
    x[c] = index;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pop(): number {
    const d = this.due,
      x = this.idx;
    const top = x[0] ?? 0;
    const lastDue = d.pop() ?? 0,
      lastIdx = x.pop() ?? 0;
    if (d.length > 0) {
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= d.length) break;
        const r = l + 1;
        const m = r < d.length && (d[r] ?? 0) < (d[l] ?? 0) ? r : l;
        if ((d[m] ?? 0) >= lastDue) break;
        d[c] = d[m] ?? 0;
        x[c] = x[m] ?? 0;
        c = m;
      }
      d[c] = lastDue;
      x[c] = lastIdx;
    }
    return top;
  }

  private arm(): void {
    const next = this.due[0];
    if (next === undefined || this.stopped || next >= this.timerDue) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = next;
    this.timer = setTimeout(() => this.drain(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private drain(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = Date.now();
    while (!this.stopped && this.due.length > 0 && (this.due[0] ?? 0) <= now) this.run(this.pop());
    this.arm();
  }
}
