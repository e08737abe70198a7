/**
 * Drops graph outputs a caller never fetches, and the nodes that only fed them, from an ONNX
 * model's bytes. ONNX Runtime runs every node of a graph whatever the caller fetches, so an
 * output nobody reads still costs its whole computation each step: for the runner that keeps its
 * own KV cache, `present` (past ++ new, a copy of the whole past per layer) is such an output.
 *
 * Works on the protobuf wire format directly (ModelProto → GraphProto → NodeProto /
 * ValueInfoProto), copying every other field byte for byte, so nothing else of the model
 * changes. Returns null when it cannot prune safely: tensors stored outside the file (a session
 * built from bytes could not find them), control-flow nodes whose subgraphs read outer values,
 * or anything it does not parse.
 */

interface Field {
  field: number;
  wire: number;
  /** The whole field, tag included: [start, end). */
  start: number;
  end: number;
  /** Length-delimited payload: [dataStart, end). */
  dataStart: number;
  /** Varint value (wire type 0). */
  value: number;
}

class WireError extends Error {}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new WireError('truncated varint');
    const byte = buf[pos++];
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, pos];
    scale *= 128;
  }
  throw new WireError('varint too long');
}

function fields(buf: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let pos = start;
  while (pos < end) {
    const fieldStart = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let dataStart = pos;
    let value = 0;
    if (wire === 0) [value, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [length, afterLength] = readVarint(buf, pos);
      dataStart = afterLength;
      pos = afterLength + length;
    } else throw new WireError(`wire type ${wire}`);
    if (pos > end) throw new WireError('field past the end of its message');
    out.push({ field, wire, start: fieldStart, end: pos, dataStart, value });
  }
  return out;
}

const decoder = new TextDecoder();
const text = (buf: Uint8Array, f: Field): string =>
  decoder.decode(buf.subarray(f.dataStart, f.end));

function encodeVarint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_OUTPUT = 12;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const ATTRIBUTE_GRAPH = 6;
const ATTRIBUTE_GRAPHS = 11;
const VALUE_INFO_NAME = 1;
const TENSOR_DATA_LOCATION = 14;
const EXTERNAL = 1;

export interface PruneResult {
  bytes: Uint8Array;
  removedOutputs: string[];
  removedNodes: number;
}

/** The names of a model's graph outputs, or null when the bytes do not parse as a model. */
export function graphOutputNames(model: Uint8Array): string[] | null {
  try {
    const graph = fields(model, 0, model.length).find((f) => f.field === MODEL_GRAPH);
    if (!graph || graph.wire !== 2) return null;
    return fields(model, graph.dataStart, graph.end)
      .filter((f) => f.field === GRAPH_OUTPUT && f.wire === 2)
      .map((f) => fields(model, f.dataStart, f.end).find((n) => n.field === VALUE_INFO_NAME))
      .map((n) => (n ? text(model, n) : ''));
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}

export function pruneOutputs(model: Uint8Array, drop: ReadonlySet<string>): PruneResult | null {
  try {
    return prune(model, drop);
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}

function prune(model: Uint8Array, drop: ReadonlySet<string>): PruneResult | null {
  const top = fields(model, 0, model.length);
  const graphs = top.filter((f) => f.field === MODEL_GRAPH);
  if (graphs.length !== 1 || graphs[0].wire !== 2) return null;
  const graph = graphs[0];
  const parts = fields(model, graph.dataStart, graph.end);

  const removedOutputs: string[] = [];
  const needed = new Set<string>();
  const dropField = new Set<Field>();
  for (const f of parts) {
    if (f.field === GRAPH_OUTPUT) {
      const name = fields(model, f.dataStart, f.end).find((n) => n.field === VALUE_INFO_NAME);
      const value = name ? text(model, name) : '';
      if (drop.has(value)) {
        removedOutputs.push(value);
        dropField.add(f);
      } else needed.add(value);
    } else if (f.field === GRAPH_INITIALIZER) {
      const location = fields(model, f.dataStart, f.end).find(
        (t) => t.field === TENSOR_DATA_LOCATION,
      );
      if (location?.value === EXTERNAL) return null;
    }
  }
  if (removedOutputs.length === 0) return null;

  // Nodes are stored in topological order (an ONNX requirement): walking back from the kept
  // outputs marks everything they need.
  const nodes = parts.filter((f) => f.field === GRAPH_NODE);
  let removedNodes = 0;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const inputs: string[] = [];
    const outputs: string[] = [];
    for (const n of fields(model, nodes[i].dataStart, nodes[i].end)) {
      if (n.field === NODE_INPUT) inputs.push(text(model, n));
      else if (n.field === NODE_OUTPUT) outputs.push(text(model, n));
      else if (n.field === NODE_OP_TYPE && ['If', 'Loop', 'Scan'].includes(text(model, n)))
        return null;
      else if (n.field === NODE_ATTRIBUTE) {
        const attr = fields(model, n.dataStart, n.end);
        if (attr.some((a) => a.field === ATTRIBUTE_GRAPH || a.field === ATTRIBUTE_GRAPHS))
          return null;
      }
    }
    if (outputs.some((o) => needed.has(o))) {
      for (const x of inputs) if (x !== '') needed.add(x);
    } else {
      dropField.add(nodes[i]);
      removedNodes++;
    }
  }

  // One copy into the result: the graph's kept fields behind a new header, the rest as it was.
  const kept = parts.filter((f) => !dropField.has(f)).map((f) => model.subarray(f.start, f.end));
  const bodyLength = kept.reduce((n, c) => n + c.length, 0);
  const header = Uint8Array.from([
    ...encodeVarint(MODEL_GRAPH * 8 + 2),
    ...encodeVarint(bodyLength),
  ]);
  const bytes = Buffer.concat(
    top.flatMap((f) => (f === graph ? [header, ...kept] : [model.subarray(f.start, f.end)])),
  );
  return { bytes, removedOutputs, removedNodes };
}
