// The one message protocol between the extension host (src/) and the webviews (webview/), both
// directions, with the runtime validators the host uses on everything a webview posts: a
// malformed message is ignored and logged, never acted on. Pure types and functions (no DOM, no
// Node), type-checked by both tsconfigs.

/** What the extension host found on this machine: the device the form's estimates assume. */
export interface DeviceInfo {
  kind: 'cuda' | 'mps' | 'cpu';
  /** e.g. "NVIDIA H100 80GB HBM3", "Apple M2", "AMD EPYC 7B13 (2 cores)". */
  name: string;
  /** Memory of one device in bytes (GPU memory; system memory for CPU and MPS), when known. */
  memoryBytes?: number;
  /** Dense peak FLOP/s at 16 bits (bf16/fp16), when known. */
  peakFlops16?: number;
  /** Dense peak FLOP/s at 32 bits (TF32 on NVIDIA GPUs that have it), when known. */
  peakFlops32?: number;
  /** CPU cores PyTorch will use (CPU only). */
  cores?: number;
  /** true when bfloat16 is supported (CUDA compute capability 8.0+). */
  bf16?: boolean;
}

/** A value a config field can hold (a list of words: train.lora.targets). */
export type FieldValue = string | number | boolean | null | string[];

export interface Problem {
  /** group.key, or "(config)" / a file for whole-document problems. */
  key: string;
  message: string;
}

/** A JSON Schema node as far as the form reads it. */
export interface SchemaNode {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  examples?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  pattern?: string;
  properties?: Record<string, SchemaNode>;
  /** A list's items, how few it may hold, whether each must differ (train.lora.targets). */
  items?: SchemaNode;
  minItems?: number;
  uniqueItems?: boolean;
}

// ---------------------------------------------------------------- config editor

export interface ConfigDocumentState {
  /** The document's full text (the form parses it itself). */
  text: string;
  /** TextDocument.version: lets the form ignore stale echoes. */
  version: number;
  /** Schema and semantic problems found by the host (src/core/train/config.ts validateConfig). */
  problems: Problem[];
  /** Vocabulary size for the estimates and where it came from. */
  vocab: { size: number; source: string };
}

export interface ConfigInitMessage extends ConfigDocumentState {
  type: 'config/init';
  schema: SchemaNode;
  fileName: string;
  device: DeviceInfo;
}

export interface ConfigDocumentMessage extends ConfigDocumentState {
  type: 'config/document';
}

/** Sets group.key (or group.sub.key: train.lora.rank) to a value (a document edit, undoable). */
export interface ConfigEditMessage {
  type: 'config/edit';
  path: string[];
  value: FieldValue;
}
/** Removes group.key (or group.sub.key) so the schema's default applies. */
export interface ConfigResetMessage {
  type: 'config/reset';
  path: string[];
}
export interface ConfigTrainMessage {
  type: 'config/train';
}
export interface ConfigOpenTextMessage {
  type: 'config/openText';
}

// ---------------------------------------------------------------- metrics dashboard

export type RunStatus = 'running' | 'finished' | 'stopped' | 'error' | 'waiting';

/** Columns of train events (one entry per event). */
export interface TrainColumns {
  iter: number[];
  loss: number[];
  lr: number[];
  tokensPerS: number[];
  mfu: (number | null)[];
}
export interface EvalColumns {
  iter: number[];
  trainLoss: number[];
  valLoss: number[];
  /** Val bits per byte; null where the eval event had none (a dataset without byte counts). */
  valBpb: (number | null)[];
}

/** One sample event's tokens as text. */
export interface SampleText {
  iter: number;
  text: string;
}

export interface RunSeries {
  /** The run folder (absolute path): the run's identity. */
  id: string;
  /** Its folder name, shown in legends. */
  name: string;
  status: RunStatus;
  maxIters?: number;
  /** Where the run is, "28/400 · ETA 3m53s", worded on the host by src/core/run/progress.ts as the
   *  notification, the status bar and the Runs tree word it. */
  position?: string;
  device?: string;
  nParams?: number;
  train: TrainColumns;
  eval: EvalColumns;
  /** Samples written during training, decoded on the host, oldest first; at most MAX_SAMPLES,
   *  thinned like the columns (src/core/run/thinSeries.ts). In an append: only the new ones. */
  samples: SampleText[];
  error?: string;
  /** The run's train.target_val_loss (a dashed line on the loss chart) and the forecast of when
   *  val loss reaches it, worded on the host by src/core/run/forecast.ts; absent without one. */
  target?: { valLoss: number; text: string };
}

