import { loadModelTokenizer } from '../src/engine/model-tokenizer.ts';
import { ReferenceModel } from '../src/engine/reference-loop.ts';
import { chatPrompt } from '../test/integration/engine-helpers.ts';
const dir = 'resources/models/orchard-chat-1';
const tok = await loadModelTokenizer(dir);
const ref = await ReferenceModel.open(dir, { threads: 2 });
for (const s of [1, 5, 9]) {
  const p = chatPrompt(tok, s, 18);
  const out = await ref.generate(p, { maxTokens: 60, ignoreEos: true });
  console.log(JSON.stringify(tok.decode(p, { skipSpecialTokens: false })), '→', JSON.stringify(tok.decode(out, { skipSpecialTokens: false })));
}
await ref.close();
