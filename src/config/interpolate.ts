/**
 * `${VAR}` and `${VAR:-default}` in YAML string values, resolved against the
 * environment after parsing (an environment value can never inject YAML
 * structure). `$${` writes a literal `${`. An unset variable without a default is
 * an error reported with the path of the value that referenced it.
 */

export type Env = Readonly<Record<string, string | undefined>>;
export type ConfigPath = (string | number)[];

export interface InterpolationProblem {
  path: ConfigPath;
  message: string;
}

const reference = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const variableName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function interpolateString(text: string, env: Env, path: ConfigPath, problems: InterpolationProblem[]): string {
  if (!text.includes('${')) return text;
  return text.replace(reference, (match, body: string | undefined) => {
    if (match === '$${') return '${';
    if (body === undefined) {
      problems.push({ path, message: 'unterminated "${" (write "$${" for a literal "${")' });
      return match;
    }
    const separator = body.indexOf(':-');
    const name = separator === -1 ? body : body.slice(0, separator);
    if (!variableName.test(name)) {
      problems.push({ path, message: `"\${${body}}" is not a variable reference (expected \${NAME} or \${NAME:-default})` });
      return match;
    }
    const value = env[name];
    if (separator !== -1) return value === undefined || value === '' ? body.slice(separator + 2) : value;
    if (value === undefined) {
      problems.push({ path, message: `environment variable ${name} is not set (set it, or write \${${name}:-default})` });
      return match;
    }
    return value;
  });
}

export function interpolate(value: unknown, env: Env, problems: InterpolationProblem[], path: ConfigPath = []): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path, problems);
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, env, problems, [...path, index]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env, problems, [...path, key])]));
  }
  return value;
}
