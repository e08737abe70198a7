/**
 * The host-side tokenizer: tokenizer.json through @huggingface/tokenizers, the chat template from
 * tokenizer_config.json through @huggingface/jinja, and each token's raw bytes (byte-level BPE
 * and SentencePiece byte fallback) for logprobs and the UTF-8-safe detokenizer.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ChatMessage, ModelTokenizer } from './types.js';

type Json = Record<string, unknown>;

/** GPT-2's byte ↔ printable-character table used by byte-level BPE vocabularies. */
function byteLevelDecoderTable(): Map<string, number> {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n++);
    }
  }
  return new Map(bytes.map((b, i) => [String.fromCharCode(chars[i]), b]));
}

function usesDecoder(decoder: unknown, type: string): boolean {
  if (!decoder || typeof decoder !== 'object') return false;
  const d = decoder as { type?: string; decoders?: unknown[] };
  if (d.type === type) return true;
  return Array.isArray(d.decoders) && d.decoders.some((x) => usesDecoder(x, type));
}

function tokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (
    value &&
    typeof value === 'object' &&
    typeof (value as { content?: unknown }).content === 'string'
  ) {
    return (value as { content: string }).content;
  }
  return null;
}

export class HfModelTokenizer implements ModelTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  private readonly bytesCache = new Map<number, Uint8Array>();
  private readonly byteLevel: Map<string, number> | null;
  private readonly specialIds: Set<number>;
  private readonly template: Template | null;
  private readonly bosToken: string | null;
  private readonly eosToken: string | null;
  private readonly utf8 = new TextEncoder();

  constructor(
    private readonly tokenizer: Tokenizer,
    tokenizerJson: Json,
    config: Json,
    modelEos: { bosTokenId: number | null; eosTokenIds: number[] },
  ) {
    this.vocabSize = tokenizer.get_vocab(true).size;
    this.byteLevel = usesDecoder(tokenizerJson.decoder, 'ByteLevel')
      ? byteLevelDecoderTable()
      : null;
    const added = Array.isArray(tokenizerJson.added_tokens)
      ? (tokenizerJson.added_tokens as Json[])
      : [];
    this.specialIds = new Set(added.filter((t) => t.special === true).map((t) => Number(t.id)));
    this.bosToken = tokenText(config.bos_token);
    this.eosToken = tokenText(config.eos_token);
    const bosFromConfig = this.bosToken === null ? undefined : tokenizer.token_to_id(this.bosToken);
    const eosFromConfig = this.eosToken === null ? undefined : tokenizer.token_to_id(this.eosToken);
    this.bosTokenId = modelEos.bosTokenId ?? bosFromConfig ?? null;
    const eos = new Set(modelEos.eosTokenIds);
    if (eos.size === 0 && eosFromConfig !== undefined) eos.add(eosFromConfig);
    this.eosTokenIds = [...eos];
    this.template = chatTemplate(config.chat_template);
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true })
      .ids;
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  /** Special tokens (end markers, role markers) are not part of generated text. */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  tokenBytes(id: number): Uint8Array {
    let bytes = this.bytesCache.get(id);
    if (!bytes) {
      bytes = this.computeTokenBytes(id);
      this.bytesCache.set(id, bytes);
    }
    return bytes;
  }

  private computeTokenBytes(id: number): Uint8Array {
    const piece = this.tokenizer.id_to_token(id);
    if (piece === undefined) return new Uint8Array(0);
    if (this.specialIds.has(id)) return this.utf8.encode(piece);
    if (this.byteLevel) {
      const out: number[] = [];
      for (const ch of piece) {
        const b = this.byteLevel.get(ch);
        if (b === undefined) return this.utf8.encode(this.tokenizer.decode([id]));
        out.push(b);
      }
      return Uint8Array.from(out);
    }
    // SentencePiece: byte-fallback pieces are literal bytes, ▁ marks a space.
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    if (byte) return Uint8Array.of(parseInt(byte[1], 16));
    return this.utf8.encode(piece.replace(/\u2581/g, ' '));
  }

  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): string {
    if (!this.template)
      throw new Error('this model has no chat template (tokenizer_config.json chat_template)');
    return this.template.render({
      messages,
      add_generation_prompt: options.addGenerationPrompt,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
    });
  }
}

function chatTemplate(value: unknown): Template | null {
  if (typeof value === 'string') return new Template(value);
  // Some tokenizers ship several named templates; the default one is for chat.
  if (Array.isArray(value)) {
    const named = value as Array<{ name?: string; template?: string }>;
    const pick = named.find((t) => t.name === 'default') ?? named[0];
    if (pick && typeof pick.template === 'string') return new Template(pick.template);
  }
  return null;
}

export async function loadModelTokenizer(
  modelDir: string,
  model: { bosTokenId: number | null; eosTokenIds: number[] } = {
    bosTokenId: null,
    eosTokenIds: [],
  },
): Promise<HfModelTokenizer> {
  const read = async (name: string, required: boolean): Promise<Json> => {
    const file = path.join(modelDir, name);
    try {
      return JSON.parse(await fs.readFile(file, 'utf8')) as Json;
    } catch (err) {
      if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const tokenizerJson = await read('tokenizer.json', true);
  const config = await read('tokenizer_config.json', false);
  return new HfModelTokenizer(new Tokenizer(tokenizerJson, config), tokenizerJson, config, model);
}
