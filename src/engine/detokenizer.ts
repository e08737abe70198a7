/**
 * Incremental detokenizer: joins the raw bytes of generated tokens and emits only complete
 * UTF-8 characters, so a character split across tokens (emoji, CJK, accented letters from a
 * byte-level BPE) is never streamed as a broken sequence or a stray U+FFFD.
 */
export class Detokenizer {
  // A streaming decoder keeps an incomplete trailing sequence until the bytes that finish it arrive.
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(
    private readonly tokenBytes: (id: number) => Uint8Array,
    /** Tokens whose text is not part of the output (end-of-sequence and other special tokens). */
    private readonly isHidden: (id: number) => boolean = () => false,
  ) {}

  /** Text completed by these tokens (may be empty while a character is still incomplete). */
  push(tokenIds: readonly number[]): string {
    let out = '';
    for (const id of tokenIds) {
      if (this.isHidden(id)) continue;
      out += this.decoder.decode(this.tokenBytes(id), { stream: true });
    }
    return out;
  }

  /** Ends the stream: bytes of a character that never completed become U+FFFD. */
  flush(): string {
    return this.decoder.decode();
  }
}
