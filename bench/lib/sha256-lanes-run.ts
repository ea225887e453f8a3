// The measurement of bench/sha256-lanes.ts, run in Node and (bundled) in Chromium:
// one core hashing four 32 MiB segments from their checkpoints, one stream at a
// time (hash-wasm, and a native reference) or four at once (Sha256Lanes).
import { createSHA256 } from 'hash-wasm';
import { SegmentHasher } from '../../src/core/sha256-chain.ts';
import { SHA256_INITIAL_STATE, type ScheduleVariant, Sha256Lanes, stateToHex } from '../../src/core/sha256-lanes.ts';

export interface LanesBenchOptions {
  segmentBytes: number;
  runs: number;
  variants: readonly ScheduleVariant[];
}

/** MB/s of each run, per hasher; "native" is omitted where there is none. */
export type LanesBenchResult = Record<string, number[]>;

/** A hasher of whole segments, one after another: returns nothing, the work is the point. */
type NativeHash = (segment: Uint8Array) => void | Promise<void>;

function segments(count: number, bytes: number): Uint8Array[] {
  return Array.from({ length: count }, (_, s) => {
    const out = new Uint8Array(bytes);
    const words = new Uint32Array(out.buffer);
    let x = 0x9e3779b9 ^ (s + 1);
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    return out;
  });
}

const BATCH = 16 << 20; // the page hands its hash workers 16 MiB at a time

export async function runLanesBench(options: LanesBenchOptions, native?: { name: string; hash: NativeHash }): Promise<LanesBenchResult> {
  const data = segments(4, options.segmentBytes);
  const total = 4 * options.segmentBytes;
  const hashWasm = await createSHA256();
  const lanes: Record<string, Sha256Lanes> = {};
  for (const variant of options.variants) {
    const l = await Sha256Lanes.create(variant);
    if (!l) throw new Error('WebAssembly SIMD is not available here');
    lanes[variant] = l;
  }
  const cases: Record<string, () => void | Promise<void>> = {
    'hash-wasm (1 stream)': () => {
      for (const segment of data) {
        hashWasm.init();
        for (let at = 0; at < segment.length; at += BATCH) hashWasm.update(segment.subarray(at, at + BATCH));
        hashWasm.save();
      }
    },
  };
  for (const [variant, l] of Object.entries(lanes)) {
    cases[`Sha256Lanes, 4 lanes (schedule in ${variant})`] = () => {
      for (let at = 0; at < options.segmentBytes; at += BATCH) l.update(data.map((segment) => segment.subarray(at, at + BATCH)));
    };
  }
  if (native) {
    cases[native.name] = async () => {
      for (const segment of data) await native.hash(segment);
    };
  }
  const result: LanesBenchResult = {};
  for (const name of Object.keys(cases)) result[name] = [];
  // One warm-up round (V8 tiers the WebAssembly up to TurboFan while it runs), then the cases in turn, runs times.
  for (let run = -1; run < options.runs; run++) {
    for (const [name, hash] of Object.entries(cases)) {
      const start = performance.now();
      await hash();
      const seconds = (performance.now() - start) / 1000;
      if (run >= 0) result[name].push(total / 1e6 / seconds);
    }
  }
  // Here too (in Chromium as well as in Node), each lane must end where hash-wasm does.
  const hasher = await SegmentHasher.create();
  const want = data.map((segment) => {
    hasher.begin(0, null);
    hasher.update(segment);
    return hasher.midstate();
  });
  for (const [variant, l] of Object.entries(lanes)) {
    for (let lane = 0; lane < 4; lane++) l.setState(lane, SHA256_INITIAL_STATE);
    for (let at = 0; at < options.segmentBytes; at += BATCH) l.update(data.map((segment) => segment.subarray(at, at + BATCH)));
    const got = [0, 1, 2, 3].map((lane) => stateToHex(l.getState(lane)));
    if (got.join() !== want.join()) throw new Error(`Sha256Lanes (${variant}) disagrees with hash-wasm: ${got.join()} != ${want.join()}`);
  }
  return result;
}
