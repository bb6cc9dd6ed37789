// How wordplay names the folders and files it makes: safe names, run folders
// (<stamp>-<config name>) and the next free name beside existing ones. The rules are
// schemas/names.json's, which the trainer reads too; test/cases/names.json holds both to them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import rules from '../../../schemas/names.json';

const unsafe = new RegExp(rules.unsafe, 'g');

/** `name` with every run of characters outside letters, digits, _ . - replaced by one -. */
export function safeName(name: string): string {
  return name.replace(unsafe, rules.replacement);
}

const two = (n: number) => String(n).padStart(2, '0');

/** YYYYMMDD-HHMMSS in local time, as the trainer stamps a run folder. */
export function stamp(time: Date): string {
  return `${time.getFullYear()}${two(time.getMonth() + 1)}${two(time.getDate())}-${two(time.getHours())}${two(time.getMinutes())}${two(time.getSeconds())}`;
}

/** A run folder's name: <stamp>-<safe config name>. */
export function runFolderName(configName: string, time: Date): string {
  return `${stamp(time)}-${safeName(configName)}`;
}

/** <stem><ext>, else <stem>-2<ext>, <stem>-3<ext>, …: the first name `taken` says is free. */
export function nextFreeName(stem: string, ext: string, taken: (name: string) => boolean): string {
  let name = `${stem}${ext}`;
  for (let n = rules.first_suffix; taken(name); n++) name = `${stem}-${n}${ext}`;
  return name;
}

/** The path of the next free name in a folder: never an existing file or folder. */
export function nextFreePath(folder: string, stem: string, ext = ''): string {
  return path.join(
    folder,
    nextFreeName(stem, ext, (name) => fs.existsSync(path.join(folder, name))),
  );
}
