import { describe, expect, it } from 'vitest';
import type { Observation } from '../../src/core/observation.ts';
import { maxStringFieldLength, measurements, observationProblems, toLineProtocol } from '../../src/measurements/index.ts';

const time = new Date('2026-11-23T10:00:00.123Z');

function reachability(fields: Observation['fields'], tags: Record<string, string> = { target: '127.0.0.1:25', protocol: 'tcp' }): Observation {
  return { measurement: 'reachability', tags, fields, time };
}

describe('series registry: validation', () => {
  it('accepts an observation that matches the registry, the common probe tag included', () => {
    expect(observationProblems(reachability({ status: 'up', up: true, duration_ms: 1.5 }, { target: 'a:1', protocol: 'tcp', probe: 'p' }))).toEqual([]);
  });

  it.each<[string, Observation, string[]]>([
    ['unknown measurement', { measurement: 'placemnt', tags: {}, fields: { x: 1 }, time }, ['unknown measurement "placemnt"']],
    ['unknown tag', reachability({ status: 'up' }, { target: 'a:1', provider: 'gmail' }), ['reachability: unknown tag "provider"']],
    ['empty tag value', reachability({ status: 'up' }, { target: '' }), ['reachability: tag "target" must be a non-empty string']],
    ['unknown field', reachability({ status: 'up', latency: 3 }), ['reachability: unknown field "latency"']],
    ['no fields', reachability({}), ['reachability: no fields']],
    ['string for boolean', reachability({ up: 'yes' }), ['reachability.up: expected a boolean (boolean), got "yes"']],
    ['fraction for integer', reachability({ status_code: 200.5 }), ['reachability.status_code: expected an integer (integer), got 200.5']],
    ['NaN for float', reachability({ duration_ms: Number.NaN }), ['reachability.duration_ms: expected a finite number (float), got null']],
    ['number for string', reachability({ status: 1 }), ['reachability.status: expected a string (string), got 1']],
    [
      'oversized string',
      reachability({ reason: 'x'.repeat(maxStringFieldLength + 1) }),
      [`reachability.reason: longer than ${maxStringFieldLength} characters (string), got "${'x'.repeat(maxStringFieldLength + 1)}"`],
    ],
    ['invalid time', { ...reachability({ status: 'up' }), time: new Date('nope') }, ['reachability: time is not a valid Date']],
  ])('rejects %s', (_name, observation, problems) => {
    expect(observationProblems(observation)).toEqual(problems);
  });

  it('declares a type and a description for every field', () => {
    for (const [name, spec] of Object.entries(measurements)) {
      expect(spec.description, name).not.toBe('');
      for (const [field, fieldSpec] of Object.entries(spec.fields)) {
        expect(['float', 'integer', 'boolean', 'string'], `${name}.${field}`).toContain(fieldSpec.type);
        expect(fieldSpec.description, `${name}.${field}`).not.toBe('');
      }
    }
  });
});

describe('series: stateful measurements', () => {
  it('declares a change measurement with the same tags and old/new string fields for every `changes` spec', () => {
    const specs = Object.entries(measurements).flatMap(([name, spec]) => ('changes' in spec ? [[name, spec] as const] : []));
    expect(specs.map(([name]) => name)).toEqual(['dns_auth']);
    for (const [name, spec] of specs) {
      const { digest, value, into } = spec.changes as { digest: string; value: string; into: string };
      expect(spec.fields[digest as keyof typeof spec.fields], `${name}.${digest}`).toMatchObject({ type: 'string' });
      expect(spec.fields[value as keyof typeof spec.fields], `${name}.${value}`).toMatchObject({ type: 'string' });
      const target = measurements[into as keyof typeof measurements]!;
      expect(Object.keys(target.tags)).toEqual(Object.keys(spec.tags));
      expect(Object.keys(target.fields).sort()).toEqual([`new_${digest}`, `new_${value}`, `old_${digest}`, `old_${value}`]);
    }
  });
});

describe('series: line protocol', () => {
  it('writes each field with the type the registry declares, nanosecond time', () => {
    const line = toLineProtocol(
      reachability({ status: 'down', up: false, duration_ms: 12, status_code: 503, reason: 'status 503, "busy"' }, { target: 'http://a b/', protocol: 'http', probe: 'p,1' }),
    );
    expect(line).toBe('reachability,probe=p\\,1,protocol=http,target=http://a\\ b/ duration_ms=12,reason="status 503, \\"busy\\"",status="down",status_code=503i,up=F 1795428000123000000');
  });
});
