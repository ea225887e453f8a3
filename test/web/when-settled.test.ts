// whenSettled: the page's service worker is registered once nothing has been busy for a while.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { whenSettled } from '../../src/web/when-settled.ts';

/** A stand-in for the controller: a busy flag, and its listeners told of each change. */
function fakeState(busy: boolean) {
  const listeners = new Set<() => void>();
  const state = {
    busy,
    set(value: boolean) {
      state.busy = value;
      for (const l of listeners) l();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    listeners,
  };
  return state;
}

describe('whenSettled', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves only after the state has stayed idle for the whole wait, and then stops listening', async () => {
    const state = fakeState(false);
    let settled = false;
    void whenSettled(state.subscribe, () => state.busy, 2000).then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(1500);
    state.set(true); // a scan starts before the 2 s are up
    await vi.advanceTimersByTimeAsync(10_000);
    expect(settled).toBe(false);
    state.set(false);
    await vi.advanceTimersByTimeAsync(1999);
    expect(settled).toBe(false);
    state.set(false); // a change that leaves it idle does not start the wait again
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    expect(state.listeners.size).toBe(0);
  });

  it('waits while busy from the start', async () => {
    const state = fakeState(true);
    let settled = false;
    void whenSettled(state.subscribe, () => state.busy, 2000).then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled).toBe(false);
    state.set(false);
    await vi.advanceTimersByTimeAsync(2000);
    expect(settled).toBe(true);
  });
});
