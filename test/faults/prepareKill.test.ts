// `wordplay prepare` SIGKILLed at seeded random instants, into a new folder and over an existing
// dataset (--force): the out folder is never a partial dataset. It is absent, or complete: a
// valid meta.json and tokenizer.json, and .bin files of the sizes meta.json gives, holding
// exactly the tokens of an uninterrupted prepare. Two kills land where they must: a prepare
// paused (SIGSTOP) while its temporary folder holds part of the dataset leaves no dataset when
// the folder was new, and the old one whole with --force. A later prepare removes the leftovers.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../src/core/common/paths';
import { missingPrerequisite, SHAKESPEARE, tempDir } from '../unit/helpers';
import { FAULT_SEED, seededRandom, sleep } from './faultHelpers';

const KILLS = 16;
const cli = path.join(packageRoot, 'dist', 'cli.js');
const skip = fs.existsSync(cli) ? false : missingPrerequisite(`${cli} is not built`, 'build it: npm run build');

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
}

/** Starts `wordplay prepare`; `ended` resolves when it has ended. */
function startPrepare(out: string, force: boolean): { child: ChildProcess; ended: Promise<Ended> } {
  const started = Date.now();
  const args = [
    cli,
    'prepare',
    '--input',
    SHAKESPEARE,
    '--tokenizer',
    'char',
    '--out',
    out,
    ...(force ? ['--force'] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const ended = new Promise<Ended>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return { child, ended };
}

/** Runs `wordplay prepare`, killed after `killAfterMs` if given; resolves when it has ended. */
function prepareCli(out: string, force: boolean, killAfterMs?: number): Promise<Ended> {
  const { child, ended } = startPrepare(out, force);
  if (killAfterMs !== undefined) void sleep(killAfterMs).then(() => child.kill('SIGKILL'));
  return ended;
}

/** Runs `wordplay prepare`, pauses it once its temporary folder holds a train.bin begun, and
 *  SIGKILLs it there; false when it had finished before the pause (then it is run again). */
async function killWhileWriting(out: string, force: boolean): Promise<boolean> {
  const parent = path.dirname(out);
  const { child, ended } = startPrepare(out, force);
  let done = false;
  void ended.then(() => (done = true));
  // its own folders (named after its pid): the one it writes, and the old dataset put aside
  // (`-old`) once it swaps the new one in, which is no longer writing
  const prefix = `.${path.basename(out)}.tmp-${child.pid}-`;
  const writing = () => {
    const names = fs.readdirSync(parent).filter((name) => name.startsWith(prefix));
    const tmp = names.find((name) => !name.endsWith('-old'));
    const begun =
      tmp !== undefined && (fs.statSync(path.join(parent, tmp, 'train.bin'), { throwIfNoEntry: false })?.size ?? 0) > 0;
    return begun && !names.some((name) => name.endsWith('-old'));
  };
  while (!done) {
    if (writing()) {
      child.kill('SIGSTOP');
      if (writing()) {
        child.kill('SIGKILL');
        await ended;
        return true;
      }
      child.kill('SIGCONT');
    }
    await sleep(2);
  }
  return false;
}

const read = (file: string) => fs.readFileSync(file);

/** The out folder is absent, or a dataset identical to the reference one. */
function checkDataset(out: string, reference: string): 'absent' | 'complete' {
  if (!fs.existsSync(out)) return 'absent';
  const meta = JSON.parse(read(path.join(out, 'meta.json')).toString('utf8'));
  assert.deepEqual(
    JSON.parse(read(path.join(out, 'tokenizer.json')).toString('utf8')),
    JSON.parse(read(path.join(reference, 'tokenizer.json')).toString('utf8')),
  );
  assert.equal(fs.statSync(path.join(out, 'train.bin')).size, meta.train_tokens * 2);
  assert.equal(fs.statSync(path.join(out, 'val.bin')).size, meta.val_tokens * 2);
  for (const bin of ['train.bin', 'val.bin'])
    assert.ok(read(path.join(out, bin)).equals(read(path.join(reference, bin))), `${bin} differs`);
  return 'complete';
}

test(
  `prepare killed at ${KILLS} random instants, and while it writes, never leaves a partial dataset`,
  { skip, timeout: 300_000 },
  async (t) => {
    t.diagnostic(`seed ${FAULT_SEED} (WORDPLAY_FAULT_SEED replays another)`);
    const random = seededRandom(FAULT_SEED + 1);
    const dir = tempDir('wordplay-prepare-kill-');
    const reference = path.join(dir, 'reference');
    const whole = await prepareCli(reference, false);
    assert.equal(whole.code, 0);
    const replaced = path.join(dir, 'replaced');
    fs.cpSync(reference, replaced, { recursive: true });
    const outcomes = { absent: 0, complete: 0 };
    for (let kill = 0; kill < KILLS; kill++) {
      // half into a fresh folder, half over an existing dataset (--force; between prepare's two
      // renames, old out aside and new in place, it is briefly absent)
      const fresh = kill % 2 === 0;
      const out = fresh ? path.join(dir, `fresh-${kill}`) : replaced;
      const result = await prepareCli(out, !fresh, random() * whole.ms * 1.2);
      outcomes[checkDataset(out, reference)]++;
      if (result.signal === null) assert.equal(result.code, 0, `round ${kill} ended by itself, but failed`);
    }
    t.diagnostic(
      `after ${KILLS} random kills (a full prepare takes ${whole.ms} ms): ${outcomes.absent} absent, ${outcomes.complete} complete`,
    );

    for (const force of [false, true]) {
      const out = force ? replaced : path.join(dir, 'fresh-paused');
      let attempts = 1;
      while (!(await killWhileWriting(out, force))) {
        assert.ok(attempts++ < 5, 'no prepare was caught while it wrote');
        if (!force) fs.rmSync(out, { recursive: true });
      }
      t.diagnostic(`killed while it wrote ${force ? 'over a dataset' : 'a new one'} (attempt ${attempts})`);
      assert.equal(
        checkDataset(out, reference),
        force ? 'complete' : 'absent',
        force ? 'the old dataset is whole' : 'no dataset',
      );
    }

    assert.ok(
      fs.readdirSync(dir).some((name) => name.startsWith('.replaced.tmp-')),
      'the prepare killed while it wrote left its temporary folder',
    );
    const again = await prepareCli(replaced, true);
    assert.equal(again.code, 0);
    assert.equal(checkDataset(replaced, reference), 'complete');
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.startsWith('.replaced.tmp-')),
      [],
      'the next prepare removed what killed ones left',
    );
  },
);
