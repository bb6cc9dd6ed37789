// Where a completion's prompt comes from and where its text goes, in document offsets:
// with a selection, the selection is the prompt and the text follows it; without one, the
// text before the cursor is the prompt and the text goes at the cursor.

export interface CompletionTarget {
  prompt: string;
  /** Offset in the document where the completion is inserted. */
  insertAt: number;
}

/** `maxPromptChars` bounds the text taken before a cursor (the engine keeps the last
 *  block_size tokens of whatever it gets, so a little more than that is plenty). */
export function completionTarget(
  text: string,
  selection: { start: number; end: number },
  maxPromptChars: number,
): CompletionTarget {
  if (selection.end > selection.start)
    return { prompt: text.slice(selection.start, selection.end), insertAt: selection.end };
  let from = Math.max(0, selection.end - maxPromptChars);
  // never start in the middle of a surrogate pair
  const unit = text.charCodeAt(from);
  if (from > 0 && unit >= 0xdc00 && unit <= 0xdfff) from++;
  return { prompt: text.slice(from, selection.end), insertAt: selection.end };
}

/** The undo stops of each streamed insertion: a stop before the first only, none between, so
 *  the editor groups the whole completion into one undoable edit. */
export function undoStops(index: number): { undoStopBefore: boolean; undoStopAfter: boolean } {
  return { undoStopBefore: index === 0, undoStopAfter: false };
}

/** Applies streamed pieces one after another at `at`; `insert` returns false when the editor
 *  refused the edit (closed, changed under us), which ends the stream. Returns the text inserted.
 *
 *  The pieces are read on while an edit is in flight, and whatever arrived meanwhile goes in
 *  with the next edit: an edit is a round trip to the editor's window (tens of milliseconds in
 *  a browser), a token a few milliseconds, so one edit per token would hold generation to the
 *  editor's pace. */
export async function streamInsert(
  pieces: AsyncIterable<string>,
  at: number,
  insert: (
    offset: number,
    text: string,
    stops: { undoStopBefore: boolean; undoStopAfter: boolean },
  ) => Promise<boolean>,
): Promise<string> {
  const source = pieces[Symbol.asyncIterator]();
  let pending = '';
  let ended = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const reader = (async () => {
    try {
      while (!stopped) {
        const next = await source.next();
        if (next.done) break;
        pending += next.value;
        wake?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      ended = true;
      wake?.();
    }
  })();

  let inserted = '';
  let index = 0;
  try {
    for (;;) {
      if (!pending) {
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const text = pending;
      pending = '';
      if (!(await insert(at + inserted.length, text, undoStops(index++)))) break;
      inserted += text;
    }
  } finally {
    // the editor refused an edit or failed: the source finishes its current piece, then ends
    stopped = true;
    await reader;
    if (!failure) await source.return?.();
  }
  if (failure) throw failure.error;
  return inserted;
}
