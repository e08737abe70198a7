// Encode the corpus with the real runtime tokenizer (@huggingface/tokenizers) and chat template
// (@huggingface/jinja), so training sees exactly the ids the app will produce.
// Usage: node tokenize.mjs <workdir>
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';

const work = process.argv[2];
const tokDir = path.join(work, 'tokenizer');
const tokJson = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer.json'), 'utf8'));
const tokCfg = JSON.parse(fs.readFileSync(path.join(tokDir, 'tokenizer_config.json'), 'utf8'));
const tokenizer = new Tokenizer(tokJson, tokCfg);
const template = new Template(tokCfg.chat_template);
const corpus = JSON.parse(fs.readFileSync(path.join(work, 'corpus.json'), 'utf8'));

const render = (doc) =>
  doc.messages
    ? template.render({ messages: doc.messages, bos_token: tokCfg.bos_token, eos_token: tokCfg.eos_token, add_generation_prompt: false })
    : tokCfg.bos_token + doc.text + tokCfg.eos_token + '\n';
const encode = (s) => tokenizer.encode(s, { add_special_tokens: false }).ids;

// Round-trip sanity checks (including non-ASCII UTF-8).
const samples = [
  'Hello, world! The quick brown fox jumps over the lazy dog.',
  'Café naïve façade — “quotes” … 日本語テキスト 🍎🍏 Ünïcödé',
  "  leading spaces, tabs\tand\nnewlines\n\n  it's 3.14159 o'clock ",
];
for (const s of samples) {
  const back = tokenizer.decode(encode(s));
  if (back !== s) throw new Error(`round-trip failed: ${JSON.stringify(s)} -> ${JSON.stringify(back)}`);
}

function encodeDocs(docs) {
  const out = [];
  for (const d of docs) for (const id of encode(render(d))) out.push(id);
  return Uint16Array.from(out);
}
let nChars = 0;
for (const split of ['train', 'val']) {
  const docs = corpus[`${split}_docs`];
  const ids = encodeDocs(docs);
  for (const d of docs) nChars += render(d).length;
  fs.writeFileSync(path.join(work, `${split}.tok`), Buffer.from(ids.buffer));
  console.log(`${split}: ${docs.length} docs, ${ids.length} tokens`);
}
const questions = corpus.eval_questions.map((q) => {
  const prompt = template.render({ messages: q.messages, bos_token: tokCfg.bos_token, eos_token: tokCfg.eos_token, add_generation_prompt: true });
  return { ...q, prompt, ids: encode(prompt) };
});
fs.writeFileSync(path.join(work, 'eval_questions.json'), JSON.stringify(questions));
const special = Object.fromEntries(['<|begin|>', '<|end|>', '<|pad|>', '<|system|>', '<|user|>', '<|assistant|>'].map((t) => [t, tokenizer.token_to_id(t)]));
console.log('special ids', JSON.stringify(special));
console.log('example prompt ids', JSON.stringify(questions[0].ids));
