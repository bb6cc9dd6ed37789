// A pretrained model's shape and architecture, as train.init_from names it: one of GPT-2's hub
// names (schemas/gpt2.json), a Hugging Face folder's config.json, or a hub name (owner/name) the
// trainer has downloaded into the Hugging Face cache. schemas/hf-models.json maps each family's
// config.json onto the run config's model group; what our GPT does not reproduce exactly is
// refused by name. The trainer's train/hf_config.py does the same, in the same words (both held
// to test/cases/pretrained-rules.json), so a config is refused before anything is spawned. The
// extension downloads nothing: a hub name not in the cache yet is refused with the command that
// fetches it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import gpt2 from '../../../schemas/gpt2.json';
import hf from '../../../schemas/hf-models.json';
import schema from '../../../schemas/run-config.schema.json';
import { UserError } from '../common/errors';

interface Family {
  class: string;
  options: Record<string, unknown>;
  keys: Record<string, string>;
  defaults: Record<string, unknown>;
  positions: string;
  supported: Record<string, unknown[]>;
  layer_types: string[] | null;
}

const FAMILIES = hf.families as Record<string, Family>;
const NUMBER_KEYS = ['rope_base', 'norm_eps'];
const MODEL_KEYS = schema.properties.model.properties as Record<string, { default?: unknown }>;

/** A problem with the config, naming its key (config.ts's ConfigProblem). */
export interface Problem {
  key: string;
  message: string;
}

/** What a pretrained model fixes: the model group's keys and where each comes from, the context
 *  it was trained for and its vocabulary. */
export interface Pretrained {
  source: string;
  /** Undefined for a GPT-2 hub name, which transformers fetches itself. */
  folder?: string;
  family: string;
  model: Record<string, unknown>;
  why: Record<string, string>;
  positions: number;
  positionsWhy: string;
  vocabSize: number;
}

/** A model's read failed: the message names the file at fault and the fix. */
class Refused extends Error {}

/** owner/name, as the hub spells its models (a folder of that name wins). */
export function isHubName(source: string): boolean {
  return new RegExp(hf.hub_name).test(source);
}

/** JSON.stringify of a value JSON may leave out (undefined reads null, as Python's None). */
const js = (value: unknown): string => JSON.stringify(value ?? null);

/** The Hugging Face cache huggingface_hub downloads into (its own rule). */
export function hubCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The local folder of a folder or hub name (a hub name from the cache, as the trainer left it). */
function locate(source: string): string {
  if (isDir(source)) return source;
  if (!isHubName(source)) {
    throw new Refused(
      `${source} is not a folder: name a Hugging Face model folder (config.json, model.safetensors, tokenizer.json), a hub name such as HuggingFaceTB/SmolLM2-135M, or gpt2`,
    );
  }
  const repo = path.join(hubCache(), hf.cache.repo_prefix + source.split('/').join(hf.cache.separator));
  try {
    const snapshot = path.join(repo, hf.cache.snapshots, fs.readFileSync(path.join(repo, hf.cache.ref), 'utf8').trim());
    if (isDir(snapshot)) return snapshot;
  } catch {
    // not downloaded yet
  }
  throw new Refused(
    `${source} is not in this machine's Hugging Face cache (${hubCache()}) yet, so its shape is unknown here; download it once with \`wordplay export --from ${source} --run <a new run folder>\` (it needs the network, and makes a run that completes with the model), or name a local Hugging Face folder`,
  );
}

/** The local folder of a model folder or of a hub name already in the Hugging Face cache (for
 *  `wordplay prepare --tokenizer HuggingFaceTB/SmolLM2-135M`); a UserError says how to get it. */
export function modelFolder(source: string): string {
  try {
    return locate(source);
  } catch (err) {
    throw err instanceof Refused ? new UserError(err.message) : err;
  }
}

/** What `source` (a GPT-2 name, a folder or a cached hub name) fixes (the config editor's
 *  figures may read a folder's shape and vocabulary here). Throws an Error whose message names
 *  the file at fault and the fix. */
