/**
 * Reads an ONNX model's graph inputs, outputs and initializer sizes straight from the protobuf,
 * without creating an ONNX Runtime session: import validation then costs one file read instead
 * of a model load. Only the few fields needed are decoded; everything else is skipped by length.
 *
 * Field numbers from onnx.proto: ModelProto.graph = 7; GraphProto.initializer = 5,
 * input = 11, output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
 * Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1,
 * dim_param = 2; TensorProto.dims = 1, data_type = 2, name = 8.
 */
import fs from 'node:fs/promises';

export interface OnnxValueInfo {
  name: string;
  /** ONNX TensorProto.DataType (1 = float32, 10 = float16, 7 = int64). */
  elemType: number;
  /** Fixed sizes as numbers, symbolic ones as their names. */
  shape: Array<number | string>;
}

export interface OnnxSignature {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Elements over all initializers (weights stored in the graph or as external data). */
  initializerElements: number;
}

/** ONNX TensorProto.DataType → ONNX Runtime's tensor type names. */
const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export function elemTypeName(elemType: number): string {
  return ELEM_TYPES[elemType] ?? `type${elemType}`;
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error('malformed varint');
  }
  /** Returns [field, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new Error('truncated field');
    this.pos += len;
    return [start, start + len];
  }
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw new Error(`unsupported protobuf wire type ${wire}`);
    }
  }
  sub([start, end]: [number, number]): Reader {
    return new Reader(this.buf, start, end);
  }
  text([start, end]: [number, number]): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start).toString('utf8');
  }
}

function readDim(r: Reader): number | string {
  let value: number | string = '?';
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) value = r.varint();
    else if (f === 2 && w === 2) value = r.text(r.bytes());
    else r.skip(w);
  }
  return value;
}

function readTensorType(r: Reader, out: OnnxValueInfo): void {
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) out.elemType = r.varint();
    else if (f === 2 && w === 2) {
      const shape = r.sub(r.bytes());
      while (!shape.done()) {
        const [sf, sw] = shape.tag();
        if (sf === 1 && sw === 2) out.shape.push(readDim(shape.sub(shape.bytes())));
        else shape.skip(sw);
      }
    } else r.skip(w);
  }
}

function readValueInfo(r: Reader): OnnxValueInfo {
  const out: OnnxValueInfo = { name: '', elemType: 0, shape: [] };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) out.name = r.text(r.bytes());
    else if (f === 2 && w === 2) {
      const type = r.sub(r.bytes());
      while (!type.done()) {
        const [tf, tw] = type.tag();
        if (tf === 1 && tw === 2) readTensorType(type.sub(type.bytes()), out);
        else type.skip(tw);
      }
    } else r.skip(w);
  }
  return out;
}

function readInitializer(r: Reader): { name: string; elements: number } {
  let n = 1;
  let name = '';
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) n *= r.varint();
    else if (f === 1 && w === 2) {
      const packed = r.sub(r.bytes());
      while (!packed.done()) n *= packed.varint();
    } else if (f === 8 && w === 2) name = r.text(r.bytes());
    else r.skip(w);
  }
  return { name, elements: n };
}

export function parseOnnxSignature(buf: Uint8Array): OnnxSignature {
  const model = new Reader(buf);
  const sig: OnnxSignature = { inputs: [], outputs: [], initializerElements: 0 };
  let sawGraph = false;
  const initializers = new Set<string>();
  while (!model.done()) {
    const [f, w] = model.tag();
    if (f !== 7 || w !== 2) {
      model.skip(w);
      continue;
    }
    sawGraph = true;
    const graph = model.sub(model.bytes());
    while (!graph.done()) {
      const [gf, gw] = graph.tag();
      if (gf === 11 && gw === 2) sig.inputs.push(readValueInfo(graph.sub(graph.bytes())));
      else if (gf === 12 && gw === 2) sig.outputs.push(readValueInfo(graph.sub(graph.bytes())));
      else if (gf === 5 && gw === 2) {
        const init = readInitializer(graph.sub(graph.bytes()));
        sig.initializerElements += init.elements;
        initializers.add(init.name);
      } else graph.skip(gw);
    }
  }
  if (!sawGraph) throw new Error('no graph found (not an ONNX model)');
  // Exports before IR 4 list initializers among the inputs; ONNX Runtime does not feed them.
  sig.inputs = sig.inputs.filter((i) => !initializers.has(i.name));
  return sig;
}

export async function readOnnxSignature(file: string): Promise<OnnxSignature> {
  const buf = await fs.readFile(file);
  return parseOnnxSignature(buf);
}
