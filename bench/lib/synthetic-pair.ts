// A large old/new image pair made of pseudo-random data, written once and
// cached: for measuring memory on images larger than any real corpus here.
import { existsSync } from 'node:fs';
import { open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from '../../src/node/pseudo-random-bytes.ts';

const CHUNK = 1 << 20;
const LAYOUT = 1; // bump when the layout below changes

/**
 * Both images are `size` bytes of 1 MiB chunks of pseudo-random data (every
 * 256th chunk zeros, like an ISO's padding). The new image changes every 32nd
 * chunk (3% to download) and, half-way, inserts 777 bytes, so that everything
 * after is shifted off the block grid and must be found at any offset.
 */
function chunkOf(which: 'old' | 'new', i: number): Uint8Array {
  if (i % 256 === 255) return new Uint8Array(CHUNK);
  const changed = which === 'new' && i % 32 === 7;
  return randomBytes(CHUNK, changed ? 1_000_000 + i : i + 1);
}

async function writeImage(path: string, which: 'old' | 'new', size: number): Promise<void> {
  const file = await open(`${path}.tmp`, 'w');
  try {
    let written = 0;
    for (let i = 0; written < size; i++) {
      const parts = [chunkOf(which, i)];
      if (which === 'new' && i === Math.floor(size / CHUNK / 2)) parts.unshift(randomBytes(777, 999));
      for (const p of parts) {
        const n = Math.min(p.length, size - written);
        await file.write(p, 0, n);
        written += n;
      }
    }
  } finally {
    await file.close();
  }
  await rename(`${path}.tmp`, path);
}

export const syntheticBytesNeeded = (size: number) => 2 * size;

/** old.img and new.img in `dir`, made unless they are there already (same size and layout). */
export async function syntheticPair(dir: string, size: number, log: (s: string) => void): Promise<{ old: string; new: string }> {
  const stamp = join(dir, '.stamp');
  const want = `layout=${LAYOUT} size=${size}`;
  const old = join(dir, 'old.img');
  const image = join(dir, 'new.img');
  if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === want && existsSync(old) && existsSync(image)) return { old, new: image };
  for (const [path, which] of [[old, 'old'], [image, 'new']] as const) {
    log(`writing ${path} (${(size / 2 ** 30).toFixed(2)} GiB)`);
    await writeImage(path, which, size);
  }
  await writeFile(stamp, want);
  return { old, new: image };
}
