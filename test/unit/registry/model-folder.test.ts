import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chooseOnnxFile,
  globToRegExp,
  scanModelFolder,
  validateModelFolder,
} from '../../../src/registry/model-folder.js';
import { parseOnnxSignature, readOnnxSignature } from '../../../src/registry/onnx-signature.js';
import { InvalidRequestError } from '../../../src/shared/errors.js';
import { CHAT_1, copyModel, rmrf, tempDir } from './helpers.js';

let dirs: string[] = [];
afterEach(async () => {
  await rmrf(...dirs);
  dirs = [];
});

async function model(): Promise<string> {
  const d = await copyModel();
  dirs.push(path.dirname(d));
  return d;
}

async function validate(dir: string) {
  return validateModelFolder(dir, await scanModelFolder(dir));
}

describe('model folder validation', () => {
  it('accepts the shipped chat model and summarises it', async () => {
    const s = await validate(CHAT_1);
    expect(s.onnxFile).toBe('onnx/model.onnx');
    expect(s.architecture).toMatchObject({
      modelType: 'llama',
      numLayers: 4,
      numKvHeads: 2,
      headDim: 32,
      kvDtype: 'float32',
    });
    expect(s.contextLength).toBe(1024);
    expect(s.numParams).toBeGreaterThan(1_000_000);
    expect(s.weightsBytes).toBe((await fs.stat(path.join(CHAT_1, 'onnx/model.onnx'))).size);
    expect(s.files.map((f) => f.path)).toContain('tokenizer.json');
  });

  it('reads the decoder-with-past signature from the ONNX protobuf', async () => {
    const sig = await readOnnxSignature(path.join(CHAT_1, 'onnx/model.onnx'));
    const inputs = sig.inputs.map((i) => i.name);
    expect(inputs).toEqual(
      expect.arrayContaining([
        'input_ids',
        'attention_mask',
        'past_key_values.0.key',
        'past_key_values.3.value',
      ]),
    );
    expect(sig.outputs.map((o) => o.name)).toEqual(
      expect.arrayContaining(['logits', 'present.3.value']),
    );
    const past = sig.inputs.find((i) => i.name === 'past_key_values.0.key')!;
    expect(past.elemType).toBe(1);
    expect(past.shape[1]).toBe(2);
    expect(past.shape[3]).toBe(32);
  });

  it('rejects bytes that are not an ONNX model', () => {
    expect(() => parseOnnxSignature(Buffer.from('{"not": "onnx"}'))).toThrow();
    expect(() => parseOnnxSignature(new Uint8Array(0))).toThrow(/no graph/);
  });

  const cases: Array<[string, (dir: string) => Promise<void>, RegExp]> = [
    ['config.json missing', (d) => fs.rm(path.join(d, 'config.json')), /config\.json is missing/],
    [
      'tokenizer.json missing',
      (d) => fs.rm(path.join(d, 'tokenizer.json')),
      /tokenizer\.json is missing/,
    ],
    [
      'tokenizer_config.json missing',
      (d) => fs.rm(path.join(d, 'tokenizer_config.json')),
      /tokenizer_config\.json is missing/,
    ],
    [
      'config.json broken',
      (d) => fs.writeFile(path.join(d, 'config.json'), '{ nope'),
      /config\.json is not valid JSON/,
    ],
    [
      'no layers in config',
      async (d) => {
        const cfg = JSON.parse(await fs.readFile(path.join(d, 'config.json'), 'utf8'));
        delete cfg.num_hidden_layers;
        await fs.writeFile(path.join(d, 'config.json'), JSON.stringify(cfg));
      },
      /num_hidden_layers/,
    ],
    ['no ONNX file', (d) => fs.rm(path.join(d, 'onnx'), { recursive: true }), /onnx\/model\.onnx/],
    [
      'truncated ONNX file',
      async (d) => {
        const f = path.join(d, 'onnx/model.onnx');
        await fs.truncate(f, Math.floor((await fs.stat(f)).size / 2));
      },
      /not a readable ONNX model/,
    ],
    [
      'graph exported for another layer count',
      async (d) => {
        const cfg = JSON.parse(await fs.readFile(path.join(d, 'config.json'), 'utf8'));
        cfg.num_hidden_layers = 6;
        await fs.writeFile(path.join(d, 'config.json'), JSON.stringify(cfg));
      },
      /past key for layer 4/,
    ],
  ];
  for (const [name, damage, message] of cases) {
    it(`refuses a folder with ${name}`, async () => {
      const d = await model();
      await damage(d);
      const err = await validate(d).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidRequestError);
      expect((err as Error).message).toMatch(/is not a model folder Orchard can load/);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('refuses symlinks inside the folder and a folder that is a symlink', async () => {
    const d = await model();
    await fs.symlink('/etc/passwd', path.join(d, 'extra.txt'));
    await expect(scanModelFolder(d)).rejects.toThrow(/symbolic link/);
    await fs.rm(path.join(d, 'extra.txt'));
    const link = path.join(path.dirname(d), 'link');
    await fs.symlink(d, link);
    await expect(scanModelFolder(link)).rejects.toThrow(/symbolic link/);
  });

  it('refuses a file and a missing path', async () => {
    await expect(scanModelFolder(path.join(CHAT_1, 'config.json'))).rejects.toThrow(/not a folder/);
    const t = await tempDir();
    dirs.push(t);
    await expect(scanModelFolder(path.join(t, 'nope'))).rejects.toThrow(/cannot read/);
  });

  it('chooses the ONNX file like the engine, or by pattern', () => {
    expect(chooseOnnxFile(['onnx/model.onnx', 'onnx/model_q4.onnx'])).toBe('onnx/model.onnx');
    expect(chooseOnnxFile(['onnx/decoder.onnx'])).toBe('onnx/decoder.onnx');
    expect(chooseOnnxFile(['onnx/a.onnx', 'onnx/b.onnx'])).toBeNull();
    expect(chooseOnnxFile(['onnx/model.onnx', 'onnx/model_q4.onnx'], '*q4*')).toBeNull();
    expect(chooseOnnxFile(['onnx/model.onnx', 'onnx/model_q4.onnx'], '**q4*')).toBe(
      'onnx/model_q4.onnx',
    );
    expect(chooseOnnxFile(['onnx/model.onnx', 'onnx/model_q4.onnx'], 'onnx/model_q?.onnx')).toBe(
      'onnx/model_q4.onnx',
    );
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});
