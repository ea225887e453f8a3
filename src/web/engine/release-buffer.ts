/**
 * Give back the memory of a buffer that is done with now, not when the
 * garbage collector gets to it: a buffer transferred into a message that can
 * never be delivered (posted on a port whose other end is closed: the HTML
 * spec's postMessage detaches the transferred buffers first, then drops the
 * message) is freed with that message.
 *
 * Why: the browser's stream of a File hands out every chunk in a new buffer
 * (a BYOB reader, which would reuse one, stalls in Chromium: see
 * file-seed-reader.ts), and the collector of a worker scanning a 4 GB file
 * let tens of MB of read chunks pile up between collections (the page's
 * renderer swung between 155 and 265 MB while scanning a 4 GiB image; with
 * this, it stays at ~160 MB).
 *
 * Only a view over the whole of its buffer is released (a stream's chunk, an
 * array made for one message), never a SharedArrayBuffer; nothing may use it
 * after. Where MessageChannel is missing this does nothing.
 */
let sink: MessagePort | null = null;

export function releaseBuffer(view: ArrayBufferView): void {
  const buffer = view.buffer;
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength || buffer.byteLength === 0) return;
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) return;
  if (typeof MessageChannel === 'undefined') return;
  try {
    if (!sink) {
      const channel = new MessageChannel();
      channel.port2.close();
      sink = channel.port1;
    }
    sink.postMessage(null, [buffer as ArrayBuffer]);
  } catch {
    // (Only memory is at stake: a browser that refuses leaves the buffer to its collector.)
  }
}