/** The whole buffered state of every shown run: sent when a view loads (or reloads after being
 *  hidden) and when the set of runs changes. */
export interface MetricsResetMessage {
  type: 'metrics/reset';
  runs: RunSeries[];
}
/** Points appended since the last message, per run (same shape; columns hold only new points). */
export interface MetricsAppendMessage {
  type: 'metrics/append';
  runs: RunSeries[];
}

export interface MetricsExportPngMessage {
  type: 'metrics/exportPng';
  /** Which chart (file name stem), e.g. "loss". */
  chart: string;
  /** data:image/png;base64,... */
  dataUrl: string;
}
export interface MetricsExportCsvMessage {
  type: 'metrics/exportCsv';
}
export interface MetricsPickRunsMessage {
  type: 'metrics/pickRuns';
}

// ---------------------------------------------------------------- compare completions

/** One model's column: its label and its text so far. */
export interface CompareColumn {
  /** "run · iteration 400 · val loss 1.234" (src/core/complete/compareModels.ts). */
  label: string;
  /** The model's folder, shown small under the label. */
  dir: string;
  text: string;
  state: 'waiting' | 'generating' | 'done' | 'failed' | 'stopped';
  error?: string;
}

/** The whole comparison, sent whenever a column changes (a few kilobytes). */
export interface CompareStateMessage {
  type: 'compare/state';
  prompt: string;
  /** The settings every model shared, in words: "seed 1 · temperature 0.8 · top-k 200 · 60 tokens". */
  settings: string;
  /** The document the texts go into, for the heading. */
  document: string;
  columns: CompareColumn[];
}

/** Inserts column `column`'s text after the prompt in the document (one edit, one undo). */
export interface CompareInsertMessage {
  type: 'compare/insert';
  column: number;
}

/** At most this many models side by side. */
export const MAX_COMPARE_COLUMNS = 16;

// ---------------------------------------------------------------- run card

/** One line of a comparison: a label and each run's value in words ('—' where it has none). */
export interface RunCardRow {
  label: string;
  a: string;
  b: string;
  same: boolean;
}

/** Two runs side by side (src/core/run/runCard.ts builds it from their folders). */
export interface RunCard {
  names: [string, string];
  dirs: [string, string];
  /** Every config key as group.key, in the first run's order. */
  config: RunCardRow[];
  /** Path, sha256 and counts from each dataset's meta.json. */
  dataset: RunCardRow[];
  /** Both runs trained on the same text with the same tokenizer; null when a meta.json is missing. */
  sameDataset: boolean | null;
  /** Torch version, device, dtype, threads, world size, parameters (from the latest start event). */
  environment: RunCardRow[];
  /** Final and best val loss, best bits per byte, wall time, median tokens/s. */
  results: RunCardRow[];
}

export interface RunCardShowMessage {
  type: 'runCard/show';
  card: RunCard;
}

// ---------------------------------------------------------------- both

/** Sent by each webview once its listeners are in place; the host then sends the state. */
export interface ReadyMessage {
  type: 'ready';
}

export type HostToConfigEditor = ConfigInitMessage | ConfigDocumentMessage;
export type HostToMetrics = MetricsResetMessage | MetricsAppendMessage;
export type HostToCompare = CompareStateMessage;
export type HostToRunCard = RunCardShowMessage;
export type HostToWebview = HostToConfigEditor | HostToMetrics | HostToCompare | HostToRunCard;

export type ConfigEditorToHost =
  ReadyMessage | ConfigEditMessage | ConfigResetMessage | ConfigTrainMessage | ConfigOpenTextMessage;
export type MetricsToHost = ReadyMessage | MetricsExportPngMessage | MetricsExportCsvMessage | MetricsPickRunsMessage;
export type CompareToHost = ReadyMessage | CompareInsertMessage;
export type RunCardToHost = ReadyMessage;
export type WebviewToHost = ConfigEditorToHost | MetricsToHost | CompareToHost | RunCardToHost;

// ---------------------------------------------------------------- validators

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME = /^[A-Za-z_$][\w$]{0,63}$/;
const isFieldValue = (v: unknown): v is FieldValue =>
  v === null ||
  typeof v === 'boolean' ||
  typeof v === 'string' ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  (Array.isArray(v) && v.length <= 64 && v.every((w) => typeof w === 'string' && w.length <= 64));