export function readPretrained(source: string): Pretrained {
  const shapes = gpt2.models as Record<string, { n_layer: number; n_head: number; n_embd: number }>;
  if (Object.hasOwn(shapes, source)) {
    const shape = { ...shapes[source], n_kv_head: null, head_dim: null, mlp_hidden: null, norm_eps: 1e-5 };
    const model = { ...FAMILIES.gpt2.options, ...resolved(shape, 'gpt2') };
    const why = Object.fromEntries(Object.keys(model).map((k) => [k, "GPT-2's"]));
    return {
      source,
      family: 'gpt2',
      model,
      why,
      positions: gpt2.block_size,
      positionsWhy: "GPT-2's",
      vocabSize: gpt2.vocab_size,
    };
  }
  const folder = locate(source);
  const file = path.join(folder, hf.files.config);
  if (!fs.existsSync(file)) {
    throw new Refused(
      `${file} is missing: ${folder} is not a Hugging Face model folder; name the folder that holds config.json and the weights`,
    );
  }
  let hc: unknown;
  try {
    hc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Refused(`${file} is not valid JSON (${(err as Error).message}); download the model again`);
  }
  if (!hc || typeof hc !== 'object' || Array.isArray(hc))
    throw new Refused(`${file} must hold a JSON object; download the model again`);
  return fromConfig(hc as Record<string, unknown>, file, source);
}

/** config.json's settings as the model group's keys, through hf-models.json. */
export function fromConfig(hc: Record<string, unknown>, file: string, source: string): Pretrained {
  const refuse = (what: string) => new Refused(`${file}: ${what}`);
  const family = hc.model_type;
  if (typeof family !== 'string' || !Object.hasOwn(FAMILIES, family)) {
    throw refuse(
      `model_type ${js(family)} is not one wordplay's GPT reads (${Object.keys(FAMILIES).join(', ')}); choose a model of those families, or train from scratch`,
    );
  }
  const spec = FAMILIES[family];
  if (Array.isArray(hc.architectures) && !hc.architectures.includes(spec.class)) {
    throw refuse(
      `architectures ${js(hc.architectures)} does not name ${spec.class}, the class whose weights wordplay's GPT reads; choose the model's causal language model`,
    );
  }
  for (const [name, allowed] of Object.entries(spec.supported)) {
    let value: unknown = hc[name] ?? null;
    if (value === null && !allowed.includes(null)) value = allowed[0]; // left out or null: transformers' default
    if (!allowed.some((a) => a === value)) {
      throw refuse(
        `${name} ${js(value)} is not reproduced exactly by wordplay's GPT (it takes ${allowed.map(js).join(' or ')}), so it is refused rather than approximated; choose a model without it, or train from scratch`,
      );
    }
  }
  if (spec.layer_types && Array.isArray(hc.layer_types)) {
    for (const value of hc.layer_types) {
      if (!spec.layer_types.includes(value)) {
        throw refuse(
          `layer_types holds ${js(value)}: only ${spec.layer_types.map(js).join(' or ')} layers are reproduced exactly, so it is refused rather than approximated; choose a model without it, or train from scratch`,
        );
      }
    }
  }
  const raw: Record<string, unknown> = {};
  for (const [ours, theirs] of Object.entries(spec.keys)) {
    let value: unknown = hc[theirs] ?? null;
    if (value === null) {
      if (!Object.hasOwn(spec.defaults, theirs))
        throw refuse(`${theirs} is missing (it gives model.${ours}); download the model again`);
      value = spec.defaults[theirs];
    }
    raw[ours] = checked(ours, theirs, value, refuse);
  }
  const model = { ...spec.options, ...resolved(raw, family, refuse) };
  const why: Record<string, string> = {};
  for (const [ours, theirs] of Object.entries(spec.keys)) why[ours] = `config.json's ${theirs}`;
  for (const ours of Object.keys(spec.options)) why[ours] = `its model_type ${family}`;
  for (const ours of Object.keys(model)) why[ours] ??= 'its config.json'; // by our rule, from the shape
  const positionsKey = spec.positions;
  const positions = checked('block_size', positionsKey, hc[positionsKey] ?? spec.defaults[positionsKey], refuse);
  const vocabSize = checked('vocab_size', 'vocab_size', hc.vocab_size, refuse);
  return {
    source,
    folder: path.dirname(file),
    family,
    model,
    why,
    positions: positions as number,
    positionsWhy: `config.json's ${positionsKey}`,
    vocabSize: vocabSize as number,
  };
}

