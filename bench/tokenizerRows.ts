// The rows of `wordplay bench tokenizers` (bench/tokenizers.ts) in BENCHMARKS.md
// (bench/benchmark.ts): each tokenizer's val bits per byte, and the lowest.
import { fixed, int, type Benchmark, type Recorded, type Row } from './benchmark';

const tokenizerRows: [string, string][] = [
  ['char', 'char'],
  ['gpt2', 'GPT-2 (50,257 tokens)'],
  ['bpe-1024', 'trained BPE, 1,024 tokens'],
  ['bpe-4096', 'trained BPE, 4,096'],
  ['bpe-8192', 'trained BPE, 8,192'],
  ['bpe-16384', 'trained BPE, 16,384'],
];
const tokenizerValue = (r: Recorded, name: string) => {
  const t = r.tokenizers.find((x: Recorded) => x.name === name);
  if (!t) return 'not in this result';
  if (t.val_bpb === null) return `no figure: stopped after ${int(t.iters)} of ${int(t.max_iters)} iterations`;
  return (
    `${fixed(t.val_bpb, 3)} bits per byte (val loss ${fixed(t.val_loss, 3)} per token, ${fixed(t.tokens_per_byte, 3)} tokens per byte; ` +
    `${int(t.iters)} iterations in ${fixed(t.train_cpu_s ?? t.train_s)} CPU s, ${int(t.tokens_per_cpu_s ?? t.tokens_per_s)} tokens per CPU s` +
    `${t.prepare_default ? '; the size prepare picks for this corpus' : ''})`
  );
};

export const benchmarks: Benchmark[] = [
  {
    name: 'tokenizers',
    args: ['bench', 'tokenizers'],
    rows: [
      ...tokenizerRows.map(([name, label], i): Row => ({
        figure:
          i === 0
            ? `tokenizers: val bits per byte after the same 180 s of one core each (CPU time), the same model (\`shakespeare-char-cpu\`’s architecture at block 128), Python’s standard library’s code; ${label}`
            : `the same, ${label}`,
        goal: '—',
        value: (r) => tokenizerValue(r, name),
      })),
      {
        figure: 'the same: the lowest val bits per byte',
        goal: 'the trained BPE gives the lowest bpb (#17)',
        value: (r) => {
          const of = (name: string) => r.tokenizers.find((t: Recorded) => t.name === name);
          return `${r.lowest ?? 'none'}, ${fixed(r.lowest_bpb, 3)} (char ${fixed(of('char')?.val_bpb, 3)}, GPT-2 ${fixed(of('gpt2')?.val_bpb, 3)}); ${fixed(r.corpus.mb)} MB of \`.py\` files (${int(r.corpus.files)}), Python ${r.corpus.python}`;
        },
        met: (r) => r.bpe_lowest,
      },
    ],
  },
];
