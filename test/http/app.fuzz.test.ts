/**
 * Every route of the API, fuzzed from its own schema (the OpenAPI document the
 * routes declare): each path parameter, query parameter and body field in turn
 * is given values of the wrong type, out of range, too long, with control
 * characters, deeply nested, or a time far in the future, the rest of the
 * request kept valid. No answer is a 5xx, every refusal has the API's error
 * shape, a request that changes something is never accepted with a bad value,
 * and the store is byte for byte what it was.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiRig, tcpProbeYaml, type ApiRig } from '../helpers/api.ts';
import { closedPort } from '../helpers/servers.ts';

type JsonSchema = {
  type?: string;
  enum?: unknown[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  nullable?: boolean;
  $ref?: string;
  anyOf?: JsonSchema[];
};

interface Operation {
  parameters?: { in: 'path' | 'query'; name: string; schema: JsonSchema; required?: boolean }[];
  requestBody?: { content: { 'application/json': { schema: JsonSchema } } };
}

/** A request that is valid in every part but the one being fuzzed; bodies the schema cannot make up by itself. */
const validBodies: Record<string, unknown> = {
  'POST /v1/controls': { action: 'throttle', scope: { pool: 'a', campaign: 'spring' }, rate: 10, reason: 'warming up', expires: '2h' },
  'POST /v1/silences': { matchers: { rule: 'ip-listed', target: '192.0.2.1' }, until: '1h', comment: 'delisting requested' },
  'POST /v1/alerts/{id}/ack': { comment: 'on it' },
  'DELETE /v1/controls/{id}': { reason: 'delisted' },
};
/** Path parameters as the base request has them: a probe that exists, ids that do not. */
const validParams: Record<string, string> = { 'POST /v1/probes/{id}/run': 'smtp', 'GET /v1/probes/{id}': 'smtp', 'GET /v1/runs/{id}': '1' };
/** Fields that are times: far-future values must be refused there (elsewhere a date is just text). */
const timeFields = new Set(['since', 'until', 'expires']);

const controlCharacters = ['a\u0000b', 'x\u001b[2Jy', 'line\nbreak', 'tab\there', 'bidi\u202eevil', 'del\u007f', 'sep\u2028x'];
const farFuture = ['100000000d', '99999999999999999999d', '3651d', '+275760-09-13T00:00:00.000Z', '275760-09-13T00:00:00Z', '10000-01-01T00:00:00Z'];
/** Past an expiry's year ahead, though a query may look up to 9999. */
const pastAYear = ['9999-12-31T23:59:59Z', '367d'];
const notNumbers = ['-1', '0', '0x10', '1e3', '1.5', ' 7', 'NaN', 'Infinity', '1e309', '99999999999999999999', ''];

/** Nested arrays this deep, as JSON text. */
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Bad values for a schema, as JSON text (so 1e309, deep nesting and duplicate keys can be sent as they are). */
function badJsonValues(schema: JsonSchema, field: string): string[] {
  const values = ['true', 'null', '[]', '{}', deep(20), deep(5_000), '"\\ud800"'];
  const type = schema.type ?? (schema.additionalProperties !== undefined || schema.properties ? 'object' : undefined);
  if (type === 'string') {
    values.push('123', '""', JSON.stringify('x'.repeat((schema.maxLength ?? 1_000) + 1)), JSON.stringify(' '.repeat(10)), ...controlCharacters.map((text) => JSON.stringify(text)));
    if (schema.enum) values.push('"nope"', JSON.stringify(String(schema.enum[0]).toUpperCase()));
    if (timeFields.has(field)) values.push(...[...farFuture, ...pastAYear].map((text) => JSON.stringify(text)));
  } else if (type === 'integer' || type === 'number') {
    values.push('-1', '1.5', '1e309', '-1e309', String(2 ** 53 + 2), '"5"', String((schema.maximum ?? 1e12) + 1));
  } else if (type === 'object') {
    values.push('"x"', '7', '{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}');
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      values.push(
        JSON.stringify({ 'bad\u0000key': 'v' }),
        JSON.stringify({ ['k'.repeat(300)]: 'v' }),
        JSON.stringify(Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, 'v']))),
        ...controlCharacters.map((text) => JSON.stringify({ pool: text, rule: text })),
      );
    }
  }
  return values;
}

/** Bad values for a path or query parameter (already as they go in the URL). */
function badParamValues(schema: JsonSchema, name: string): string[] {
  // A value the parameter's enum allows is not a bad one.
  const raw = [...controlCharacters, 'x'.repeat((schema.maxLength ?? 1_000) + 1), ...notNumbers, ...(timeFields.has(name) ? farFuture : []), 'nope', '../../etc/passwd', '\ud800'].filter(
    (value) => !schema.enum?.includes(value),
  );
  return [...raw.map((value) => (value.isWellFormed() ? encodeURIComponent(value) : '%ED%A0%80')), '%E0%A4%A', '%', '%00'];
}

function resolve(schema: JsonSchema, document: { components?: { schemas?: Record<string, JsonSchema> } }): JsonSchema {
  if (schema.$ref) return document.components!.schemas![schema.$ref.replace('#/components/schemas/', '')]!;
  return schema;
}