function checked(ours: string, theirs: string, value: unknown, refuse: (what: string) => Error): unknown {
  if (ours === 'tie_embeddings') {
    if (typeof value !== 'boolean')
      throw refuse(`${theirs} ${js(value)} must be true or false; download the model again`);
    return value;
  }
  if ((value === null || value === undefined) && ['n_kv_head', 'head_dim', 'mlp_hidden'].includes(ours)) return null;
  if (NUMBER_KEYS.includes(ours)) {
    if (typeof value !== 'number' || !(value > 0))
      throw refuse(`${theirs} ${js(value)} must be a positive number; download the model again`);
    return value;
  }
  if (typeof value !== 'number' || !(value > 0) || !Number.isInteger(value))
    throw refuse(`${theirs} ${js(value)} must be a positive integer; download the model again`);
  return value;
}

/** The shape with our null rules made explicit (so config.json in a run shows it whole). */
function resolved(raw: Record<string, unknown>, family: string, refuse?: (what: string) => Error) {
  const keys = FAMILIES[family].keys;
  const shape = { n_kv_head: null, head_dim: null, ...raw } as Record<string, number | null>;
  const [nHead, nEmbd] = [shape.n_head as number, shape.n_embd as number];
  shape.n_kv_head ??= nHead;
  if (shape.head_dim === null) {
    if (nEmbd % nHead && refuse)
      throw refuse(
        `${keys.n_embd} ${nEmbd} is not divisible by ${keys.n_head} ${nHead} and it has no head_dim; download the model again`,
      );
    shape.head_dim = Math.floor(nEmbd / nHead);
  }
  shape.mlp_hidden ??= 4 * nEmbd;
  if (nHead % shape.n_kv_head && refuse)
    throw refuse(
      `${keys.n_head} ${nHead} is not a multiple of ${keys.n_kv_head} ${shape.n_kv_head}; download the model again`,
    );
  return shape;
}

/** The config stage of a pretrained train.init_from (in place, before the schema's defaults
 *  fill the rest): each model key its weights fix takes their value where the config leaves it
 *  out (or null); a key set to another value is a problem naming the key and the value they
 *  need. model.block_size may crop the context (left out: the schema's default, or the model's
 *  context when that is shorter). Returns the problems, empty when the config fits. */
export function fillModel(config: Record<string, unknown>): Problem[] {
  const train = config.train as Record<string, unknown> | undefined;
  const init = train && typeof train === 'object' ? train.init_from : undefined;
  const model = config.model ?? {};
  if (typeof init !== 'string' || ['scratch', 'resume'].includes(init) || init.includes('\0')) return [];
  if (!model || typeof model !== 'object' || Array.isArray(model)) return [];
  let p: Pretrained;
  try {
    p = readPretrained(init);
  } catch (err) {
    if (err instanceof Refused) return [{ key: 'train.init_from', message: err.message }];
    throw err;
  }
  const m = model as Record<string, unknown>;
  const problems: Problem[] = [];
  for (const [key, spec] of Object.entries(MODEL_KEYS)) {
    const value = m[key] ?? null;
    if (key === 'block_size') {
      if (value === null) m[key] = Math.min(spec.default as number, p.positions);
      else if (typeof value === 'number' && value > p.positions) {
        problems.push({
          key: `model.${key}`,
          message: `${value} exceeds the ${p.positions} positions of train.init_from ${init} (${p.positionsWhy}); set it to at most ${p.positions}`,
        });
      }
    } else if (Object.hasOwn(p.model, key) && value === null) m[key] = p.model[key];
    else if (Object.hasOwn(p.model, key) && value !== p.model[key]) {
      const need = js(p.model[key]);
      problems.push({
        key: `model.${key}`,
        message: `${js(value)} conflicts with train.init_from ${init}: its weights need ${need} (${p.why[key]}); leave it out or set it to ${need}, or train from scratch`,
      });
    }
  }
  config.model = m;
  return problems;
}