const isPath = (v: unknown): v is string[] =>
  Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every((p) => typeof p === 'string' && NAME.test(p));
const hasOnly = (v: Record<string, unknown>, keys: string[]) => Object.keys(v).every((k) => keys.includes(k));

/** A PNG export may carry at most this much (a 4K chart is well below). */
export const MAX_PNG_DATA_URL = 16 * 1024 * 1024;

/** Why a message from the config editor is not acceptable, or undefined when it is. */
export function configEditorMessageProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  switch (v.type) {
    case 'ready':
    case 'config/train':
    case 'config/openText':
      return hasOnly(v, ['type']) ? undefined : 'unexpected properties';
    case 'config/edit':
      if (!hasOnly(v, ['type', 'path', 'value'])) return 'unexpected properties';
      if (!isPath(v.path)) return 'path must be [group, key] or [group, sub, key]';
      if (!('value' in v) || !isFieldValue(v.value))
        return 'value must be a string, finite number, boolean, null or a short list of words';
      if (typeof v.value === 'string' && v.value.length > 4096) return 'value too long';
      return undefined;
    case 'config/reset':
      if (!hasOnly(v, ['type', 'path'])) return 'unexpected properties';
      return isPath(v.path) ? undefined : 'path must be [group, key] or [group, sub, key]';
    default:
      return `unknown type ${JSON.stringify(v.type)}`;
  }
}

/** Why a message from the metrics dashboard is not acceptable, or undefined when it is. */
export function metricsMessageProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  switch (v.type) {
    case 'ready':
    case 'metrics/exportCsv':
    case 'metrics/pickRuns':
      return hasOnly(v, ['type']) ? undefined : 'unexpected properties';
    case 'metrics/exportPng':
      if (!hasOnly(v, ['type', 'chart', 'dataUrl'])) return 'unexpected properties';
      if (typeof v.chart !== 'string' || !/^[\w-]{1,40}$/.test(v.chart)) return 'chart must be a short name';
      if (typeof v.dataUrl !== 'string' || !v.dataUrl.startsWith('data:image/png;base64,'))
        return 'dataUrl must be a PNG data URL';
      if (v.dataUrl.length > MAX_PNG_DATA_URL) return 'dataUrl too large';
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.dataUrl.slice('data:image/png;base64,'.length)))
        return 'dataUrl is not base64';
      return undefined;
    default:
      return `unknown type ${JSON.stringify(v.type)}`;
  }
}

/** Why a message from the Compare Completions panel is not acceptable, or undefined when it is. */
export function compareMessageProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  switch (v.type) {
    case 'ready':
      return hasOnly(v, ['type']) ? undefined : 'unexpected properties';
    case 'compare/insert':
      if (!hasOnly(v, ['type', 'column'])) return 'unexpected properties';
      if (
        typeof v.column !== 'number' ||
        !Number.isInteger(v.column) ||
        v.column < 0 ||
        v.column >= MAX_COMPARE_COLUMNS
      ) {
        return `column must be a whole number from 0 to ${MAX_COMPARE_COLUMNS - 1}`;
      }
      return undefined;
    default:
      return `unknown type ${JSON.stringify(v.type)}`;
  }
}

/** Why a message from the run card is not acceptable, or undefined when it is. */
export function runCardMessageProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not an object';
  if (v.type !== 'ready') return `unknown type ${JSON.stringify(v.type)}`;
  return hasOnly(v, ['type']) ? undefined : 'unexpected properties';
}

/** The webviews' light check of what the host sends (a message of another kind is ignored). */
export function isHostMessage(v: unknown): v is HostToWebview {
  return isObject(v) && typeof v.type === 'string' && /^(config|metrics|compare|runCard)\//.test(v.type);
}

/** State a webview keeps with setState (restored after it was hidden, and by the serializer). */
export interface ConfigEditorState {
  collapsed: string[];
  scrollY: number;
}
export interface MetricsState {
  smoothing: number;
  showRaw: boolean;
  hiddenRuns: string[];
  /** The run whose samples the timeline shows; '' for every shown run. */
  sampleRun: string;
  /** The runs shown: the panel serializer restores them after a restart. */
  runs: string[];
}
