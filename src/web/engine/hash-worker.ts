/// <reference lib="webworker" />
// The image's checksum on a thread of its own: the assembly worker hands over
// a copy of each batch (transferred) and hears back when it is hashed. With
// SHA-256 checkpoints there are several of these, each hashing whole
// segments from their checkpoints (core/sha256-chain.ts). For the image file's
// verifier they take 'pieces' instead: bytes of up to four segments with the
// state to start each from, hashed four at a time (core/sha256-lanes.ts).
import { type StreamHasher, createWasmHasher } from '../../core/hashing.ts';
import { type Sha256Chain, SegmentHasher } from '../../core/sha256-chain.ts';
import { Sha256Lanes, stateFromHex, stateToHex } from '../../core/sha256-lanes.ts';
import type { HashReply, HashRequest, SegmentPiece } from './messages.ts';

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

/** For 'pieces' and 'finish': four lanes where WebAssembly SIMD runs (null elsewhere), and one plain hasher. */
let pieceHashers: Promise<{ lanes: Sha256Lanes | null; single: SegmentHasher }> | null = null;
const hashersForPieces = () => (pieceHashers ??= Promise.all([Sha256Lanes.create(), SegmentHasher.create()]).then(([lanes, single]) => ({ lanes, single })));

/** Hash each piece from its state: four at a time when they are of one length (about 2x one stream's speed), else one by one. */
async function hashPieces(pieces: readonly SegmentPiece[]): Promise<string[]> {
  const { lanes, single } = await hashersForPieces();
  const states: string[] = [];
  for (let i = 0; i < pieces.length; i += 4) {
    const group = pieces.slice(i, i + 4);
    // Lanes pay for all four: with one piece the plain hasher is faster.
    if (lanes && group.length >= 2 && group.every((p) => p.data.length === group[0].data.length)) {
      group.forEach((p, lane) => lanes.setState(lane, stateFromHex(p.state)));
      lanes.update(group.map((p) => p.data));
      group.forEach((_, lane) => states.push(stateToHex(lanes.getState(lane))));
    } else {
      for (const p of group) {
        single.begin(p.offset, p.offset === 0 ? null : p.state);
        single.update(p.data);
        states.push(single.midstate());
      }
    }
  }
  return states;
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
    if (m.type === 'pieces' || m.type === 'finish') {
      const t = performance.now();
      if (m.type === 'pieces') {
        const states = await hashPieces(m.pieces);
        const ms = performance.now() - t;
        hashing += ms;
        const data = m.pieces.map((p) => p.data);
        post({ type: 'pieces-hashed', states, data, ms }, data.map((d) => d.buffer));
      } else {
        const { single } = await hashersForPieces();
        single.begin(m.offset, m.offset === 0 ? null : m.state);
        single.update(m.data);
        const hex = single.digest();
        hashing += performance.now() - t;
        post({ type: 'digest', hex, ms: hashing });
      }
      return;
    }
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
