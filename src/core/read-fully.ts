import type { SeedReader } from './io.ts';

/** Fill `target` from `position`, looping over short reads; returns bytes read (fewer only at the end of the file). */
export async function readFully(reader: SeedReader, position: number, target: Uint8Array): Promise<number> {
  let done = 0;
  while (done < target.length && position + done < reader.size) {
    const n = await reader.readInto(position + done, target.subarray(done));
    if (n <= 0) break;
    done += n;
  }
  return done;
}
