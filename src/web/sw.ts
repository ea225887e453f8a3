/// <reference lib="webworker" />
// The service worker: the app shell, its workers and its WebAssembly (inlined
// in the scripts) are precached, so after one visit the page opens without a
// network. Only those files are answered from the cache: every other request,
// mirror range requests included, goes to the network untouched (the Cache
// API refuses 206 answers anyway).
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | { url: string; revision: string | null })[] };

cleanupOutdatedCaches();
// The page is opened as /?manifest=URL: serve index.html whatever the query.
precacheAndRoute(self.__WB_MANIFEST, { ignoreURLParametersMatching: [/.*/] });

// A new version waits until the page says so ("reload to update"), never mid-download.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
