// Initiator Task Tags and the table of outstanding tasks (RFC 7143 §11.2.1.8). An ITT carries the
// session's incarnation in its top byte, so a late answer from a previous connection can never complete a
// task of the current one (as Linux does with its session "age").
import { RESERVED_TAG } from "../pdu/types.ts";

const SEQ_BITS = 24;
const SEQ_MASK = (1 << SEQ_BITS) - 1;

export class TaskTable<T> {
  private readonly tasks = new Map<number, T>();
  private seq = 0;
  private generation = 0;

  get size(): number {
    return this.tasks.size;
  }

  /** A fresh ITT not in use and never RESERVED_TAG. */
  allocate(): number {
    for (;;) {
      this.seq = (this.seq + 1) & SEQ_MASK;
      const itt = ((this.generation << SEQ_BITS) | this.seq) >>> 0;
      if (itt !== RESERVED_TAG && !this.tasks.has(itt)) return itt;
    }
  }

  /** Start a new incarnation (after a reconnect): tags from earlier ones no longer match. */
  nextGeneration(): void {
    this.generation = (this.generation + 1) & 0xff;
  }

  add(itt: number, task: T): void {
    this.tasks.set(itt, task);
  }

  get(itt: number): T | undefined {
    return this.tasks.get(itt);
  }

  delete(itt: number): boolean {
    return this.tasks.delete(itt);
  }

  values(): IterableIterator<T> {
    return this.tasks.values();
  }

  /** Remove and return every task. */
  drain(): T[] {
    const all = [...this.tasks.values()];
    this.tasks.clear();
    return all;
  }
}
