/**
 * A one-node ONNX graph (Y = A × B, both inputs, symbolic shapes) written as protobuf bytes by
 * hand, so the benchmark can measure the dense matmul rate ONNX Runtime reaches on this machine
 * without shipping a second model file.
 */

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Length-delimited field (wire type 2). */
function bytesField(field: number, payload: number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
}

function stringField(field: number, s: string): number[] {
  return bytesField(field, [...new TextEncoder().encode(s)]);
}

/** Varint field (wire type 0). */
function intField(field: number, n: number): number[] {
  return [...varint(field << 3), ...varint(n)];
}

const FLOAT = 1;

function valueInfo(name: string, dims: string[]): number[] {
  const shape = dims.flatMap((d) => bytesField(1, stringField(2, d))); // Dimension.dim_param
  const tensorType = [...intField(1, FLOAT), ...bytesField(2, shape)];
  const type = bytesField(1, tensorType); // TypeProto.tensor_type
  return [...stringField(1, name), ...bytesField(2, type)];
}

export function matmulModelBytes(): Uint8Array {
  const node = [
    ...stringField(1, 'A'),
    ...stringField(1, 'B'),
    ...stringField(2, 'Y'),
    ...stringField(3, 'mm'),
    ...stringField(4, 'MatMul'),
  ];
  const graph = [
    ...bytesField(1, node),
    ...stringField(2, 'matmul'),
    ...bytesField(11, valueInfo('A', ['M', 'K'])),
    ...bytesField(11, valueInfo('B', ['K', 'N'])),
    ...bytesField(12, valueInfo('Y', ['M', 'N'])),
  ];
  const model = [
    ...intField(1, 8), // ir_version
    ...stringField(2, 'orchard-bench'),
    ...bytesField(7, graph),
    ...bytesField(8, [...stringField(1, ''), ...intField(2, 17)]), // opset_import
  ];
  return Uint8Array.from(model);
}
