/**
 * Checks that a folder is a model the engine can load — config.json with Llama-like fields,
 * tokenizer.json, tokenizer_config.json and an ONNX decoder-with-past graph — and summarises
 * it for the registry. Walks the folder without following links: a symlink or a path that
 * leaves the folder is refused, so an import can never copy files from elsewhere.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import {
  parseGraphSignature,
  readModelConfig,
  type GraphSignature,
  type ModelConfig,
} from '../engine/model-config.js';
import { InvalidRequestError } from '../shared/errors.js';
import {
  elemTypeName,
  readOnnxSignature,
  type OnnxSignature,
  type OnnxValueInfo,
} from './onnx-signature.js';

export interface FolderFile {
  /** Relative, forward slashes. */
  path: string;
  abs: string;
  sizeBytes: number;
  mtimeMs: number;
}

export interface Architecture {
  modelType: string;
  architectures: string[];
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  kvDtype: 'float32' | 'float16';
}

export interface ModelFolderSummary {
  files: FolderFile[];
  sizeBytes: number;
  /** The ONNX graph plus its external data files: what loading puts in memory. */
  weightsBytes: number;
  onnxFile: string;
  architecture: Architecture;
  numParams: number | null;
  contextLength: number;
}

const MAX_FILES = 10_000;

function notAModel(dir: string, why: string): InvalidRequestError {
  return new InvalidRequestError(
    `'${dir}' is not a model folder Orchard can load: ${why}`,
    'path',
    'invalid_model',
  );
}

