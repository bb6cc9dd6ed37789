// The webview apps as pages in headless Chromium (playwright-core): the production bundles and
// CSP, a stub of acquireVsCodeApi, host messages posted to the window. Screenshots of both apps
// in light and dark themes go to test/e2e/screenshots/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { schemaPath } from '../../src/core/common/paths';
import type { SchemaNode } from '../../src/core/webview/protocol';
import { fakeRun } from './webviewFixtures';
import { CHROMIUM, screenshotsDir, startHarness, type Harness, type WebviewPage } from './webviewPages';

// in-page callbacks use browser globals (the root tsconfig has no DOM lib)
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser && process.env.CI) throw new Error(`${CHROMIUM} is missing: run node scripts/ensure-chromium.mjs`);
const skip = haveBrowser ? false : `no Chromium at ${CHROMIUM} (node scripts/ensure-chromium.mjs installs it)`;

const schema = JSON.parse(fs.readFileSync(schemaPath('run-config'), 'utf8')) as SchemaNode;
const groups = Object.entries(schema.properties ?? {}).filter(([, s]) => s.type === 'object');
const device = { kind: 'cpu', name: 'Intel Xeon (2 cores)', cores: 2, memoryBytes: 8 * 2 ** 30 };
const configText = JSON.stringify(
  {
    data: { dataset: 'data/shakespeare-char' },
    model: { n_layer: 6, n_head: 6, n_embd: 384, dropout: 0.2 },
    train: { batch_size: 64, max_iters: 5000 },
  },
  null,
  2,
);
const initMessage = (text = configText, problems: { key: string; message: string }[] = []) => ({
  type: 'config/init',
  schema,
  fileName: 'shakespeare.wordplay.json',
  device,
  text,
  version: 1,
  problems,
  vocab: { size: 65, source: 'from shakespeare-char/meta.json' },
});

