import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SegmentHasher } from '../../src/core/sha256-chain.ts';
import { LANE_CHUNK_BYTES, SHA256_INITIAL_STATE, type ScheduleVariant, Sha256Lanes, stateFromHex, stateToHex } from '../../src/core/sha256-lanes.ts';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';
import { bytesToHex } from '../../src/core/hashing.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const randomState = (seed: number) => bytesToHex(randomBytes(32, seed));

async function lanes(variant?: ScheduleVariant): Promise<Sha256Lanes> {
  const l = await Sha256Lanes.create(variant);
  if (!l) throw new Error('WebAssembly SIMD is not available in this Node');
  return l;
}

/** The state after `data`, from `state` at byte `offset`, by hash-wasm (SegmentHasher). */
async function reference(offset: number, state: string | null, data: Uint8Array): Promise<string> {
  const hasher = await SegmentHasher.create();
  hasher.begin(offset, state);
  hasher.update(data);
  return hasher.midstate();
}

describe.each(['locals', 'memory'] as const)('Sha256Lanes (schedule in %s)', (variant) => {
  it('each lane ends in the midstate hash-wasm gives for its own bytes from its own checkpoint', async () => {
    const l = await lanes(variant);
    // lengths around the module's per-lane chunk: one block, a few, one chunk, chunks and a bit
    for (const blocks of [1, 2, 17, LANE_CHUNK_BYTES / 64 - 1, LANE_CHUNK_BYTES / 64, (2 * LANE_CHUNK_BYTES) / 64 + 3]) {
      const length = blocks * 64;
      const starts = [0, 1, 2, 3].map((lane) => ({ offset: 64 * (lane * 1000 + blocks), state: randomState(blocks * 4 + lane + 1) }));
      const data = [0, 1, 2, 3].map((lane) => randomBytes(length, blocks * 10 + lane + 1));
      starts.forEach((s, lane) => l.setState(lane, stateFromHex(s.state)));
      l.update(data);
      for (let lane = 0; lane < 4; lane++) {
        expect(stateToHex(l.getState(lane)), `lane ${lane}, ${blocks} blocks`).toBe(await reference(starts[lane].offset, starts[lane].state, data[lane]));
      }
    }
  });

  it('update in pieces is update of the whole', async () => {
    const l = await lanes(variant);
    const data = [0, 1, 2, 3].map((lane) => randomBytes(64 * 3001, 50 + lane));
    const state = randomState(9);
    for (let lane = 0; lane < 4; lane++) l.setState(lane, stateFromHex(state));
    for (const [from, to] of [[0, 64], [64, 64 * 1000], [64 * 1000, 64 * 1001], [64 * 1001, 64 * 3001]]) l.update(data.map((d) => d.subarray(from, to)));
    for (let lane = 0; lane < 4; lane++) expect(stateToHex(l.getState(lane))).toBe(await reference(64, state, data[lane]));
  });

  it('a lane state finished by hash-wasm gives the SHA-256 of the whole buffer', async () => {
    const l = await lanes(variant);
    const lengths = [64, 1000, 65_536 + 7, 300_001];
    const buffers = lengths.map((n, i) => randomBytes(n, 70 + i));
    for (let lane = 0; lane < 4; lane++) l.setState(lane, SHA256_INITIAL_STATE);
    // Lane L hashes buffer L's whole blocks, fed one common length at a time (null once a buffer has no more).
    const whole = buffers.map((b) => b.length & ~63);
    let at = 0;
    for (const end of [...new Set(whole)].sort((a, b) => a - b)) {
      l.update(buffers.map((b, lane) => (whole[lane] >= end ? b.subarray(at, end) : null)));
      at = end;
    }
    const hasher = await SegmentHasher.create();
    for (let lane = 0; lane < 4; lane++) {
      hasher.begin(whole[lane], stateToHex(l.getState(lane)));
      hasher.update(buffers[lane].subarray(whole[lane]));
      expect(hasher.digest(), `lane ${lane}`).toBe(sha256(buffers[lane]));
    }
  });

  it('lanes do not interfere, and a lane without input keeps its state', async () => {
    const l = await lanes(variant);
    const data = [0, 1, 2, 3].map((lane) => randomBytes(64 * 1500, 90 + lane));
    const states = [0, 1, 2, 3].map((lane) => stateFromHex(randomState(95 + lane)));
    const alone: string[] = [];
    for (let lane = 0; lane < 4; lane++) {
      states.forEach((s, i) => l.setState(i, s));
      const inputs = [null, null, null, null] as (Uint8Array | null)[];
      inputs[lane] = data[lane];
      l.update(inputs);
      alone.push(stateToHex(l.getState(lane)));
      for (let other = 0; other < 4; other++) if (other !== lane) expect(l.getState(other)).toEqual(states[other]);
    }
    states.forEach((s, i) => l.setState(i, s));
    l.update(data);
    expect([0, 1, 2, 3].map((lane) => stateToHex(l.getState(lane)))).toEqual(alone);

    // Fewer than four inputs: the lanes past them keep their states too.
    states.forEach((s, i) => l.setState(i, s));
    l.update([data[0], data[1]]);
    expect(stateToHex(l.getState(0))).toBe(alone[0]);
    expect(stateToHex(l.getState(1))).toBe(alone[1]);
    expect(l.getState(2)).toEqual(states[2]);
    expect(l.getState(3)).toEqual(states[3]);
    l.update([null, null, null, null]);
    l.update([new Uint8Array(0)]);
    expect(l.getState(3)).toEqual(states[3]);
  });
});

describe('Sha256Lanes', () => {
  it('states convert to and from checkpoints, and start at SHA-256 initial value', async () => {
    const hex = randomState(1);
    expect(stateToHex(stateFromHex(hex))).toBe(hex);
    expect(stateToHex(stateFromHex(hex.toUpperCase()))).toBe(hex);
    expect(stateToHex(SHA256_INITIAL_STATE)).toBe(await reference(0, null, new Uint8Array(0)));
    const l = await lanes();
    for (let lane = 0; lane < 4; lane++) expect(Array.from(l.getState(lane))).toEqual(SHA256_INITIAL_STATE);
    expect(() => stateFromHex('abc')).toThrow(/64 hex digits/);
  });

  it('refuses inputs it cannot hash', async () => {
    const l = await lanes();
    const block = new Uint8Array(64);
    expect(() => l.update([block, new Uint8Array(128)])).toThrow(/different lengths/);
    expect(() => l.update([new Uint8Array(65)])).toThrow(/64-byte blocks/);
    expect(() => l.update([block, block, block, block, block])).toThrow(/4 lanes/);
    expect(() => l.setState(4, SHA256_INITIAL_STATE)).toThrow(/no lane 4/);
    expect(() => l.setState(0, [1, 2, 3])).toThrow(/8 words/);
  });
});
