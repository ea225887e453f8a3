/**
 * Where the length fields of a jigdo .template sit (see
 * src/core/jigdo/decode-template.ts), so fuzz tests can write huge values
 * into exactly those places.
 */
export interface LengthField {
  /** What the field is, for messages. */
  name: string;
  /** Byte offset of its little-endian 48-bit value. */
  at: number;
}

const u48 = (b: Uint8Array, at: number) => b[at] + b[at + 1] * 2 ** 8 + b[at + 2] * 2 ** 16 + b[at + 3] * 2 ** 24 + b[at + 4] * 2 ** 32 + b[at + 5] * 2 ** 40;

export function writeU48(b: Uint8Array, at: number, value: number): void {
  for (let i = 0; i < 6; i++) b[at + i] = Math.floor(value / 2 ** (8 * i)) % 256;
}

export const readU48 = u48;

/** Every 48-bit length of a valid template: its parts' lengths, the DESC lengths, and each DESC entry's length. */
export function templateLengthFields(bytes: Uint8Array): LengthField[] {
  const fields: LengthField[] = [{ name: 'trailing DESC length', at: bytes.length - 6 }];
  const descStart = bytes.length - u48(bytes, bytes.length - 6);
  fields.push({ name: 'DESC length', at: descStart + 4 });
  let p = descStart + 10;
  while (p < bytes.length - 6) {
    const type = bytes[p];
    const name = type === 2 ? 'data entry length' : type === 5 || type === 8 ? 'image length' : 'file entry length';
    fields.push({ name, at: p + 1 });
    p += 1 + ({ 2: 6, 5: 26, 8: 42, 6: 30, 9: 46 } as Record<number, number>)[type];
  }
  // Parts start after the three header lines.
  let q = 0;
  for (let i = 0; i < 3; i++) q = bytes.indexOf(0x0a, q) + 1;
  while (q < descStart) {
    fields.push({ name: 'part length', at: q + 4 }, { name: 'part uncompressed length', at: q + 10 });
    q += u48(bytes, q + 4);
  }
  return fields;
}
