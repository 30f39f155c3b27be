import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SearchSession, type Cancellable } from '../src/search-session';

/** A manual clock and a search whose answers the test releases in any order. */
function harness() {
  const timers: { fn: () => void; at: number; id: number }[] = [];
  let now = 0;
  let nextId = 1;
  const pending = new Map<string, { resolve: (v: string) => void; reject: (e: unknown) => void }>();
  const cancelled: string[] = [];
  const shown: string[] = [];
  const errors: string[] = [];
  const busy: boolean[] = [];
  let empties = 0;
  const session = new SearchSession<string>({
    delayMs: 100,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.push({ fn, at: now + ms, id });
      return id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    now: () => now,
    newCancellable: (): Cancellable => ({ cancel() {}, dispose() {} }),
    search: (query, signal) =>
      new Promise<string>((resolve, reject) => {
        const original = signal.cancel;
        signal.cancel = () => {
          cancelled.push(query);
          original.call(signal);
        };
        pending.set(query, { resolve, reject });
      }),
    onResult: (query, result) => shown.push(`${query}=${result}`),
    onError: (query) => errors.push(query),
    onBusy: (b) => busy.push(b),
    onEmpty: () => {
      empties++;
    },
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(t), 1);
      t.fn();
    }
  };
  const flush = () => new Promise((r) => setImmediate(r));
  return { session, advance, flush, pending, cancelled, shown, errors, busy, empties: () => empties };
}

test('typing quickly sends one request, after the debounce delay', async () => {
  const h = harness();
  h.session.update('r');
  h.advance(50);
  h.session.update('re');
  h.advance(50);
  h.session.update('retry');
  assert.equal(h.pending.size, 0);
  h.advance(100);
  assert.deepEqual([...h.pending.keys()], ['retry']);
  h.pending.get('retry')?.resolve('A');
  await h.flush();
  assert.deepEqual(h.shown, ['retry=A']);
  assert.equal(h.busy.at(-1), false);
});

test('a stale answer is dropped and its request cancelled', async () => {
  const h = harness();
  h.session.update('retry');
  h.advance(100);
  h.session.update('retry upload');
  assert.deepEqual(h.cancelled, ['retry']);
  h.advance(100);
  h.pending.get('retry upload')?.resolve('new');
  h.pending.get('retry')?.resolve('old'); // arrives late, despite the cancellation
  await h.flush();
  assert.deepEqual(h.shown, ['retry upload=new']);
});

test('errors of stale requests are ignored; the newest one is reported', async () => {
  const h = harness();
  h.session.update('a');
  h.advance(100);
  h.session.update('b');
  h.advance(100);
  h.pending.get('a')?.reject(new Error('cancelled'));
  h.pending.get('b')?.reject(new Error('server died'));
  await h.flush();
  assert.deepEqual(h.errors, ['b']);
});

test('a blank query clears without searching', () => {
  const h = harness();
  h.session.update('  ');
  h.advance(1000);
  assert.equal(h.pending.size, 0);
  assert.equal(h.empties(), 1);
});

test('refresh searches at once; dispose drops everything', async () => {
  const h = harness();
  h.session.refresh('lru cache');
  assert.deepEqual([...h.pending.keys()], ['lru cache']);
  h.session.dispose();
  h.pending.get('lru cache')?.resolve('x');
  await h.flush();
  assert.deepEqual(h.shown, []);
  h.session.update('after dispose');
  h.advance(1000);
  assert.equal(h.pending.size, 1);
});