async function waitForPosted(
  p: WebviewPage,
  predicate: (m: { type: string; [k: string]: unknown }) => boolean,
  what: string,
) {
  const deadline = Date.now() + 30_000; // a hang guard: a posted message comes in milliseconds
  while (Date.now() < deadline) {
    const found = (await p.posted()).find(predicate);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no ${what} posted; posted: ${JSON.stringify(await p.posted())}`);
}

async function noProblems(p: WebviewPage) {
  assert.deepEqual(await p.violations(), [], 'Content-Security-Policy violations');
  assert.deepEqual(p.errors, [], 'page errors');
}

describe('webviews in Chromium', { skip }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    fs.mkdirSync(screenshotsDir, { recursive: true });
  });
  after(async () => h?.close());

  test('config editor: renders every group and field of the schema, with descriptions and defaults', async () => {
    const p = await h.open('configEditor');
    await p.send(initMessage());
    await p.page.waitForSelector('[data-field="model.n_layer"]');
    for (const [group, spec] of groups) {
      assert.equal(await p.page.locator(`vscode-collapsible[data-group="${group}"]`).count(), 1, group);
      // a group within a group (train.lora) shows as one field per key of its own (train.lora.rank)
      const keys = Object.entries(spec.properties ?? {}).flatMap(([key, field]): [string, SchemaNode][] =>
        field.type === 'object'
          ? Object.entries(field.properties ?? {}).map(([sub, s]): [string, SchemaNode] => [`${key}.${sub}`, s])
          : [[key, field]],
      );
      for (const [key, field] of keys) {
        const row = p.page.locator(`[data-field="${group}.${key}"]`);
        assert.equal(await row.count(), 1, `${group}.${key}`);
        const text = await row.innerText();
        assert.ok(text.includes(field.description ?? ''), `${group}.${key} shows its description`);
        assert.ok(text.includes('Default:'), `${group}.${key} shows its default`);
      }
    }
    // the document's values are in the fields; absent keys show the default as placeholder
    assert.equal(await p.page.locator('#f-model-n_layer').evaluate((e: { value: string }) => e.value), '6');
    assert.equal(await p.page.locator('#f-model-block_size').evaluate((e: { value: string }) => e.value), '');
    assert.equal(await p.page.locator('#f-model-block_size').getAttribute('placeholder'), '256');
    // estimates: nanoGPT's shakespeare-char model has 10.65M parameters
    assert.match(await p.page.locator('[data-figure="params"]').innerText(), /10\.65 M/);
    assert.match(await p.page.locator('[data-figure="tokens"]').innerText(), /16,384/);
    await noProblems(p);
    await p.page.close();
  });

  test('config editor: edits become messages; invalid values show their error', async () => {
    const p = await h.open('configEditor');
    await p.send(initMessage());
    await p.page.waitForSelector('[data-field="model.n_layer"]');
    await p.page.locator('#f-model-n_layer input').fill('8');
    const edit = await waitForPosted(p, (m) => m.type === 'config/edit', 'edit');
    assert.deepEqual(edit, { type: 'config/edit', path: ['model', 'n_layer'], value: 8 });
    // the estimate follows as you type, before the document round trip
    assert.doesNotMatch(await p.page.locator('[data-figure="params"]').innerText(), /10\.65 M/);

    await p.page.locator('#f-model-bias').click();
    await waitForPosted(
      p,
      (m) => m.type === 'config/edit' && JSON.stringify(m.path) === '["model","bias"]' && m.value === true,
      'bias edit',
    );

    // out of range: shown, still written (the document then carries it, ajv reports it too)
    await p.page.locator('#f-train-batch_size input').fill('0');
    await p.page.waitForFunction(() =>
      document.querySelector('#f-train-batch_size-error')?.textContent.includes('at least 1'),
    );
    assert.equal(await p.page.locator('#f-train-batch_size').getAttribute('aria-invalid'), 'true');
    // not a number at all: shown, never sent
    const before = (await p.posted()).length;
    await p.page.locator('#f-optimizer-learning_rate input').fill('fast');
    await p.page.waitForFunction(() =>
      document.querySelector('#f-optimizer-learning_rate-error')?.textContent.includes('must be a number'),
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(
      (await p.posted()).slice(before).every((m) => JSON.stringify(m.path) !== '["optimizer","learning_rate"]'),
    );
    assert.equal(
      await p.page.locator('#train').evaluate((e: { disabled: boolean }) => e.disabled),
      true,
      'Train is disabled while there are problems',
    );
    await p.page.screenshot({ path: path.join(screenshotsDir, 'config-editor-errors-dark.png') });

    // a problem found by the host (semantic: n_embd % n_head) shows on its field
    await p.send({
      type: 'config/document',
      text: configText,
      version: 5,
      problems: [{ key: 'model.n_embd', message: '384 is not divisible by model.n_head 5' }],
      vocab: { size: 65, source: '' },
    });
    await p.page.waitForFunction(() =>
      document.querySelector('#f-model-n_embd-error')?.textContent.includes('divisible'),
    );
    // invalid JSON in the text editor: a banner, the form disabled
    await p.send({
      type: 'config/document',
      text: '{ "model": ',
      version: 6,
      problems: [],
      vocab: { size: 65, source: '' },
    });
    await p.page.waitForFunction(() => document.querySelector('.banner')?.textContent.includes('not valid JSON'));
    await noProblems(p);
    await p.page.close();
  });

  test('config editor: train.lora, a group within a group: its fields edit their paths, the list of targets, the trainable figure', async () => {
    const p = await h.open('configEditor');
    const text = JSON.stringify({ ...JSON.parse(configText), train: { init_from: 'gpt2', lora: { rank: 8 } } });
    await p.send(initMessage(text));
    await p.page.waitForSelector('[data-field="train.lora.rank"]');
    assert.equal(await p.page.locator('#f-train-lora-rank').evaluate((e: { value: string }) => e.value), '8');
    assert.equal(
      await p.page.locator('#f-train-lora-targets').getAttribute('placeholder'),
      'q, k, v, o, gate, up, down',
    );
    // GPT-2 124M at rank 8: its adapters alone train (estimate.test.ts has the count)
    assert.match(await p.page.locator('[data-figure="trainable"]').innerText(), /1\.33 M/);
    await p.page.locator('#f-train-lora-rank input').fill('16');
    const rank = await waitForPosted(p, (m) => m.type === 'config/edit', 'rank edit');
    assert.deepEqual(rank, { type: 'config/edit', path: ['train', 'lora', 'rank'], value: 16 });
    await p.page.locator('#f-train-lora-targets input').fill('q, v');
    const targets = await waitForPosted(p, (m) => JSON.stringify(m.path) === '["train","lora","targets"]', 'targets');
    assert.deepEqual(targets.value, ['q', 'v']);
    await p.page.locator('#f-train-lora-targets input').fill('q, x');
    await p.page.waitForFunction(() =>
      document.querySelector('#f-train-lora-targets-error')?.textContent.includes('"x" is not one of'),
    );
    await noProblems(p);
    await p.page.close();
  });

  test('config editor: the document updates the form; Train and Open as Text post their messages; collapsed groups persist', async () => {
    const p = await h.open('configEditor');
    await p.send(initMessage());
    await p.page.waitForSelector('[data-field="model.n_layer"]');
    await p.send({
      type: 'config/document',
      text: configText.replace('"n_layer": 6', '"n_layer": 12'),
      version: 2,
      problems: [],
      vocab: { size: 65, source: '' },
    });
    await p.page.waitForFunction(() => document.querySelector('#f-model-n_layer').value === '12');
    await p.page.locator('#train').click();
    await waitForPosted(p, (m) => m.type === 'config/train', 'train');
    await p.page.locator('#open-text').click();
    await waitForPosted(p, (m) => m.type === 'config/openText', 'openText');
    await p.page
      .locator('vscode-collapsible[data-group="logging"]')
      .evaluate((e: { open: boolean; shadowRoot: { querySelector(s: string): { click(): void } } }) =>
        e.shadowRoot.querySelector('.collapsible-header').click(),
      );
    await p.page.waitForFunction(() => (window.__state?.collapsed ?? []).includes('logging'));
    await noProblems(p);
    await p.page.close();
  });

  test('metrics: messages draw points for several runs; appends grow the charts; state persists', async () => {
    const p = await h.open('metrics');
    const runs = [
      fakeRun('/w/runs/a', 400, { seed: 1, mfu: true }),
      fakeRun('/w/runs/b', 200, { seed: 2, mfu: true, maxIters: 4000 }),
    ];
    await p.send({ type: 'metrics/reset', runs });
    await p.page.waitForFunction(() => window.wordplayCharts.loss.data.datasets.length === 6);
    const counts = await p.page.evaluate(() => {
      const chart = window.wordplayCharts.loss;
      return chart.data.datasets.map((d: { label: string; _data?: unknown[]; data: unknown[] }, i: number) => ({
        label: d.label,
        points: (d._data ?? d.data).length,
        drawn: chart.getDatasetMeta(i).data.length,
      }));
    });
    assert.deepEqual(
      counts.map((c: { label: string }) => c.label),
      ['a · train (raw)', 'a · train (smoothed)', 'a · val', 'b · train (raw)', 'b · train (smoothed)', 'b · val'],
    );
    assert.equal(counts[0].points, 400);
    assert.ok(
      counts.every((c: { drawn: number }) => c.drawn > 0),
      JSON.stringify(counts),
    );
    assert.match(await p.page.locator('#loss-summary').innerText(), /a: iteration 3990, train loss \d\.\d{4}/);
    assert.match(await p.page.locator('#mfu-summary').innerText(), /MFU 3\d\.\d%/);

    const append = fakeRun('/w/runs/a', 0);
    append.train = {
      iter: [4000, 4010],
      loss: [0.9, 0.8],
      lr: [6e-5, 6e-5],
      tokensPerS: [40000, 41000],
      mfu: [0.3, 0.3],
    };
    append.status = 'finished';
    append.samples = [];
    await p.send({ type: 'metrics/append', runs: [append] });
    await p.page.waitForFunction(() => window.wordplayCharts.lr.data.datasets[0].data.length === 402);
    assert.match(await p.page.locator('#lr-summary').innerText(), /iteration 4010/);
    assert.match(await p.page.locator('.runs').innerText(), /finished/);

    // the smoothing control is saved with setState
    await p.page.locator('#smoothing').fill('0.9');
    await p.page.waitForFunction(() => window.__state?.smoothing === 0.9);
    assert.deepEqual(((await p.state()) as { runs: string[] }).runs, ['/w/runs/a', '/w/runs/b']);
    // PNG export goes through the host
    await p.page.locator('[data-chart="loss"] .png').click();
    const png = await waitForPosted(p, (m) => m.type === 'metrics/exportPng', 'exportPng');
    assert.equal(png.chart, 'loss');
    assert.match(String(png.dataUrl), /^data:image\/png;base64,/);
    await p.page.locator('#export-csv').click();
    await waitForPosted(p, (m) => m.type === 'metrics/exportCsv', 'exportCsv');
    await noProblems(p);
    const saved = await p.state();
    await p.page.close();

    // a reloaded view restores its state
    const again = await h.open('metrics', { state: saved });
    assert.equal(await again.page.locator('#smoothing').inputValue(), '0.9');
    await again.page.close();
  });

  test('metrics: val bits per byte are charted for runs whose datasets have byte counts, and the others say why not', async () => {
    const p = await h.open('metrics');
    // a GPT-2 run (about 0.3 tokens per byte) and a char run of a dataset without byte counts
    const runs = [
      fakeRun('/w/runs/gpt2', 400, { seed: 1, tokensPerByte: 0.3 }),
      fakeRun('/w/runs/old-char', 400, { seed: 2, tokensPerByte: null }),
    ];
    await p.send({ type: 'metrics/reset', runs });
    await p.page.waitForFunction(() => window.wordplayCharts.bpb.data.datasets.length === 2);
    const drawn = await p.page.evaluate(() =>
      window.wordplayCharts.bpb.data.datasets.map((d: { label: string; data: { x: number; y: number }[] }) => ({
        label: d.label,
        points: d.data,
      })),
    );
    assert.deepEqual(
      drawn.map((d: { label: string }) => d.label),
      ['gpt2 · val bits per byte', 'old-char · val bits per byte'],
    );
    const expected = runs[0].eval.iter.map((x, i) => ({ x, y: (runs[0].eval.valLoss[i] * 0.3) / Math.LN2 }));
    assert.equal(drawn[0].points.length, expected.length);
    drawn[0].points.forEach((pt: { x: number; y: number }, i: number) => {
      assert.equal(pt.x, expected[i].x);
      assert.ok(Math.abs(pt.y - expected[i].y) < 1e-12, `${pt.y} vs ${expected[i].y}`);
    });
    assert.deepEqual(drawn[1].points, [], 'no bits per byte is invented for the older dataset');
    const summary = await p.page.locator('#bpb-summary').innerText();
    assert.match(summary, /gpt2: val \d\.\d{4} bits per byte at iteration 3750/);
    assert.match(summary, /old-char: no bits per byte/);
    assert.equal(await p.page.locator('[data-chart="bpb"] canvas').getAttribute('role'), 'img');
    assert.match((await p.page.locator('#bpb-description').textContent()) ?? '', /compare/);
    assert.ok(await p.page.locator('[data-chart="bpb"] .chart-empty').isHidden());

    // appends extend the chart; the chart exports as PNG like the others
    const append = fakeRun('/w/runs/gpt2', 0);
    append.eval = { iter: [4000], trainLoss: [1.0], valLoss: [1.1], valBpb: [0.47] };
    append.samples = [];
    await p.send({ type: 'metrics/append', runs: [append] });
    await p.page.waitForFunction(() => window.wordplayCharts.bpb.data.datasets[0].data.length === 17);
    assert.match(await p.page.locator('#bpb-summary').innerText(), /gpt2: val 0\.4700 bits per byte at iteration 4000/);
    await p.page.locator('[data-chart="bpb"] .png').click();
    const png = await waitForPosted(p, (m) => m.type === 'metrics/exportPng', 'exportPng');
    assert.equal(png.chart, 'bpb');

    // only runs without byte counts: the empty chart says why
    await p.send({ type: 'metrics/reset', runs: [runs[1]] });
    await p.page.waitForFunction(() => window.wordplayCharts.bpb.data.datasets.length === 1);
    const empty = p.page.locator('[data-chart="bpb"] .chart-empty');
    await empty.waitFor({ state: 'visible' });
    assert.match(await empty.innerText(), /no byte counts|before meta\.json recorded byte counts/);
    await noProblems(p);
    await p.page.close();
  });

  test("metrics: the samples timeline lists every run's samples newest first, filters by run, takes appends, and hides a hidden run's", async () => {
    const p = await h.open('metrics');
    const runs = [fakeRun('/w/runs/a', 400, { seed: 1 }), fakeRun('/w/runs/b', 300, { seed: 2 })];
    await p.send({ type: 'metrics/reset', runs });
    const entries = () =>
      p.page
        .locator('.timeline .sample')
        .evaluateAll((items: { dataset: { run: string; iter: string } }[]) =>
          items.map((i) => `${i.dataset.run}@${i.dataset.iter}`),
        );
    const all = runs
      .flatMap((r) => r.samples.map((s) => ({ run: r.id, iter: s.iter })))
      .sort((x, y) => y.iter - x.iter);
    await p.page.waitForFunction(
      (n: number) => document.querySelectorAll('.timeline .sample').length === n,
      all.length,
    );
    assert.deepEqual(
      (await entries()).map((e) => Number(e.split('@')[1])),
      all.map((e) => e.iter),
      'newest first',
    );
    assert.equal(await p.page.locator('.timeline .sample pre').first().innerText(), runs[0].samples.at(-1)!.text);
    assert.match(await p.page.locator('#samples-heading').innerText(), /Samples over time/);

    // the filter: one run, saved with setState
    assert.deepEqual(await p.page.locator('#sample-run option').allInnerTexts(), ['All runs', 'a', 'b']);
    await p.page.locator('#sample-run').selectOption('/w/runs/b');
    await p.page.waitForFunction(
      (n: number) => document.querySelectorAll('.timeline .sample').length === n,
      runs[1].samples.length,
    );
    assert.ok((await entries()).every((e) => e.startsWith('/w/runs/b@')));
    assert.equal(((await p.state()) as { sampleRun: string }).sampleRun, '/w/runs/b');

    // an append adds its sample to the top of the run's entries
    const append = fakeRun('/w/runs/b', 0);
    append.samples = [{ iter: 9000, text: 'the newest words' }];
    await p.send({ type: 'metrics/append', runs: [append] });
    await p.page.waitForFunction(
      () => document.querySelector('.timeline .sample')?.getAttribute('data-iter') === '9000',
    );
    assert.equal(await p.page.locator('.timeline .sample pre').first().innerText(), 'the newest words');

    // by keyboard back to every run; a run unticked in the list leaves the timeline too
    await p.page.locator('#sample-run').focus();
    await p.page.keyboard.press('Home');
    await p.page.waitForFunction(
      (n: number) => document.querySelectorAll('.timeline .sample').length === n,
      all.length + 1,
    );
    await p.page.locator('.runs vscode-checkbox[data-run="/w/runs/b"]').click();
    await p.page.waitForFunction(
      (n: number) => document.querySelectorAll('.timeline .sample').length === n,
      runs[0].samples.length,
    );
    assert.deepEqual(await p.page.locator('#sample-run option').allInnerTexts(), ['All runs', 'a']);
    await noProblems(p);
    await p.page.close();
  });

  test('run card: differing config keys first and marked, the same ones folded, dataset verdict and results', async () => {
    const row = (label: string, a: string, b: string) => ({ label, a, b, same: a === b });
    const card = {
      names: ['lr-high', 'lr-low'],
      dirs: ['/w/runs/lr-high', '/w/runs/lr-low'],
      config: [
        row('data.dataset', '"/w/data/shakespeare-char"', '"/w/data/shakespeare-char"'),
        row('model.n_layer', '1', '1'),
        row('optimizer.learning_rate', '0.01', '0.002'),
      ],
      dataset: [
        row('path', '/w/data/shakespeare-char', '/w/data/shakespeare-char'),
        row('sha256', 'ab'.repeat(32), 'ab'.repeat(32)),
      ],
      sameDataset: true,
      environment: [row('torch', '2.5.1', '2.5.1'), row('threads', '4', '2')],
      results: [row('final val loss', '2.3012', '2.6871'), row('wall time', '1m 05s', '58s')],
    };
    for (const theme of ['light', 'dark'] as const) {
      const p = await h.open('runCard', { theme, viewport: { width: 1000, height: 800 } });
      await p.send({ type: 'runCard/show', card });
      await p.page.waitForSelector('#config tr.differs');
      assert.deepEqual(
        await p.page
          .locator('#config tr.differs')
          .evaluateAll((rows: { dataset: { key: string } }[]) => rows.map((r) => r.dataset.key)),
        ['optimizer.learning_rate'],
      );
      assert.match(
        await p.page.locator('#config tr.differs').innerText(),
        /differs/,
        'marked in words, not colour alone',
      );
      assert.match(await p.page.locator('#config-title').innerText(), /1 key differs/);
      const folded = p.page.locator('#config details.same-keys');
      assert.match(await folded.locator('summary').innerText(), /2 keys the same/);
      assert.ok(await folded.locator('tr[data-key="model.n_layer"]').isHidden());
      await folded.locator('summary').focus();
      await p.page.keyboard.press('Enter');
      assert.ok(await folded.locator('tr[data-key="model.n_layer"]').isVisible(), 'the keyboard unfolds the same keys');
      assert.match(await p.page.locator('#dataset .verdict').innerText(), /Same dataset/);
      assert.deepEqual(
        await p.page
          .locator('#environment tr.differs')
          .evaluateAll((rows: { dataset: { key: string } }[]) => rows.map((r) => r.dataset.key)),
        ['threads'],
      );
      assert.equal(await p.page.locator('#results tr[data-key="final val loss"] td').first().innerText(), '2.3012');
      await p.page.screenshot({ path: path.join(screenshotsDir, `run-card-${theme}.png`), fullPage: true });
      await noProblems(p);
      await p.page.close();
    }
  });

  // how long the first draw takes is a benchmark: bench/dashboard.ts, in `npm run bench`
  test('metrics: 100,000 points are decimated when drawn', async () => {
    const p = await h.open('metrics');
    await p.send({ type: 'metrics/reset', runs: [fakeRun('/w/runs/long', 100_000, { every: 1 })] });
    await p.page.waitForFunction(() => window.wordplayCharts.loss.getDatasetMeta(0).data.length > 0);
    const drawn = await p.page.evaluate(() => window.wordplayCharts.loss.getDatasetMeta(0).data.length);
    assert.ok(drawn < 10_000, `decimated to ${drawn} points`);
    await p.page.close();
  });

  test('metrics: a theme switch redraws with the new colours', async () => {
    const p = await h.open('metrics', { theme: 'light' });
    await p.send({ type: 'metrics/reset', runs: [fakeRun('/w/runs/a', 300, { seed: 3 })] });
    await p.page.waitForFunction(() => window.wordplayCharts.lr.data.datasets.length === 1);
    const read = () =>
      p.page.evaluate(() => ({
        line: window.wordplayCharts.lr.data.datasets[0].borderColor,
        ticks: window.wordplayCharts.lr.options.scales.x.ticks.color,
        pixels: window.wordplayCharts.lr.canvas.toDataURL(),
      }));
    const light = await read();
    assert.equal(light.line, '#1a85ff');
    await p.setTheme('dark');
    await p.page.waitForFunction(() => window.wordplayCharts.lr.data.datasets[0].borderColor === '#3794ff');
    const dark = await read();
    assert.equal(dark.ticks, '#cccccc');
    assert.notEqual(dark.ticks, light.ticks);
    assert.notEqual(dark.pixels, light.pixels, 'the canvas was redrawn');
    await noProblems(p);
    await p.page.close();
  });

  test('keyboard: every control of both apps is reachable with Tab', async () => {
    const p = await h.open('metrics');
    await p.send({ type: 'metrics/reset', runs: [fakeRun('/w/runs/a', 50)] });
    await p.page.waitForSelector('.runs vscode-checkbox');
    const reached = new Set<string>();
    for (let i = 0; i < 16; i++) {
      await p.page.keyboard.press('Tab');
      reached.add(
        await p.page.evaluate(() => {
          const a = document.activeElement;
          return a ? a.id || a.getAttribute('data-run') || a.getAttribute('aria-label') || a.tagName : '';
        }),
      );
    }
    for (const want of [
      'pick-runs',
      'export-csv',
      '/w/runs/a',
      'smoothing',
      'show-raw',
      'Export the loss chart as PNG',
      'Export the val bits per byte chart as PNG',
      'Export the mfu chart as PNG',
    ]) {
      assert.ok(reached.has(want), `Tab reaches ${want}; reached ${[...reached].join(', ')}`);
    }
    // every chart has a text alternative
    for (const id of ['loss', 'bpb', 'lr', 'tokens', 'mfu']) {
      assert.equal(await p.page.locator(`[data-chart="${id}"] canvas`).getAttribute('role'), 'img');
      assert.ok((await p.page.locator(`#${id}-summary`).innerText()).startsWith('Latest'));
    }
    await p.page.close();

    const c = await h.open('configEditor');
    await c.send(initMessage());
    await c.page.waitForSelector('[data-field="model.n_layer"]');
    // every field has a label pointing at it
    const unlabelled = await c.page.evaluate(() =>
      [...document.querySelectorAll('[data-key]')]
        .filter(
          (f: { id: string; tagName: string }) =>
            f.tagName !== 'VSCODE-CHECKBOX' && !document.querySelector(`vscode-label[for="${f.id}"]`),
        )
        .map((f: { id: string }) => f.id),
    );
    assert.deepEqual(unlabelled, []);
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      await c.page.keyboard.press('Tab');
      ids.add(await c.page.evaluate(() => document.activeElement?.id ?? ''));
    }
    assert.ok(ids.has('open-text') && ids.has('train') && ids.has('f-data-dataset'), [...ids].join(', '));
    await c.page.close();
  });

  test('screenshots of both apps in light and dark themes', async () => {
    for (const theme of ['light', 'dark'] as const) {
      const c = await h.open('configEditor', { theme, viewport: { width: 1100, height: 820 } });
      await c.send(initMessage());
      await c.page.waitForSelector('[data-field="model.n_layer"]');
      await c.page.locator('#f-model-n_embd input').fill('390');
      await c.page.waitForTimeout(100);
      await c.send({
        type: 'config/document',
        text: configText.replace('384', '390'),
        version: 2,
        problems: [{ key: 'model.n_embd', message: '390 is not divisible by model.n_head 6; make it a multiple' }],
        vocab: { size: 65, source: 'from shakespeare-char/meta.json' },
      });
      await c.page.locator('#f-model-n_embd input').fill('384');
      await c.send(initMessage());
      await c.page.waitForTimeout(300);
      await c.page.screenshot({ path: path.join(screenshotsDir, `config-editor-${theme}.png`) });
      await c.page.close();

      const m = await h.open('metrics', { theme, viewport: { width: 1200, height: 900 } });
      await m.send({
        type: 'metrics/reset',
        runs: [
          fakeRun('/w/runs/20250611-101500-shakespeare-char', 500, { seed: 1, mfu: true, status: 'finished' }),
          fakeRun('/w/runs/20250612-093000-shakespeare-wide', 260, { seed: 4, mfu: true, maxIters: 5000 }),
        ],
      });
      await m.page.waitForTimeout(400);
      await m.page.screenshot({ path: path.join(screenshotsDir, `metrics-panel-${theme}.png`), fullPage: true });
      await m.page.close();

      const side = await h.open('metrics', { theme, viewport: { width: 330, height: 1000 } });
      await side.send({
        type: 'metrics/reset',
        runs: [fakeRun('/w/runs/20250612-093000-shakespeare-char', 300, { seed: 2 })],
      });
      await side.page.waitForTimeout(400);
      await side.page.screenshot({ path: path.join(screenshotsDir, `metrics-sidebar-${theme}.png`) });
      await side.page.close();
    }
    assert.ok(fs.readdirSync(screenshotsDir).filter((f) => f.endsWith('.png')).length >= 6);
  });
});
