// The run configuration: a config file or a preset (trainer/wordplay_trainer/presets, the same
// files the Python trainer reads), `--set group.key=value` overrides coerced by the schema's
// types, validation against schemas/run-config.schema.json with every error listed and its
// key named, defaults filled from the schema, relative paths resolved. Refused before anything
// is spawned, and checked live as the user types. The trainer checks again at run time
// (trainer/wordplay_trainer/train/config.py): the cross-field checks and the --set messages exist in
// both languages, held to the same words by the cases in test/cases/config-rules.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import gpt2 from '../../../schemas/gpt2.json';
import { UserError } from '../common/errors';
import { schemaPath, trainerDir } from '../common/paths';
import { fillModel, isHubName } from './hfConfig';
import type { RunConfig } from './runConfig';

export type { RunConfig } from './runConfig';

export interface ConfigProblem {
  key: string;
  message: string;
}

/** An invalid configuration: every problem, each naming its key. */
export class ConfigError extends UserError {
  constructor(readonly problems: ConfigProblem[]) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super(
      `the run configuration has ${problems.length} ${noun}:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

export const presetsDir = path.join(trainerDir, 'wordplay_trainer', 'presets');
/** train.init_from's words that name no folder: GPT-2's hub checkpoints come from schemas/gpt2.json. */
export const INIT_KEYWORDS = ['scratch', 'resume', ...Object.keys(gpt2.models)];

export function presetNames(): string[] {
  return fs
    .readdirSync(presetsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

interface PropertySchema {
  type?: string | string[];
  properties?: Record<string, PropertySchema>;
  default?: unknown;
}

let schemaCache: { schema: PropertySchema & Record<string, unknown>; validate: ReturnType<Ajv['compile']> } | undefined;

function schema() {
  if (!schemaCache) {
    const json = JSON.parse(fs.readFileSync(schemaPath('run-config'), 'utf8'));
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    schemaCache = { schema: json, validate: ajv.compile(json) };
  }
  return schemaCache;
}

/** A config file path or a preset name: its contents, the folder its relative paths are
 *  relative to (the file's folder; the cwd for a preset), and its name for run folders. */
export function readConfigSource(
  source: string,
  cwd = process.cwd(),
): { config: Record<string, unknown>; baseDir: string; name: string } {
  const file = path.resolve(cwd, source);
  if (fs.existsSync(file) && fs.statSync(file).isFile()) {
    let config: unknown;
    try {
      config = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError([{ key: file, message: `not valid JSON (${(err as Error).message}); fix the file` }]);
    }
    if (!config || typeof config !== 'object' || Array.isArray(config)) {
      throw new ConfigError([{ key: file, message: 'must hold a JSON object with the groups data, model, train ...' }]);
    }
    const name = path
      .basename(file)
      .replace(/\.json$/, '')
      .replace(/\.wordplay$/, '');
    return { config: config as Record<string, unknown>, baseDir: path.dirname(file), name };
  }
  const preset = path.join(presetsDir, `${source}.json`);
  if (/^[\w.-]+$/.test(source) && !source.endsWith('.json') && fs.existsSync(preset)) {
    return { config: JSON.parse(fs.readFileSync(preset, 'utf8')), baseDir: cwd, name: source };
  }
  throw new ConfigError([
    {
      key: '--config',
      message: `"${source}" is neither a config file nor a preset; presets: ${presetNames().join(', ')}`,
    },
  ]);
}

function coerce(raw: string, spec: PropertySchema, key: string): unknown {
  const types = Array.isArray(spec.type) ? spec.type : [spec.type ?? 'string'];
  if (types.includes('null') && ['null', 'none', 'None'].includes(raw)) return null;
  for (const t of types) {
    if (t === 'integer' && /^[+-]?\d+$/.test(raw.trim())) return Number(raw);
    if (t === 'number' && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
    if (t === 'boolean') {
      if (['true', '1', 'yes', 'on'].includes(raw.toLowerCase())) return true;
      if (['false', '0', 'no', 'off'].includes(raw.toLowerCase())) return false;
    }
    if (t === 'array') return raw.trim() ? raw.split(',').map((word) => word.trim()) : []; // q,k,v
    if (t === 'string') return raw;
  }
  throw new ConfigError([{ key, message: `"${raw}" is not a valid ${types.join(' or ')}` }]);
}

/** Applies `group.key=value` overrides in place (group.sub.key for a group within a group:
 *  train.lora.rank), each coerced by the schema's type. */
export function applyOverrides(config: Record<string, unknown>, overrides: string[]): void {
  const groups = schema().schema.properties ?? {};
  const problems: ConfigProblem[] = [];
  for (const item of overrides) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const [group, ...names] = key.split('.');
    if (eq < 0 || !names.length || (names.length === 1 && !names[0])) {
      problems.push({ key: key || '--set', message: `--set takes group.key=value, got "${item}"` });
      continue;
    }
    // own properties only: "__proto__" or "constructor" are no groups or keys
    const gspec = Object.hasOwn(groups, group) ? groups[group] : undefined;
    if (!gspec || gspec.type !== 'object') {
      const names = Object.entries(groups)
        .filter(([, s]) => s.type === 'object')
        .map(([g]) => g);
      problems.push({ key, message: `unknown group "${group}"; groups: ${names.join(', ')}` });
      continue;
    }
    let spec: PropertySchema | undefined = gspec;
    let where = group;
    for (const name of names) {
      const keys: Record<string, PropertySchema> = spec.properties ?? {};
      if (!Object.hasOwn(keys, name)) {
        problems.push({ key, message: `unknown key "${name}" in ${where}; keys: ${Object.keys(keys).join(', ')}` });
        spec = undefined;
        break;
      }
      spec = keys[name];
      where = `${where}.${name}`;
    }
    if (!spec) continue;
    try {
      const value = coerce(item.slice(eq + 1), spec, key);
      let node = config;
      for (const name of [group, ...names.slice(0, -1)]) {
        const inner = node[name];
        if (!inner || typeof inner !== 'object' || Array.isArray(inner)) node[name] = {};
        node = node[name] as Record<string, unknown>;
      }
      node[names[names.length - 1]] = value;
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length) throw new ConfigError(problems);
}

function keyOf(error: ErrorObject): ConfigProblem {
  const base = error.instancePath.split('/').filter(Boolean).join('.');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    // an empty key is still named
    return { key: [base, extra === '' ? '""' : extra].filter(Boolean).join('.'), message: 'unknown key' };
  }
  return { key: base || '(config)', message: error.message ?? 'invalid' };
}

/** Fills defaults in place (ajv useDefaults) and returns every problem, schema then semantic. */
export function validateConfig(config: Record<string, unknown>): ConfigProblem[] {
  const { validate } = schema();
  if (validate(config)) return semanticProblems(config as unknown as RunConfig);
  const seen = new Set<string>();
  return (validate.errors ?? [])
    .filter((e) => e.keyword !== 'if')
    .map(keyOf)
    .filter((p) => !seen.has(`${p.key}:${p.message}`) && seen.add(`${p.key}:${p.message}`));
}

/** The cross-field checks (the Python trainer's semantic_problems, word for word). */
export function semanticProblems(c: RunConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { model: m, optimizer: o, train: t, distributed: d } = c;
  if (m.head_dim === null && m.n_embd % m.n_head) {
    problems.push({
      key: 'model.n_embd',
      message: `${m.n_embd} is not divisible by model.n_head ${m.n_head}; make it a multiple`,
    });
  }
  if (m.n_kv_head !== null && m.n_head % m.n_kv_head) {
    problems.push({
      key: 'model.n_kv_head',
      message: `${m.n_kv_head} does not divide model.n_head ${m.n_head}; make it a divisor`,
    });
  }
  const head = m.head_dim ?? m.n_embd / m.n_head;
  if (m.position === 'rope' && head % 2 === 1) {
    const pairs = "rope turns a head's dimensions in pairs, so the head size must be even";
    if (m.head_dim !== null)
      problems.push({ key: 'model.head_dim', message: `${head} is odd: model.position ${pairs}` });
    else {
      problems.push({
        key: 'model.n_embd',
        message: `${m.n_embd} / model.n_head ${m.n_head} is ${head}, odd: model.position ${pairs}`,
      });
    }
  }
  if (o.min_lr > o.learning_rate) {
    problems.push({
      key: 'optimizer.min_lr',
      message: `${o.min_lr} exceeds optimizer.learning_rate ${o.learning_rate}; lower it`,
    });
  }
  if (o.lr_decay_iters !== null && o.lr_decay_iters < o.warmup_iters) {
    problems.push({ key: 'optimizer.lr_decay_iters', message: 'must be at least optimizer.warmup_iters' });
  }
  if (t.time_budget_s !== null && o.decay_lr && t.max_iters <= o.warmup_iters) {
    problems.push({
      key: 'train.max_iters',
      message: `${t.max_iters} ends the run within its warmup (optimizer.warmup_iters ${o.warmup_iters}), before train.time_budget_s is used; raise it well beyond the warmup`,
    });
  }
  if (d.node_rank >= d.nnodes) {
    problems.push({ key: 'distributed.node_rank', message: `must be below distributed.nnodes (${d.nnodes})` });
  }
  const world = d.nproc_per_node * d.nnodes;
  if (t.gradient_accumulation_steps % world) {
    problems.push({
      key: 'train.gradient_accumulation_steps',
      message: `${t.gradient_accumulation_steps} must be a multiple of the ${world} processes (it counts micro-batches over all processes)`,
    });
  }
  if (o.name === 'muon' && d.backend === 'deepspeed') {
    problems.push({
      key: 'optimizer.name',
      message:
        'muon cannot run under distributed.backend deepspeed (ZeRO flattens the matrices Muon orthogonalises); use adamw, or backend ddp',
    });
  }
  if (t.lora.rank !== null) problems.push(...loraProblems(t.init_from, o.name, d.backend));
  return problems;
}

/** What train.lora (a rank set) cannot run with. */
function loraProblems(initFrom: string, optimizer: string, backend: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (initFrom === 'scratch') {
    problems.push({
      key: 'train.lora.rank',
      message:
        'LoRA adapts pretrained weights, and train.init_from scratch has none; set train.init_from to gpt2*, a Hugging Face folder or resume, or train.lora.rank to null',
    });
  }
  if (optimizer === 'muon') {
    problems.push({
      key: 'optimizer.name',
      message:
        "muon does not train LoRA's adapters (train.lora.rank is set): it orthogonalises whole hidden matrices, not low-rank factors; use adamw",
    });
  }
  if (backend !== 'ddp') {
    problems.push({
      key: 'distributed.backend',
      message: `${backend} does not run LoRA (train.lora.rank is set): the frozen base is not sharded; use ddp, each process holding the base once`,
    });
  }
  return problems;
}

function resolvePaths(config: Record<string, unknown>, baseDir: string): void {
  const data = config.data as Record<string, unknown> | undefined;
  if (data && typeof data.dataset === 'string' && data.dataset) data.dataset = path.resolve(baseDir, data.dataset);
  const train = config.train as Record<string, unknown> | undefined;
  const init = train?.init_from;
  if (typeof init === 'string' && init && !INIT_KEYWORDS.includes(init)) {
    // owner/name is a model on the hub, unless a folder of that name is there
    const folder = path.resolve(baseDir, init);
    if (!isHubName(init) || (fs.existsSync(folder) && fs.statSync(folder).isDirectory())) train!.init_from = folder;
  }
}

export interface LoadedConfig {
  /** Every default filled, paths absolute, valid. */
  config: RunConfig;
  /** The file's name without .json / .wordplay.json, or the preset's name. */
  name: string;
}

/** Loads, overrides, fills, validates; throws ConfigError listing every problem. */
export function loadConfig(source: string, overrides: string[] = [], cwd = process.cwd()): LoadedConfig {
  const { config, baseDir, name } = readConfigSource(source, cwd);
  const copy = structuredClone(config);
  // the file's relative paths resolve against its folder, those given by --set against the cwd
  resolvePaths(copy, baseDir);
  applyOverrides(copy, overrides);
  resolvePaths(copy, cwd);
  // a pretrained model's shape first, then the schema's defaults
  const pretrained = fillModel(copy);
  if (pretrained.length) throw new ConfigError(pretrained);
  const problems = validateConfig(copy);
  if (problems.length) throw new ConfigError(problems);
  // defaults filled by ajv may be relative (data.dataset's default): against the config's folder
  resolvePaths(copy, baseDir);
  return { config: copy as unknown as RunConfig, name };
}
