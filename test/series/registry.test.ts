/**
 * The series registry is composed from Mailscope's own measurements and each
 * kind's: every measurement once, in reading order, and declarations that do
 * not fit together refused when it is built.
 */
import { describe, expect, it } from 'vitest';
import type { MeasurementSpec } from '../../src/core/measurement.ts';
import { measurements } from '../../src/measurements/index.ts';
import { probes } from '../../src/probes/index.ts';
import { sources } from '../../src/sources/index.ts';
import { composeSeriesRegistry } from '../../src/series/registry.ts';
import { selfMeasurements } from '../../src/series/self.ts';

const gauge = (description = 'a gauge'): MeasurementSpec => ({ description, tags: { target: 'what' }, fields: { value: { type: 'float', description: 'the value' } } });
const engine = { description: 'written by an engine', writtenBy: 'the engine', tags: {}, fields: { on: { type: 'boolean', description: 'on' } } } satisfies MeasurementSpec;

describe('series registry: composed from the kinds', () => {
  it("holds Mailscope's own measurements and every kind's, nothing else", () => {
    const kinds = [...probes, ...sources];
    const declared = new Set([...Object.keys(selfMeasurements), ...kinds.flatMap((kind) => Object.keys(kind.measurements))]);
    expect(new Set(Object.keys(measurements))).toEqual(declared);
    for (const kind of kinds) for (const [name, spec] of Object.entries(kind.measurements)) expect(measurements[name as keyof typeof measurements], name).toBe(spec);
  });

  it('orders them for reading: own, each kind in registry order, shared, then written by Mailscope', () => {
    const shared = gauge('shared');
    const registry = composeSeriesRegistry({ run: gauge('run'), engine }, [
      { kind: 'a', measurements: { a_one: gauge(), shared, a_two: gauge() } },
      { kind: 'b', measurements: { shared, b_one: gauge() } },
    ]);
    expect(Object.keys(registry)).toEqual(['run', 'a_one', 'a_two', 'b_one', 'shared', 'engine']);
    expect(Object.isFrozen(registry)).toBe(true);
  });

  it('refuses one name declared twice, differently, naming both', () => {
    expect(() => composeSeriesRegistry({ run: gauge() }, [{ kind: 'a', measurements: { run: gauge('mine') } }])).toThrow(
      'run: declared by Mailscope and again, differently, by kind a (kinds that share a measurement declare the same spec)',
    );
  });

  it.each<[string, MeasurementSpec, string]>([
    ['a bad name', { ...gauge(), tags: { 'Target-Host': 'x' } }, 'm (kind a): tag "Target-Host" must match /^[a-z][a-z0-9_]*$/'],
    ['a common tag', { ...gauge(), tags: { probe: 'x' } }, 'm (kind a): tag "probe" is a common tag, set by the runner'],
    ['since on a field that is not boolean', { ...gauge(), since: { when: 'value', field: 'value' } }, 'm (kind a): since.when "value" must be a boolean field'],
    [
      'changes into nothing',
      { ...gauge(), fields: { d: { type: 'string', description: 'd' } }, changes: { digest: 'd', value: 'd', into: 'm_change' } },
      'm (kind a): changes.into "m_change" is not a declared measurement',
    ],
  ])('refuses %s', (_name, spec, problem) => {
    expect(() => composeSeriesRegistry({}, [{ kind: 'a', measurements: { m: spec } }])).toThrow(problem);
  });

  it('checks that a change measurement has the old and new fields and the same tags', () => {
    const watched: MeasurementSpec = {
      ...gauge(),
      fields: { record: { type: 'string', description: 'r' }, digest: { type: 'string', description: 'd' } },
      changes: { digest: 'digest', value: 'record', into: 'watched_change' },
    };
    const change: MeasurementSpec = { description: 'a change', tags: {}, fields: { old_record: { type: 'string', description: 'before' }, new_record: { type: 'string', description: 'after' } } };
    const compose = () => composeSeriesRegistry({}, [{ kind: 'a', measurements: { watched, watched_change: change } }]);
    expect(compose).toThrow('watched (kind a): changes.into "watched_change" lacks the field "old_digest"');
    expect(compose).toThrow('watched (kind a): changes.into "watched_change" lacks the tag "target"');
  });
});
