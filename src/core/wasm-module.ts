// The parts of the WebAssembly binary format that this engine's hand-assembled
// modules share (pair-roller.ts, sha256-lanes.ts): the opcodes they use, the
// SIMD prefix, and the module's sections. Each module writes its own function
// body; this is the instruction table they both read.

import { unsignedLeb } from './wasm-leb128.ts';

/** WebAssembly 1.0 opcodes and value types. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Ne: 0x47,
  i32LtU: 0x49,
  i32LeU: 0x4d,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  /** The empty block type. */
  void: 0x40,
  i32: 0x7f,
  v128: 0x7b,
} as const;

/** SIMD128 opcodes (written after the 0xfd prefix, as LEB128: see simd()). */
export const SIMD = {
  v128Load: 0x00,
  v128Load8x8U: 0x02,
  v128Store: 0x0b,
  v128Const: 0x0c,
  i8x16Shuffle: 0x0d,
  i16x8Splat: 0x10,
  i32x4Splat: 0x11,
  i16x8ExtractLaneU: 0x19,
  i32x4ExtractLane: 0x1b,
  v128And: 0x4e,
  v128Or: 0x50,
  v128Xor: 0x51,
  v128Bitselect: 0x52,
  i16x8Add: 0x8e,
  i16x8Sub: 0x91,
  i16x8Mul: 0x95,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae,
  i32x4Mul: 0xb5,
} as const;

/** A SIMD instruction: the 0xfd prefix, its opcode, then its immediates (memarg, lanes, constant). */
export const simd = (op: number, ...immediates: number[]) => [0xfd, ...unsignedLeb(op), ...immediates];

/** A section of a module: its id, then its content's length. */
export function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

/** A name (import, export) as the binary format writes it: its length, then its bytes. */
export const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];

/** The magic number and version 1 that every module starts with. */
export const MODULE_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
