// What every tokenizer is (tokenizer.ts builds them): the interface prepare and completion use,
// the spec a dataset's tokenizer.json or a model.json names, and the base of the BPE tokenizers
// (gpt2, bpe, hf), which encode piece by piece and decode through each token's bytes.

/** The parts of a Hugging Face tokenizer.json that wordplay's BPE relies on (bpe.py writes it). */
export interface HfTokenizerJson {
  model: { type: 'BPE'; vocab: Record<string, number> };
  pre_tokenizer: { type: 'Sequence'; pretokenizers: [{ type: 'Split' }, { type: 'ByteLevel' }] };
  added_tokens: { id: number; content: string }[];
}

/** A Hugging Face model folder's tokenizer.json, as its own library wrote it (hfTokenizer.ts
 *  checks the parts wordplay reads). */
export interface HfFolderJson {
  model: { type: string; vocab: Record<string, number> } & Record<string, unknown>;
  normalizer: ({ type: string } & Record<string, unknown>) | null;
  pre_tokenizer: ({ type: string } & Record<string, unknown>) | null;
  decoder: ({ type: string } & Record<string, unknown>) | null;
  added_tokens: { id: number; content: string; special?: boolean }[];
}

/** What a dataset's or a model's tokenizer is. hf: a model folder's tokenizer.json (`json`,
 *  verbatim) with the folder it came from and the id between documents, which tokenizer.json
 *  alone does not say (hfTokenizer.ts's endOfTextOf); written as it is into model.json. */
export type TokenizerSpec =
  | { type: 'char'; vocab: string[] }
  | { type: 'gpt2' }
  | { type: 'bpe'; json: HfTokenizerJson }
  | { type: 'hf'; source: string; end_of_text: number | null; json: HfFolderJson };

export interface Tokenizer {
  readonly spec: TokenizerSpec;
  readonly vocabSize: number;
  /** The id that separates documents, where the tokenizer has one (gpt2's <|endoftext|>). */
  readonly endOfText: number | undefined;
  /** Ids of text; throws a UserError naming characters a char vocabulary lacks. */
  encode(text: string): number[];
  /** The text of ids; an id outside the vocabulary decodes to nothing. */
  decode(ids: number[]): string;
  /** Decodes a stream of ids piece by piece; a character split across tokens comes out whole. */
  streamDecoder(): StreamDecoder;
}

export interface StreamDecoder {
  push(id: number): string;
  flush(): string;
}

/** Calls onPiece with each piece pattern (global) splits text into. Text between two matches is
 *  a piece too (tokenizers' "isolated" split), though none of the BPE patterns leaves any. */
export function eachPiece(pattern: RegExp, text: string, onPiece: (piece: string) => void): void {
  pattern.lastIndex = 0;
  let end = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m.index > end) onPiece(text.slice(end, m.index));
    if (m[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    onPiece(m[0]);
    end = m.index + m[0].length;
  }
  if (end < text.length) onPiece(text.slice(end));
}

/** What the BPE tokenizers share: a text splits into pieces by a pattern and each piece is
 *  merged alone; most pieces (words with their leading space) recur, so merging each one once
 *  and remembering its ids makes encoding several times faster on real text. Ids decode
 *  through each token's bytes, so a character split across tokens comes out whole. */
export abstract class PieceTokenizer implements Tokenizer {
  abstract readonly spec: TokenizerSpec;
  abstract readonly vocabSize: number;
  abstract readonly endOfText: number | undefined;
  private readonly pieceCache = new Map<string, number[]>();
  private tokenBytes: Uint8Array[] | undefined;

  /** The ids of one piece of the split. */
  protected abstract mergePiece(piece: string): number[];
  /** Every token's bytes, by id. */
  protected abstract bytesOfTokens(): Uint8Array[];

  encode(text: string): number[] {
    const ids: number[] = [];
    this.encodeEach(text, (id) => ids.push(id));
    return ids;
  }

  /** Calls emit with each id of text in order, without building an intermediate array. */
  abstract encodeEach(text: string, emit: (id: number) => void): void;

  /** Whether text cut at `at` encodes as its two halves would (prepare's cuts): gpt2's and bpe's
   *  patterns never join the cuts prepare makes; a model folder's tokenizer checks. */
  separableAt(_text: string, _at: number): boolean {
    return true;
  }

  protected encodePiece(piece: string, emit: (id: number) => void): void {
    let ids = this.pieceCache.get(piece);
    if (ids === undefined) {
      ids = this.mergePiece(piece);
      if (this.pieceCache.size > 500_000) this.pieceCache.clear();
      this.pieceCache.set(piece, ids);
    }
    for (const id of ids) emit(id);
  }

  decode(ids: number[]): string {
    const decoder = this.streamDecoder();
    return ids.map((id) => decoder.push(id)).join('') + decoder.flush();
  }

  streamDecoder(): StreamDecoder {
    const bytes = (this.tokenBytes ??= this.bytesOfTokens());
    const utf8 = new TextDecoder('utf-8');
    return {
      push: (id) => utf8.decode(bytes[id] ?? new Uint8Array(0), { stream: true }),
      flush: () => utf8.decode(),
    };
  }
}
