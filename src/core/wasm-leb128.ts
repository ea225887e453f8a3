// LEB128, the variable-length integers of the WebAssembly binary format, for
// the modules this engine assembles at load time (pair-roller.ts, sha256-lanes.ts).

/** An unsigned integer (sizes, indexes, counts) as unsigned LEB128 bytes. */
export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** A 32-bit integer (i32.const operands) as signed LEB128 bytes. */
export function signedLeb(value: number): number[] {
  value |= 0;
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
