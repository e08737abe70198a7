import { loadEngine } from '../src/engine/engine-host.ts';
import { ReferenceModel } from '../src/engine/reference-loop.ts';
import { samplingParams } from '../src/shared/sampling.ts';
const dir = '/tmp/dev-model';
const e = await loadEngine(dir, { executionProvider: 'auto', threads: 2, kvCacheBytes: 32 << 20, blockSize: 16, maxRunningRequests: 64, maxWaitingRequests: 256, maxBatchTokens: 512, enablePrefixCaching: true }, (p) => console.log('progress', p));
console.log(e.info);
const prompt = e.tokenizer.encode(e.tokenizer.applyChatTemplate([{ role: 'user', content: 'What grows in the orchard?' }], { addGenerationPrompt: true }), { addSpecialTokens: false });
let text = ''; const toks: number[] = [];
for await (const o of e.generate({ promptTokenIds: prompt, params: samplingParams({ temperature: 0, maxTokens: 40 }) })) {
  for (const c of o.choices) { text += c.text; toks.push(...c.tokenIds); }
  if (o.usage) console.log(o.usage, o.timing, o.choices.map((c) => c.finishReason));
}
console.log(JSON.stringify(text));
const ref = await ReferenceModel.open(dir, { threads: 2 });
const r = await ref.generate(prompt, { maxTokens: 40 });
console.log(toks.join(',')); console.log(r.join(','));
console.log(await e.refreshStats());
await e.unload(); await ref.close();
