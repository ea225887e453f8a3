/**
 * Resolves once `isBusy()` has stayed false for `ms` in a row: checked now
 * and whenever `subscribe`'s listener is called (each change of state). The
 * page uses it to install its offline copy (the service worker fetches and
 * compiles the app's scripts again) only when no scan or download needs the
 * cores: on this 2-core machine that install took ~0.3 s of CPU from a run.
 */
export function whenSettled(subscribe: (listener: () => void) => () => void, isBusy: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unsubscribe = () => {};
    const check = () => {
      if (isBusy()) {
        clearTimeout(timer);
        timer = undefined;
      } else if (timer === undefined) {
        timer = setTimeout(() => {
          unsubscribe();
          resolve();
        }, ms);
      }
    };
    unsubscribe = subscribe(check);
    check();
  });
}