/** Lists regular files under dir. Dot-entries (.git, .cache, .DS_Store) are not model files. */
export async function scanModelFolder(dir: string): Promise<FolderFile[]> {
  let root: string;
  try {
    const st = await fs.lstat(dir);
    if (st.isSymbolicLink()) throw notAModel(dir, 'the folder itself is a symbolic link');
    if (!st.isDirectory()) throw notAModel(dir, 'it is not a folder');
    root = path.resolve(dir);
  } catch (err) {
    if (err instanceof InvalidRequestError) throw err;
    throw new InvalidRequestError(
      `cannot read '${dir}': ${(err as Error).message}`,
      'path',
      'invalid_model',
    );
  }
  const out: FolderFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const relPath = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(root, relPath);
      if (path.relative(root, abs).startsWith('..'))
        throw notAModel(dir, `'${relPath}' leaves the folder`);
      const st = await fs.lstat(abs);
      if (st.isSymbolicLink())
        throw notAModel(dir, `'${relPath}' is a symbolic link (links are refused)`);
      if (st.isDirectory()) await walk(relPath);
      else if (st.isFile()) {
        out.push({ path: relPath, abs, sizeBytes: st.size, mtimeMs: st.mtimeMs });
        if (out.length > MAX_FILES) throw notAModel(dir, `more than ${MAX_FILES} files`);
      } else throw notAModel(dir, `'${relPath}' is not a regular file`);
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

async function readJsonObject(
  dir: string,
  files: FolderFile[],
  name: string,
): Promise<Record<string, unknown>> {
  const f = files.find((x) => x.path === name);
  if (!f) throw notAModel(dir, `${name} is missing`);
  try {
    const v: unknown = JSON.parse(await fs.readFile(f.abs, 'utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw notAModel(dir, `${name} is not valid JSON (${(err as Error).message})`);
  }
}

/** The engine's layout: onnx/model.onnx, else model.onnx at the top. */
export const ENGINE_ONNX_PATHS = ['onnx/model.onnx', 'model.onnx'] as const;

/**
 * Which ONNX file of a Hub repository to fetch: `preferred` or a glob-like pattern when given,
 * else the engine's own layout, else the only one there is. Null when the choice is ambiguous.
 */
export function chooseOnnxFile(paths: readonly string[], pattern?: string): string | null {
  const onnx = paths.filter((p) => p.endsWith('.onnx'));
  if (pattern) {
    const re = globToRegExp(pattern);
    const hits = onnx.filter((p) => re.test(p));
    return hits.length === 1 ? hits[0] : (hits.find((p) => p === 'onnx/model.onnx') ?? null);
  }
  for (const p of ENGINE_ONNX_PATHS) if (onnx.includes(p)) return p;
  return onnx.length === 1 ? onnx[0] : null;
}

/** `*` within a path segment, `**` across segments, `?` one character; otherwise literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The parsed protobuf signature in ONNX Runtime's metadata shape, for the engine's own check. */
function asValueMetadata(values: OnnxValueInfo[]): InferenceSession.ValueMetadata[] {
  return values.map(
    (v) =>
      ({
        name: v.name,
        isTensor: true,
        type: elemTypeName(v.elemType),
        shape: v.shape,
      }) as unknown as InferenceSession.ValueMetadata,
  );
}

export async function validateModelFolder(
  dir: string,
  files: FolderFile[],
): Promise<ModelFolderSummary> {
  await readJsonObject(dir, files, 'config.json');
  await readJsonObject(dir, files, 'tokenizer_config.json');
  const tok = await readJsonObject(dir, files, 'tokenizer.json');
  if (typeof tok.model !== 'object' || tok.model === null)
    throw notAModel(dir, 'tokenizer.json has no "model" section');

  // The engine's own reader: whatever it would reject at load time is rejected here.
  let cfg: ModelConfig;
  try {
    cfg = await readModelConfig(dir);
  } catch (err) {
    throw notAModel(dir, (err as Error).message.replace(path.resolve(dir) + path.sep, ''));
  }
  const onnxFile = path.relative(path.resolve(dir), cfg.onnxPath).split(path.sep).join('/');
  if (!files.some((f) => f.path === onnxFile))
    throw notAModel(dir, `${onnxFile} is not a regular file`);

  let sig: OnnxSignature;
  try {
    sig = await readOnnxSignature(cfg.onnxPath);
  } catch (err) {
    throw notAModel(dir, `${onnxFile} is not a readable ONNX model (${(err as Error).message})`);
  }
  let graph: GraphSignature;
  try {
    graph = parseGraphSignature(asValueMetadata(sig.inputs), asValueMetadata(sig.outputs), {
      numLayers: cfg.numLayers,
      numKvHeads: cfg.numKvHeads,
      headDim: cfg.headDim,
    });
  } catch (err) {
    throw notAModel(dir, (err as Error).message);
  }

  // External data sits next to the graph (model.onnx_data, model.onnx.data, model.onnx_data_1…).
  const weightsBytes = files
    .filter(
      (f) =>
        f.path === onnxFile ||
        f.path.startsWith(onnxFile + '_data') ||
        f.path.startsWith(onnxFile + '.data'),
    )
    .reduce((s, f) => s + f.sizeBytes, 0);
  const config = await readJsonObject(dir, files, 'config.json');

  return {
    files,
    sizeBytes: files.reduce((s, f) => s + f.sizeBytes, 0),
    weightsBytes,
    onnxFile,
    architecture: {
      modelType: cfg.modelType,
      architectures: Array.isArray(config.architectures)
        ? config.architectures.filter((a): a is string => typeof a === 'string')
        : [],
      numLayers: cfg.numLayers,
      hiddenSize: cfg.hiddenSize,
      numHeads: cfg.numHeads,
      numKvHeads: cfg.numKvHeads,
      headDim: cfg.headDim,
      vocabSize: cfg.vocabSize,
      kvDtype: graph.kvDtype,
    },
    numParams: cfg.numParams ?? (sig.initializerElements > 0 ? sig.initializerElements : null),
    contextLength: cfg.contextLength,
  };
}

/** KV cache bytes one token takes (keys and values of every layer). */
export function kvBytesPerToken(a: Architecture): number {
  return 2 * a.numLayers * a.numKvHeads * a.headDim * (a.kvDtype === 'float16' ? 2 : 4);
}

/** One line for tables: "llama · 4 layers · hidden 256 · 8 heads (2 kv) · vocab 4096". */
export function describeArchitecture(a: Architecture): string {
  return `${a.modelType} · ${a.numLayers} layers · hidden ${a.hiddenSize} · ${a.numHeads} heads (${a.numKvHeads} kv) · vocab ${a.vocabSize}`;
}
