/**
 * Shared by the registry and rollout integration tests: a real service on a free port with a
 * temp ORCHARD_HOME, the official openai client, and ways to break a model copy on purpose.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHIPPED_DIR = path.join(ROOT, 'resources/models');

export async function tempHome(prefix = 'orchard-it-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Offsets of every float32 initializer's raw_data in an ONNX file (ModelProto.graph.initializer). */
export function floatInitializerRanges(buf: Buffer): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const varint = (pos: { p: number }): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos.p++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
  };
  const walk = (
    start: number,
    end: number,
    visit: (field: number, wire: number, s: number, e: number) => void,
  ) => {
    const pos = { p: start };
    while (pos.p < end) {
      const tag = varint(pos);
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire === 0) varint(pos);
      else if (wire === 1) pos.p += 8;
      else if (wire === 5) pos.p += 4;
      else if (wire === 2) {
        const len = varint(pos);
        visit(field, wire, pos.p, pos.p + len);
        pos.p += len;
      } else throw new Error(`wire type ${wire}`);
    }
  };
  walk(0, buf.length, (f, _w, s, e) => {
    if (f !== 7) return;
    walk(s, e, (gf, _gw, gs, ge) => {
      if (gf !== 5) return;
      let dataType = 0;
      let raw: [number, number] | null = null;
      const pos = { p: gs };
      while (pos.p < ge) {
        const tag = varint(pos);
        const field = Math.floor(tag / 8);
        const wire = tag & 7;
        if (wire === 0) {
          const v = varint(pos);
          if (field === 2) dataType = v;
        } else if (wire === 1) pos.p += 8;
        else if (wire === 5) pos.p += 4;
        else {
          const len = varint(pos);
          if (field === 9) raw = [pos.p, pos.p + len];
          pos.p += len;
        }
      }
      if (dataType === 1 && raw) ranges.push(raw);
    });
  });
  return ranges;
}

/** Copies a model folder and fills every float32 weight of its ONNX graph with NaN. */
export async function nanModel(src: string, parent: string, name = 'broken'): Promise<string> {
  const dir = path.join(parent, name);
  await fs.cp(src, dir, { recursive: true });
  const file = path.join(dir, 'onnx/model.onnx');
  const buf = await fs.readFile(file);
  const ranges = floatInitializerRanges(buf);
  if (ranges.length === 0) throw new Error('no float32 initializers found to damage');
  for (const [s, e] of ranges) {
    for (let o = s; o + 4 <= e; o += 4) buf.writeUInt32LE(0x7fc00000, o);
  }
  await fs.writeFile(file, buf);
  return dir;
}
