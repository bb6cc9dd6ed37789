// Fuzzing the events.jsonl reader (fast-check, a fixed seed and number of runs each): whatever a file
// holds, parsing never throws and yields only events the schema allows; a file read while it
// grows, in chunks cut anywhere (inside a line, inside a UTF-8 character), yields each complete
// event exactly once.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import * as fc from 'fast-check';
import { EventFollower, parseEvents } from '../../src/core/run/events';
import { schemaPath } from '../../src/core/common/paths';
import { fuzz } from './fuzzing';
import { tempDir } from './helpers';

const validEvent = new Ajv({ strict: false }).compile(JSON.parse(fs.readFileSync(schemaPath('events'), 'utf8')));

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const iter = fc.nat();
const text = fc.string({ unit: 'binary', maxLength: 30 }); // any Unicode, newlines included
/** Events as the schema describes them (what the trainer writes). */
const event = fc.oneof(
  fc.record(
    {
      type: fc.constant('start'),
      time: finite,
      iter,
      max_iters: fc.integer({ min: 1 }),
      pid: fc.nat(),
      device: text,
      dtype: text,
      n_params: fc.nat(),
      tokens_per_iter: fc.nat(),
      world_size: fc.integer({ min: 1, max: 64 }),
    },
    { requiredKeys: ['type', 'time', 'iter', 'max_iters', 'pid', 'device', 'dtype', 'n_params', 'tokens_per_iter'] },
  ),
  fc.record({
    type: fc.constant('train'),
    time: finite,
    iter,
    loss: finite,
    lr: finite,
    dt_ms: finite,
    tokens_per_s: finite,
    mfu: fc.option(finite),
  }),
  fc.record(
    {
      type: fc.constant('eval'),
      time: finite,
      iter,
      train_loss: finite,
      val_loss: finite,
      val_bpb: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
    },
    { requiredKeys: ['type', 'time', 'iter', 'train_loss', 'val_loss'] },
  ),
  fc.record(
    { type: fc.constant('checkpoint'), time: finite, iter, val_loss: fc.option(finite) },
    { requiredKeys: ['type', 'time', 'iter'] },
  ),
  fc.record({ type: fc.constant('sample'), time: finite, iter, tokens: fc.array(fc.nat(), { maxLength: 10 }) }),
  fc.record(
    { type: fc.constant('done'), time: finite, reason: fc.constantFrom('finished', 'stopped', 'error'), iter },
    { requiredKeys: ['type', 'time', 'reason'] },
  ),
  fc.record(
    { type: fc.constant('error'), time: finite, message: text, key: text, iter },
    { requiredKeys: ['type', 'time', 'message'] },
  ),
);
const line = (e: unknown) => `${JSON.stringify(e)}\n`;
/** Lines a damaged or foreign file may hold: events with a field replaced, any JSON, any text. */
const strangeLine = fc.oneof(
  fc
    .tuple(event, fc.string({ maxLength: 12 }), fc.jsonValue())
    .map(([e, key, value]) => JSON.stringify({ ...e, [key]: value })),
  fc.tuple(event, fc.jsonValue()).map(([e, value]) => JSON.stringify({ ...e, [Object.keys(e)[2] ?? 'x']: value })),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

test('parseEvents never throws and returns only events the schema allows', (t) => {
  fuzz(
    t,
    fc.property(
      fc.array(
        fc.oneof(
          event.map((e) => JSON.stringify(e)),
          strangeLine,
        ),
        { maxLength: 12 },
      ),
      (lines) => {
        for (const e of parseEvents(lines.join('\n')))
          assert.ok(validEvent(e), `${JSON.stringify(e)}: ${JSON.stringify(validEvent.errors)}`);
      },
    ),
    2000,
  );
});

test('parseEvents returns every whole event and ignores a torn last line', (t) => {
  fuzz(
    t,
    fc.property(fc.array(event, { maxLength: 10 }), event, fc.nat(), (events, torn, cut) => {
      const json = JSON.stringify(torn); // a strict prefix of it: the writer was cut off
      const text = events.map(line).join('') + json.slice(0, cut % json.length);
      assert.deepEqual(parseEvents(text), JSON.parse(`[${events.map((e) => JSON.stringify(e)).join(',')}]`));
    }),
    3000,
  );
});

test('the follower reads a growing file cut anywhere and yields each event once', (t) => {
  const file = path.join(tempDir(), 'events.jsonl');
  fuzz(
    t,
    fc.property(
      fc.array(
        fc.oneof({ weight: 4, arbitrary: event.map(line) }, { weight: 1, arbitrary: strangeLine.map((s) => `${s}\n`) }),
        { maxLength: 12 },
      ),
      fc.array(fc.nat(), { maxLength: 8 }),
      (lines, cuts) => {
        const bytes = Buffer.from(lines.join(''));
        fs.writeFileSync(file, '');
        const follower = new EventFollower(file);
        const seen = [];
        let at = 0;
        for (const end of [...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
          fs.appendFileSync(file, bytes.subarray(at, Math.max(at, end)));
          at = Math.max(at, end);
          seen.push(...follower.poll());
        }
        assert.deepEqual(seen, parseEvents(bytes.toString('utf8')));
      },
    ),
    1000,
  );
});
