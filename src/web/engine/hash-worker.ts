/// <reference lib="webworker" />
// The image's checksum on a thread of its own: the assembly worker hands over
// a copy of each batch (transferred) and hears back when it is hashed. With
// SHA-256 checkpoints there are several of these, each hashing whole
// segments from their checkpoints (core/sha256-chain.ts).
import { type StreamHasher, createWasmHasher } from '../../core/hashing.ts';
import { type Sha256Chain, SegmentHasher } from '../../core/sha256-chain.ts';
import type { HashReply, HashRequest } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

/**
 * Segments may come interleaved (the image file's verifier hashes each one as
 * far as its bytes are final): the state of a segment set aside is kept in
 * `paused` and taken up again where it stopped.
 */
type Hashing =
  | { kind: 'stream'; hasher: StreamHasher }
  | { kind: 'segments'; hasher: SegmentHasher; chain: Sha256Chain; segment: number; at: number; paused: Map<number, { at: number; state: string }> };

/** Make segment `s` the one being hashed. */
function switchTo(h: Extract<Hashing, { kind: 'segments' }>, s: number): void {
  if (s === h.segment) return;
  if (h.segment >= 0) h.paused.set(h.segment, { at: h.at, state: h.hasher.midstate() });
  const paused = h.paused.get(s);
  h.paused.delete(s);
  h.segment = s;
  h.at = paused ? paused.at : s * h.chain.segmentBytes;
  h.hasher.begin(h.at, paused ? paused.state : s === 0 ? null : h.chain.states[s - 1]);
}

/** Set by the first message ('init'). */
let ready: Promise<Hashing> = Promise.reject(new Error('the hash worker was used before init'));
ready.catch(() => {});
let queue = Promise.resolve();
let hashing = 0;
const post = (reply: HashReply, transfer: Transferable[] = []) => self.postMessage(reply, transfer);

self.onmessage = (e: MessageEvent<HashRequest>) => {
  const m = e.data;
  if (m.type === 'init') {
    const { chain } = m;
    ready = chain
      ? SegmentHasher.create().then((hasher) => ({ kind: 'segments', hasher, chain, segment: -1, at: 0, paused: new Map() }))
      : createWasmHasher(m.algorithm).then((hasher) => ({ kind: 'stream', hasher }));
    return;
  }
  queue = queue.then(async () => {
    const h = await ready;
    if (m.type === 'digest') {
      if (h.kind === 'segments' && m.segment !== undefined) switchTo(h, m.segment);
      const hex = h.kind === 'stream' ? await h.hasher.digest() : h.hasher.digest();
      post({ type: 'digest', hex, ms: hashing });
      return;
    }
    const t = performance.now();
    if (h.kind === 'stream') h.hasher.update(m.data);
    else {
      const s = m.segment!;
      switchTo(h, s);
      h.hasher.update(m.data);
      h.at += m.data.length;
      if (m.endsSegment) post({ type: 'segment', index: s, state: h.hasher.midstate() });
    }
    hashing += performance.now() - t;
    post({ type: 'hashed', bytes: m.data.length, data: m.data }, [m.data.buffer]);
  }).catch((error: unknown) => {
    // Said once; the queue then stays failed, so nothing after it is hashed as if it were fine.
    post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    queue = new Promise(() => {});
  });
};
