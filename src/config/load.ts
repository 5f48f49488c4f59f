import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { MailscopeError } from '../core/errors.ts';
import type { Rule } from '../alerts/rules.ts';
import type { ProbeDefinition } from '../probes/index.ts';
import { checkBlacklistProbes } from './blocklists.ts';
import { interpolate, type Env } from './interpolate.ts';
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

/** Parse one YAML file and resolve ${VAR}s; problems are collected, never thrown. */
function readYaml(file: string, shown: string, env: Env, problems: ConfigProblem[]): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push({ file: shown, path: [], message: `cannot read: ${(error as Error).message}` });
    return undefined;
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
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
  const interpolationProblems: { path: (string | number)[]; message: string }[] = [];
  const interpolated = interpolate(value, env, interpolationProblems);
  for (const problem of interpolationProblems) problems.push({ file: shown, ...problem });
  return interpolationProblems.length > 0 ? undefined : interpolated;
}

/** Every notify: entry names a notifier of the instance file. */
function checkRuleChannels(instance: InstanceConfig, rules: readonly LoadedRule[]): ConfigProblem[] {
  const ids = instance.notifiers.map((notifier) => notifier.id);
  const defined = ids.length > 0 ? `defined: ${ids.join(', ')}` : 'none defined: add notifiers: to the instance file';
  return rules.flatMap(({ rule, file, index }) =>
    rule.notify.flatMap((id, position) => (ids.includes(id) ? [] : [{ file, path: ['rules', index, 'notify', position], message: `unknown notifier "${id}" (${defined})` }])),
  );
}

function validate<S extends z.ZodType>(schema: S, value: unknown, shown: string, problems: ConfigProblem[]): z.output<S> | undefined {
  const result = schema.safeParse(value ?? {}, { error: errorMap });
  if (result.success) return result.data;
  problems.push(...problemsFromZod(shown, result.error));
  return undefined;
}

function collectYamlFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...collectYamlFiles(path));
    else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) files.push(path);
  }
  return files.sort();
}

function probeFilesFor(entries: string[], explicit: boolean, base: string, configShown: string, problems: ConfigProblem[]): string[] {
  const files: string[] = [];
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
    files.push(...(isDirectory ? collectYamlFiles(path) : [path]));
  });
  return [...new Set(files)];
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
  const instance = raw === undefined ? undefined : validate(InstanceSchema, raw, shown, problems);

  // Keep going with the probe files even when the instance file is wrong: every error at once.
  const rawProbes = (raw as { probes?: unknown } | null | undefined)?.probes;
  const probeEntries = instance
    ? [instance.probes].flat()
    : typeof rawProbes === 'string' || Array.isArray(rawProbes)
      ? [rawProbes].flat().filter((entry): entry is string => typeof entry === 'string')
      : ['probes/'];
  const base = dirname(file);
  const probeFiles = probeFilesFor(probeEntries, rawProbes !== undefined, base, shown, problems);

  const probes: LoadedProbe[] = [];
  const firstById = new Map<string, LoadedProbe>();
  const rules: LoadedRule[] = [];
  const firstRuleById = new Map<string, LoadedRule>();
  for (const probeFile of probeFiles) {
    const probeShown = displayPath(probeFile, options.cwd);
    const parsed = validate(ProbeFileSchema, readYaml(probeFile, probeShown, options.env, problems), probeShown, problems);
    parsed?.probes.forEach((definition, index) => {
      const loaded = { definition, file: probeShown, index };
      const first = firstById.get(definition.id);
      if (first) {
        problems.push({
          file: probeShown,
          path: ['probes', index, 'id'],
          message: `duplicate probe id "${definition.id}" (first defined in ${first.file}: probes[${first.index}])`,
        });
        return;
      }
      firstById.set(definition.id, loaded);
      probes.push(loaded);
    });
    parsed?.rules.forEach((rule, index) => {
      const first = firstRuleById.get(rule.id);
      if (first) {
        problems.push({ file: probeShown, path: ['rules', index, 'id'], message: `duplicate rule id "${rule.id}" (first defined in ${first.file}: rules[${first.index}])` });
        return;
      }
      const loaded = { rule, file: probeShown, index };
      firstRuleById.set(rule.id, loaded);
      rules.push(loaded);
    });
  }

  if (instance) problems.push(...checkBlacklistProbes(instance, probes), ...checkRuleChannels(instance, rules));
  if (problems.length > 0 || !instance) throw new ConfigError(problems.map(formatProblem));
  return { configFile: file, instance, dataDir: resolve(base, instance.dataDir), probeFiles, probes, rules };
}