/** The whole store as one hash: every row of every table. */
function storeHash(rig: ApiRig): string {
  const hash = createHash('sha256');
  const tables = rig.db.statement("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  for (const { name } of tables) hash.update(`${name}\n${JSON.stringify(rig.db.statement(`SELECT * FROM "${name}" ORDER BY rowid`).all())}\n`);
  return hash.digest('hex');
}

interface Sent {
  what: string;
  method: string;
  status: number;
  body: string;
  timeField: boolean;
}

describe('fuzzing every route from its schema', () => {
  it('no 5xx, the error shape on every refusal, nothing accepted with a bad value, nothing stored', async () => {
    // With the scheduler, as `mailscope run` has it (/readyz says 503 without one).
    const rig = await apiRig({ probesYaml: tcpProbeYaml(await closedPort()), scheduler: true });
    const document = (rig.app as unknown as { swagger(): { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, JsonSchema> } } }).swagger();
    const before = storeHash(rig);
    const sent: Sent[] = [];
    const covered = new Set<string>();

    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [lower, operation] of Object.entries(methods)) {
        const method = lower.toUpperCase();
        const route = `${method} ${path}`;
        covered.add(route);
        const pathParams = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
        const queryParams = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query');
        const bodySchema = operation.requestBody ? resolve(operation.requestBody.content['application/json'].schema, document) : undefined;
        const baseBody = validBodies[route];
        if (bodySchema && baseBody === undefined) throw new Error(`${route} takes a body: give it a valid one in validBodies, so its fields can be fuzzed one by one`);
        const baseId = validParams[route] ?? 'no-such-id';
        const url = (id: string, query = '') => `${path.replace(/\{[^}]+\}/g, id)}${query ? `?${query}` : ''}`;
        const send = async (what: string, target: string, body?: string, timeField = false) => {
          const response = await rig.request({
            method: method as 'GET',
            url: target,
            as: 'admin',
            ...(body !== undefined ? { payload: body, headers: { 'content-type': 'application/json' } } : baseBody !== undefined ? { payload: baseBody as object } : {}),
          });
          sent.push({ what: `${route} ${what}`, method, status: response.statusCode, body: response.body, timeField });
        };
        for (const parameter of pathParams) {
          for (const value of badParamValues(resolve(parameter.schema, document), parameter.name)) await send(`path ${parameter.name}=${value.slice(0, 40)}`, url(value));
        }
        for (const parameter of queryParams) {
          const schema = resolve(parameter.schema, document);
          for (const value of badParamValues(schema, parameter.name))
            await send(
              `query ${parameter.name}=${value.slice(0, 40)}`,
              url(baseId, `${parameter.name}=${value}`),
              undefined,
              timeFields.has(parameter.name) && farFuture.map(encodeURIComponent).includes(value),
            );
          await send(`query ${parameter.name} twice`, url(baseId, `${parameter.name}=1&${parameter.name}=2`));
        }
        await send('an unknown query parameter', url(baseId, 'surprise=1'));
        if (bodySchema && baseBody !== undefined) {
          const base = baseBody as Record<string, unknown>;
          for (const [field, fieldSchema] of Object.entries(bodySchema.properties ?? {})) {
            for (const value of badJsonValues(resolve(fieldSchema, document), field)) {
              const others = Object.entries(base)
                .filter(([key]) => key !== field)
                .map(([key, item]) => `${JSON.stringify(key)}:${JSON.stringify(item)}`);
              await send(
                `body ${field}=${value.slice(0, 40)}`,
                url(baseId),
                `{${[...others, `${JSON.stringify(field)}:${value}`].join(',')}}`,
                timeFields.has(field) && [...farFuture, ...pastAYear].some((text) => value === JSON.stringify(text)),
              );
            }
            if (bodySchema.required?.includes(field)) {
              const { [field]: _dropped, ...rest } = base;
              await send(`body without ${field}`, url(baseId), JSON.stringify(rest));
            }
          }
          for (const whole of ['"x"', '7', 'null', '[]', deep(30_000), '{"a":1,"a":2}', '{', '\u0000', `{${'"k":1,'.repeat(5_000)}"k":2}`])
            await send(`body ${whole.slice(0, 20)}`, url(baseId), whole);
          await send('an unknown body field', url(baseId), JSON.stringify({ ...base, surprise: 1 }));
        }
      }
    }

    // Every route the app serves was fuzzed (a new route cannot slip by).
    // (The console's pages and forms are no API: test/http/console/ covers them.)
    const served = rig.app.routeAccess
      .filter((route) => route.method !== 'HEAD' && !route.url.startsWith('/docs') && !route.console)
      .map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
    expect(served.filter((route) => !covered.has(route))).toEqual([]);

    expect(sent.length).toBeGreaterThan(1_000);
    const serverErrors = sent.filter((request) => request.status >= 500);
    expect(serverErrors.map((request) => `${request.status} ${request.what}: ${request.body.slice(0, 200)}`)).toEqual([]);
    // A request that would change something is never accepted with a bad value.
    const accepted = sent.filter((request) => request.method !== 'GET' && request.status < 400);
    expect(accepted.map((request) => `${request.status} ${request.what}`)).toEqual([]);
    // A time too far ahead (or back) is a 400 wherever a time is asked for.
    const timesTaken = sent.filter((request) => request.timeField && request.status !== 400);
    expect(timesTaken.map((request) => `${request.status} ${request.what}`)).toEqual([]);
    for (const request of sent.filter((one) => one.status >= 400)) {
      const body = JSON.parse(request.body) as { error?: { code?: unknown; message?: unknown } };
      expect(typeof body.error?.code === 'string' && typeof body.error.message === 'string', `${request.what}: ${request.body.slice(0, 200)}`).toBe(true);
      expect(body.error!.message as string, request.what).not.toMatch(/[\u0000-\u001f\u007f]/);
      expect((body.error!.message as string).length, request.what).toBeLessThan(4_000);
    }
    expect(storeHash(rig)).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
