/**
 * Runs a parser with every typed array and ArrayBuffer constructor replaced
 * by one that refuses allocations over a limit and records the largest it
 * made. A parser that trusts a length field allocates what the field claims;
 * refusing (instead of letting a 1 GB allocation succeed slowly, or a 1 TB
 * one fail with a RangeError) makes that show up as a failed case, with the
 * size it asked for. src modules look these globals up at call time, so the
 * swap reaches them; test files run one case at a time, so nothing else sees it.
 */
const CONSTRUCTORS = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int8Array',
  'Uint16Array',
  'Int16Array',
  'Uint32Array',
  'Int32Array',
  'Float32Array',
  'Float64Array',
  'BigUint64Array',
  'BigInt64Array',
] as const;

/** What the guard throws instead of allocating: never a parser's own error. */
export class AllocationRefused extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`allocation of ${bytes} bytes refused (limit ${limit} for this input)`);
  }
}

/** Bytes a constructor call asks for: new X(length), new X(arrayLike); views of an existing buffer allocate nothing. */
function bytesAsked(args: unknown[], bytesPerElement: number): number {
  const [first] = args;
  if (typeof first === 'number') return first * bytesPerElement;
  if (first instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && first instanceof SharedArrayBuffer)) return 0;
  if (first && typeof first === 'object' && 'length' in first && typeof first.length === 'number') return first.length * bytesPerElement;
  return 0;
}

export async function withAllocationLimit<T>(limit: number, run: () => T | Promise<T>): Promise<{ value: T; largest: number } | { error: unknown; largest: number }> {
  const globals = globalThis as unknown as Record<string, unknown>;
  const saved = new Map<string, unknown>();
  let largest = 0;
  for (const name of CONSTRUCTORS) {
    const original = globals[name] as (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number };
    if (typeof original !== 'function') continue;
    saved.set(name, original);
    globals[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        const bytes = bytesAsked(args, target.BYTES_PER_ELEMENT ?? 1);
        if (bytes > limit) throw new AllocationRefused(bytes, limit);
        largest = Math.max(largest, bytes);
        return Reflect.construct(target, args, newTarget === globals[name] ? target : newTarget);
      },
    });
  }
  try {
    return { value: await run(), largest };
  } catch (error) {
    return { error, largest };
  } finally {
    for (const [name, original] of saved) globals[name] = original;
  }
}
