/**
 * Debounced, cancellable search for a text box: only the newest query's answer is shown.
 *
 * Each call to `update` restarts the debounce timer; when it fires, the previous request is
 * cancelled and a new one is sent with the next sequence number. An answer whose sequence
 * number is no longer the newest is dropped, whether or not the cancellation reached the
 * server in time. Pure: timers and the request function are injected, so tests drive it.
 */

/** A minimal cancellation handle, shaped like vscode.CancellationTokenSource. */
export interface Cancellable {
  cancel(): void;
  dispose(): void;
}

export interface SearchSessionDeps<R> {
  /** Sends the query; `signal` is a cancellation handle owned by the session. */
  search(query: string, signal: Cancellable): Promise<R>;
  newCancellable(): Cancellable;
  /** Called with the newest query's answer only. */
  onResult(query: string, result: R, elapsedMs: number): void;
  onError(query: string, error: unknown): void;
  /** True while a request for the newest query is outstanding (or debouncing). */
  onBusy(busy: boolean): void;
  /** Called instead of searching when the query is blank. */
  onEmpty(): void;
  delayMs: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
}

export class SearchSession<R> {
  private seq = 0;
  private timer: unknown = undefined;
  private inFlight: Cancellable | undefined;
  private disposed = false;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly now: () => number;

  constructor(private readonly deps: SearchSessionDeps<R>) {
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.now = deps.now ?? (() => Date.now());
  }

  /** The text changed: search for it after the debounce delay. */
  update(query: string): void {
    if (this.disposed) {
      return;
    }
    const seq = ++this.seq;
    this.cancelPending();
    if (query.trim() === '') {
      this.deps.onBusy(false);
      this.deps.onEmpty();
      return;
    }
    this.deps.onBusy(true);
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      void this.run(seq, query);
    }, this.deps.delayMs);
  }

  /** Search now, without waiting for the debounce delay (e.g. to refresh partial results). */
  refresh(query: string): void {
    if (this.disposed || query.trim() === '') {
      return;
    }
    const seq = ++this.seq;
    this.cancelPending();
    this.deps.onBusy(true);
    void this.run(seq, query);
  }

  dispose(): void {
    this.disposed = true;
    this.seq++;
    this.cancelPending();
  }

  private cancelPending(): void {
    if (this.timer !== undefined) {
      this.clearTimer(this.timer);
      this.timer = undefined;
    }
    if (this.inFlight !== undefined) {
      this.inFlight.cancel();
      this.inFlight.dispose();
      this.inFlight = undefined;
    }
  }

  private async run(seq: number, query: string): Promise<void> {
    const signal = this.deps.newCancellable();
    this.inFlight = signal;
    const started = this.now();
    try {
      const result = await this.deps.search(query, signal);
      if (seq === this.seq && !this.disposed) {
        this.deps.onResult(query, result, this.now() - started);
      }
    } catch (error) {
      if (seq === this.seq && !this.disposed) {
        this.deps.onError(query, error);
      }
    } finally {
      if (this.inFlight === signal) {
        this.inFlight = undefined;
        signal.dispose();
      }
      if (seq === this.seq && !this.disposed) {
        this.deps.onBusy(false);
      }
    }
  }
}
