// Replacing a file whole: the text goes to <file>.tmp-<pid> beside it, which is then renamed over
// it (atomic on one filesystem), so a reader sees the old file or the new one, never half of one.
// The pid keeps two processes writing the same file from sharing a temporary.
import * as fs from 'node:fs';

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}
