import { type Dirent, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { MailscopeError } from '../core/errors.ts';
import { readBounded } from '../core/read-bounded.ts';
import { RuleSchema, type Rule } from '../alerts/rules.ts';
import { findProbeKind, probeDefinitionSchema, probeLoadContext, probeLoadContextSections, type ProbeDefinition } from '../probes/index.ts';
import { interpolate, type ConfigPath, type Env, type InterpolationProblem } from './interpolate.ts';
import { errorMap } from '../core/zod-messages.ts';
import { formatProblem, problemsFromZod, type ConfigProblem } from './issues.ts';
import { InstanceSchema, ProbeFileSchema, type InstanceConfig } from './schema.ts';

export interface LoadedProbe {
  definition: ProbeDefinition;
  /** The file it came from, as shown to people (relative to the working directory when inside it). */
  file: string;
  index: number;
}

export interface LoadedRule {
  rule: Rule;
  file: string;
  index: number;
}

export interface LoadedConfig {
  /** Absolute path of the instance file. */
  configFile: string;
  instance: InstanceConfig;
  /** Absolute data directory. */
  dataDir: string;
  probeFiles: string[];
  probes: LoadedProbe[];
  rules: LoadedRule[];
}

export interface LoadOptions {
  env: Env;
  cwd: string;
}

export const defaultConfigFile = 'mailscope.yaml';

/** Thrown with every problem found, all at once; the CLI exits 2 on it. */
export class ConfigError extends MailscopeError {
  readonly problems: string[];

  constructor(problems: string[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super('CONFIG_INVALID', `invalid configuration (${count}):\n${problems.map((problem) => `  ${problem}`).join('\n')}`, {
      details: { problems },
    });
    this.problems = problems;
  }
}

function displayPath(file: string, cwd: string): string {
  const fromCwd = relative(cwd, file);
  return fromCwd !== '' && !fromCwd.startsWith('..') && !isAbsolute(fromCwd) ? fromCwd : file;
}

/**
 * What the loader reads at most, so that a wrong path (a log file, a disk image,
 * /dev/zero, the root directory) is refused quickly with a clear problem instead
 * of exhausting memory or time. Real configurations are a few kilobytes.
 */
export const configLimits = {
  /** One YAML file: the instance file or a probe file. */
  fileBytes: 1024 * 1024,
  /** The instance file and every probe file together. */
  totalBytes: 8 * 1024 * 1024,
  /** Probe files (*.yaml, *.yml) found below the probes: entries. */
  probeFiles: 1000,
  /** Directory entries looked at below the probes: directories. */
  directoryEntries: 10_000,
  /** Levels of nested mappings and lists in one file. */
  depth: 64,
} as const;

function thousands(count: number): string {
  return count.toLocaleString('en');
}

/** `1 MiB (1,048,576 bytes)` */
function sizeLimit(limit: number): string {
  return `${limit / (1024 * 1024)} MiB (${thousands(limit)} bytes)`;
}

const tooDeep = `nested more than ${configLimits.depth} levels deep (mappings and lists); a configuration needs far fewer`;

/** Deeper than the limit; stops looking as soon as it is (never recurses much further than the limit). */
function deeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  return Object.values(value).some((item) => deeperThan(item, limit - 1));
}

/** A file as read: its value with ${VAR}s resolved, and the problems of the values left unknown (a variable could not be resolved). */
interface YamlFile {
  value: unknown;
  unresolved: ConfigProblem[];
}

/** Parse one YAML file and resolve ${VAR}s; problems are collected, never thrown. */
function readYaml(file: string, shown: string, env: Env, problems: ConfigProblem[]): YamlFile | undefined {
  const read = readBounded(file, configLimits.fileBytes);
  if (!read.ok) {
    const size = read.tooLarge && read.size !== undefined ? `${thousands(read.size)} bytes, ` : '';
    const message = read.tooLarge ? `too large: ${size}more than the maximum of ${sizeLimit(configLimits.fileBytes)} for one configuration file` : `cannot read: ${read.error.message}`;
    problems.push({ file: shown, path: [], message });
    return undefined;
  }
  const document = parseDocument(read.data.toString('utf8'), { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    // The parser turns running out of stack into errors of its own: one clear problem instead.
    if (document.errors.some((error) => /Maximum call stack size exceeded|Stack overflow/.test(error.message))) {
      problems.push({ file: shown, path: [], message: tooDeep });
      return undefined;
    }
    for (const error of document.errors) {
      const position = error.linePos?.[0];
      const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      const where = position ? `line ${position.line}, column ${position.col}: ` : '';
      problems.push({ file: shown, path: [], message: `${where}${reason}` });
    }
    return undefined;
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    problems.push({ file: shown, path: [], message: (error as Error).message });
    return undefined;
  }
  if (deeperThan(value, configLimits.depth)) {
    problems.push({ file: shown, path: [], message: tooDeep });
    return undefined;
  }
  const interpolationProblems: InterpolationProblem[] = [];
  const interpolated = interpolate(value, env, interpolationProblems);
  const unresolved = interpolationProblems.map((problem) => ({ file: shown, ...problem }));
  problems.push(...unresolved);
  return { value: interpolated, unresolved };
}

function isWithin(path: ConfigPath, ancestor: ConfigPath): boolean {
  return ancestor.length <= path.length && ancestor.every((segment, index) => path[index] === segment);
}

/** Each kind's own checks of its definitions against the rest of the configuration (its checkAtLoad). */
function checkProbesAtLoad(instance: InstanceConfig, probes: readonly LoadedProbe[]): ConfigProblem[] {
  const context = probeLoadContext(instance);
  return probes.flatMap(({ definition, file, index }) =>
    (findProbeKind(definition.kind)?.checkAtLoad?.(definition, context) ?? []).map((problem) => ({ file, path: ['probes', index, ...problem.path], message: problem.message })),
  );
}

/** Every notify: entry names a notifier of the instance file. */
function checkRuleChannels(ids: readonly string[], rules: readonly LoadedRule[]): ConfigProblem[] {
  const defined = ids.length > 0 ? `defined: ${ids.join(', ')}` : 'none defined: add notifiers: to the instance file';
  return rules.flatMap(({ rule, file, index }) =>
    rule.notify.flatMap((id, position) => (ids.includes(id) ? [] : [{ file, path: ['rules', index, 'notify', position], message: `unknown notifier "${id}" (${defined})` }])),
  );
}

/**
 * What the probe files are checked against when the instance file is not valid:
 * as much of it as is known, so that their problems are reported all the same.
 * The notifier ids as written; the sections the kinds' load checks read (DNS,
 * blocklists) when they are valid on their own. Unknown is left out, never guessed.
 */
function referencesFromRaw(raw: unknown): { notifierIds?: string[]; instance?: InstanceConfig } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const written = raw as Record<string, unknown>;
  const { notifiers } = written;
  const ids = notifiers === undefined ? [] : Array.isArray(notifiers) ? notifiers.map((notifier) => (notifier as { id?: unknown } | null)?.id) : undefined;
  const given = probeLoadContextSections.filter((key) => written[key] !== undefined).map((key) => [key, written[key]]);
  const sections = InstanceSchema.safeParse(Object.fromEntries(given));
  return {
    ...(ids?.every((id) => typeof id === 'string') ? { notifierIds: ids } : {}),
    ...(sections.success ? { instance: sections.data } : {}),
  };
}

function validate<S extends z.ZodType>(schema: S, read: YamlFile | undefined, shown: string, problems: ConfigProblem[]): z.output<S> | undefined {
  if (!read) return undefined;
  const result = schema.safeParse(read.value ?? {}, { error: errorMap });
  if (result.success) return result.data;
  problems.push(...problemsFromZod(shown, result.error));
  return undefined;
}

/**
 * A value whose variable is not set is present but unknown: it has its problem
 * already, so nothing else is said at or below its path (its schema, a path
 * that does not exist, an unknown list) — only about the rest.
 */
function withoutEchoesOfUnknown(problems: ConfigProblem[], unresolved: ReadonlySet<ConfigProblem>): ConfigProblem[] {
  const unknown = [...unresolved];
  return problems.filter((problem) => unresolved.has(problem) || !unknown.some((value) => value.file === problem.file && isWithin(problem.path, value.path)));
}

/** A probe file's entries with their index in it. */
interface ProbeFileEntries {
  probes: [ProbeDefinition, number][];
  rules: [Rule, number][];
}

/**
 * The entries of a probe file that are valid on their own, when the file is
 * not: checked across files all the same (duplicate ids, lists, notifiers). Their
 * problems were reported with the file's.
 */
function validEntries(read: YamlFile | undefined): ProbeFileEntries {
  const value = read?.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { probes: [], rules: [] };
  const each = <T>(schema: z.ZodType<T>, items: unknown): [T, number][] =>
    Array.isArray(items)
      ? items.flatMap((item, index) => {
          const result = schema.safeParse(item);
          return result.success ? [[result.data, index] as [T, number]] : [];
        })
      : [];
  const { probes, rules } = value as { probes?: unknown; rules?: unknown };
  return { probes: each(probeDefinitionSchema, probes), rules: each(RuleSchema, rules) };
}

interface Where {
  file: string;
  index: number;
}

/**
 * The entries of a probe file's probes: or rules: list whose id (as written) is
 * seen for the first time; a duplicate is a problem naming where the id was first
 * defined.
 */
function firstOfEachId(read: YamlFile | undefined, key: 'probes' | 'rules', file: string, first: Map<string, Where>, problems: ConfigProblem[]): Set<number> {
  const firsts = new Set<number>();
  const entries = (read?.value as Record<string, unknown> | null | undefined)?.[key];
  if (!Array.isArray(entries)) return firsts;
  const what = key === 'probes' ? 'probe' : 'rule';
  entries.forEach((entry: unknown, index) => {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const seen = first.get(id);
    if (seen) {
      problems.push({ file, path: [key, index, 'id'], message: `duplicate ${what} id "${id}" (first defined in ${seen.file}: ${key}[${seen.index}])` });
      return;
    }
    first.set(id, { file, index });
    firsts.add(index);
  });
  return firsts;
}

/** Below the probes: entries: the files found, how many entries were looked at, and the first reason to stop. */
interface Walk {
  files: string[];
  entries: number;
  stopped?: string;
}

function collectYamlFiles(directory: string, entry: string, walk: Walk): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(directory, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    walk.stopped = `cannot read the directory "${directory}": ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    return;
  }
  for (const found of entries) {
    if (walk.stopped) return;
    if (++walk.entries > configLimits.directoryEntries) {
      walk.stopped = `"${entry}" has more than ${thousands(configLimits.directoryEntries)} entries below it, the most looked at: is it the right directory?`;
      return;
    }
    const path = join(directory, found.name);
    if (found.isDirectory()) collectYamlFiles(path, entry, walk);
    else if (found.isFile() && /\.ya?ml$/.test(found.name)) walk.files.push(path);
  }
}

function probeFilesFor(entries: string[], explicit: boolean, base: string, configShown: string, problems: ConfigProblem[]): string[] {
  const files = new Set<string>();
  entries.forEach((entry, index) => {
    const path = resolve(base, entry);
    const where = entries.length === 1 ? ['probes'] : ['probes', index];
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      // The default probes/ may be absent (no probes yet); a directory the config names must exist.
      if (!explicit) return;
      problems.push({ file: configShown, path: where, message: `"${entry}" does not exist (paths are relative to the directory of ${configShown})` });
      return;
    }
    if (!isDirectory) {
      files.add(path);
      return;
    }
    const walk: Walk = { files: [], entries: 0 };
    collectYamlFiles(path, entry, walk);
    if (walk.stopped) problems.push({ file: configShown, path: where, message: walk.stopped });
    else for (const file of walk.files.sort()) files.add(file);
  });
  return [...files];
}

/**
 * Its size on disk, before a byte is read, as it counts towards the limit for all
 * files together: 0 when it will not be read whole (too large for one file: that
 * is its own problem) or cannot be looked at (reading it says why).
 */
function countedSize(file: string): number {
  try {
    const stat = statSync(file);
    return stat.isFile() && stat.size <= configLimits.fileBytes ? stat.size : 0;
  } catch {
    return 0;
  }
}

/**
 * Load the instance file and every probe file it names. Nothing is created,
 * opened or contacted: `mailscope config check` is exactly this call.
 */
export function loadConfig(configFile: string, options: LoadOptions): LoadedConfig {
  const file = resolve(options.cwd, configFile);
  const shown = displayPath(file, options.cwd);
  const problems: ConfigProblem[] = [];
  try {
    statSync(file);
  } catch {
    throw new MailscopeError('CONFIG_NOT_FOUND', `${shown}: no such file (write one, or pass --config FILE)`);
  }
  const raw = readYaml(file, shown, options.env, problems);
  const unresolved = new Set(raw?.unresolved);
  const instance = validate(InstanceSchema, raw, shown, problems);

  // Keep going with the probe files even when the instance file is wrong: every error at once.
  const rawProbes = (raw?.value as { probes?: unknown } | null | undefined)?.probes;
  const probeEntries = instance
    ? [instance.probes].flat()
    : typeof rawProbes === 'string' || Array.isArray(rawProbes)
      ? [rawProbes].flat().filter((entry): entry is string => typeof entry === 'string')
      : ['probes/'];
  const base = dirname(file);
  let probeFiles = probeFilesFor(probeEntries, rawProbes !== undefined, base, shown, problems);
  const where = ['probes'];
  if (probeFiles.length > configLimits.probeFiles) {
    problems.push({ file: shown, path: where, message: `${thousands(probeFiles.length)} probe files, more than the maximum of ${thousands(configLimits.probeFiles)}: no probe file was read` });
    probeFiles = [];
  }
  const total = probeFiles.reduce((sum, probeFile) => sum + countedSize(probeFile), countedSize(file));
  if (total > configLimits.totalBytes) {
    problems.push({
      file: shown,
      path: where,
      message: `too large together: ${shown} and its ${thousands(probeFiles.length)} probe files have ${thousands(total)} bytes, more than the maximum of ${sizeLimit(configLimits.totalBytes)} for the whole configuration: no probe file was read`,
    });
    probeFiles = [];
  }

  const probes: LoadedProbe[] = [];
  const rules: LoadedRule[] = [];
  // Ids as written, so that a duplicate is found even when an entry is not valid (an unset variable, a typo).
  const firstProbe = new Map<string, Where>();
  const firstRule = new Map<string, Where>();
  for (const probeFile of probeFiles) {
    const probeShown = displayPath(probeFile, options.cwd);
    const read = readYaml(probeFile, probeShown, options.env, problems);
    for (const problem of read?.unresolved ?? []) unresolved.add(problem);
    const parsed = validate(ProbeFileSchema, read, probeShown, problems);
    const entries: ProbeFileEntries = parsed ? { probes: parsed.probes.map((definition, index) => [definition, index]), rules: parsed.rules.map((rule, index) => [rule, index]) } : validEntries(read);
    const probeIds = firstOfEachId(read, 'probes', probeShown, firstProbe, problems);
    const ruleIds = firstOfEachId(read, 'rules', probeShown, firstRule, problems);
    for (const [definition, index] of entries.probes) if (probeIds.has(index)) probes.push({ definition, file: probeShown, index });
    for (const [rule, index] of entries.rules) if (ruleIds.has(index)) rules.push({ rule, file: probeShown, index });
  }

  // Checks across files: against the instance, or as much of it as is known when it is not valid.
  const references = instance ? { notifierIds: instance.notifiers.map((notifier) => notifier.id), instance } : referencesFromRaw(raw?.value);
  if (references.instance) problems.push(...checkProbesAtLoad(references.instance, probes));
  if (references.notifierIds) problems.push(...checkRuleChannels(references.notifierIds, rules));
  if (problems.length > 0 || !instance) throw new ConfigError(withoutEchoesOfUnknown(problems, unresolved).map(formatProblem));
  return { configFile: file, instance: withPathsFrom(base, instance), dataDir: resolve(base, instance.dataDir), probeFiles, probes, rules };
}

/** A source's `path` (the log it follows) as written is relative to the instance file's directory, like every path in it. */
function withPathsFrom(base: string, instance: InstanceConfig): InstanceConfig {
  const sources = instance.sources.map((source) => ('path' in source && typeof source.path === 'string' ? { ...source, path: resolve(base, source.path) } : source));
  return { ...instance, sources };
}
