import { Workbox } from 'workbox-window';

/**
 * Register the service worker (production builds only). When a new version
 * has been installed and waits, `onUpdate` gets a function that activates it
 * and reloads the page; the page offers it as "Reload to update" and never
 * while a download runs.
 */
export function registerServiceWorker(onUpdate: (activate: () => void) => void): void {
  if (!('serviceWorker' in navigator) || !import.meta.env.PROD) return;
  const wb = new Workbox('/sw.js');
  wb.addEventListener('waiting', () => {
    onUpdate(() => {
      wb.addEventListener('controlling', () => location.reload());
      wb.messageSkipWaiting();
    });
  });
  wb.register().catch((error: unknown) => console.warn('service worker not registered:', error));
}
