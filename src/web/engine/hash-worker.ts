/// <reference lib="webworker" />
// The image's checksum on a thread of its own: the assembly worker hands over
// a copy of each batch (transferred) and hears back when it is hashed. With
// SHA-256 checkpoints there are several of these, each hashing whole
// segments from their checkpoints (core/sha256-chain.ts).
import { type StreamHasher, createWasmHasher } from '../../core/hashing.ts';
import { type Sha256Chain, SegmentHasher } from '../../core/sha256-chain.ts';
import type { HashReply, HashRequest } from './messages.ts';

declare const self: DedicatedWorkerGlobalScope;

type Hashing = { kind: 'stream'; hasher: StreamHasher } | { kind: 'segments'; hasher: SegmentHasher; chain: Sha256Chain; segment: number };

/** Set by the first message ('init'). */
let ready: Promise<Hashing> = Promise.reject(new Error('the hash worker was used before init'));
ready.catch(() => {});
let queue = Promise.resolve();
let hashing = 0;
const post = (reply: HashReply) => self.postMessage(reply);

self.onmessage = (e: MessageEvent<HashRequest>) => {
  const m = e.data;
  if (m.type === 'init') {
    const { chain } = m;
    ready = chain
      ? SegmentHasher.create().then((hasher) => ({ kind: 'segments', hasher, chain, segment: -1 }))
      : createWasmHasher(m.algorithm).then((hasher) => ({ kind: 'stream', hasher }));
    return;
  }
  queue = queue.then(async () => {
    const h = await ready;
    if (m.type === 'digest') {
      const hex = h.kind === 'stream' ? await h.hasher.digest() : h.hasher.digest();
      post({ type: 'digest', hex, ms: hashing });
      return;
    }
    const t = performance.now();
    if (h.kind === 'stream') h.hasher.update(m.data);
    else {
      const s = m.segment!;
      if (s !== h.segment) {
        h.segment = s;
        h.hasher.begin(s * h.chain.segmentBytes, s === 0 ? null : h.chain.states[s - 1]);
      }
      h.hasher.update(m.data);
      if (m.endsSegment) post({ type: 'segment', index: s, state: h.hasher.midstate() });
    }
    hashing += performance.now() - t;
    post({ type: 'hashed', bytes: m.data.length });
  });
};
