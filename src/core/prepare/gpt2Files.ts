// GPT-2's BPE as the two files Hugging Face's GPT2Tokenizer reads (vocab.json, merges.txt),
// rebuilt from js-tiktoken's ranks, the one copy of GPT-2's vocabulary the project ships. The
// trainer's Hugging Face and GGUF exports of a run whose tokenizer is gpt2 need them
// (`export --gpt2-tokenizer <folder>`); the Python side has no GPT-2 vocabulary of its own.
//
// vocab.json spells each token's bytes in GPT-2's byte-level alphabet. tiktoken keeps ranks,
// not merges: the merge that makes a token is found by running BPE over its bytes with the
// tokens ranked below it, which stops at the two parts the last merge joins (how transformers
// converts tiktoken files). That gives OpenAI's 50,000 merges, one per token past the 256 bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import gpt2Facts from '../../../schemas/gpt2.json';
import { gpt2 } from './tokenizer';

/** The two files' names: schemas/gpt2.json's tokenizer_files, which the trainer's export reads. */
export const GPT2_VOCAB_FILE = gpt2Facts.tokenizer_files.vocab;
export const GPT2_MERGES_FILE = gpt2Facts.tokenizer_files.merges;

/** Writes vocab.json and merges.txt into folder (created if missing). */
export function writeGpt2Files(folder: string): void {
  const tokens = gpt2().bytesOfTokens();
  const spell = byteSpeller();
  const rankOf = new Map<string, number>(tokens.map((bytes, id) => [Buffer.from(bytes).toString('latin1'), id]));
  const vocab: Record<string, number> = {};
  tokens.forEach((bytes, id) => (vocab[id === gpt2().endOfText ? Buffer.from(bytes).toString() : spell(bytes)] = id));
  const merges = ['#version: 0.2'];
  tokens.forEach((bytes, id) => {
    if (bytes.length < 2 || id === gpt2().endOfText) return;
    const [left, right] = lastMerge(Buffer.from(bytes).toString('latin1'), id, rankOf);
    merges.push(`${spell(Buffer.from(left, 'latin1'))} ${spell(Buffer.from(right, 'latin1'))}`);
  });
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, GPT2_VOCAB_FILE), JSON.stringify(vocab));
  fs.writeFileSync(path.join(folder, GPT2_MERGES_FILE), `${merges.join('\n')}\n`);
}

/** The two parts whose merge makes `token` (bytes as a latin1 string, one char a byte): BPE over
 *  its bytes, always joining the adjacent pair of lowest rank, with only ranks below its own. */
function lastMerge(token: string, rank: number, rankOf: Map<string, number>): [string, string] {
  let parts = [...token];
  for (;;) {
    let best = -1;
    let bestRank = rank;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(parts[i] + parts[i + 1]);
      if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
    }
    if (best < 0) break;
    parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
  }
  if (parts.length !== 2) throw new Error(`GPT-2 token ${rank} is not one merge of two tokens ranked below it`);
  return [parts[0], parts[1]];
}

/** GPT-2's byte-level alphabet (bytes_to_unicode): printable bytes stand for themselves, the
 *  others are shifted past U+0100 in order, so every token is a printable string. */
function byteSpeller(): (bytes: Uint8Array) => string {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  return (bytes) => Array.from(bytes, (b) => table[b]).join('');
}
