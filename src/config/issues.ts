import type { z } from 'zod';
import { formatPath } from '../core/zod-messages.ts';
import type { ConfigPath } from './interpolate.ts';

/** One thing wrong with the configuration: in which file, where in it, and what was expected. */
export interface ConfigProblem {
  file: string;
  path: ConfigPath;
  message: string;
}

/** `probes/dnsbl.yaml: probes[1].schedule: "61 * * * *" is not a valid cron expression` */
export function formatProblem(problem: ConfigProblem): string {
  const where = formatPath(problem.path);
  return where === '' ? `${problem.file}: ${problem.message}` : `${problem.file}: ${where}: ${problem.message}`;
}

export function problemsFromZod(file: string, error: z.ZodError, base: ConfigPath = []): ConfigProblem[] {
  return error.issues.map((issue) => ({ file, path: [...base, ...(issue.path as ConfigPath)], message: issue.message }));
}
