/**
 * The series registry's composition: every measurement Mailscope writes, with
 * its tags and typed fields. Kinds declare theirs in their own files, Mailscope
 * its own in self.ts; this checks that they fit together. The registry of the
 * running app is composed in src/measurements/ (series/ may not import the
 * kinds); record() checks each observation against it, alert rules are checked
 * against it at load time, and the dashboards query what it declares.
 */
import { commonTags, type MeasurementSpec, type Measurements } from '../core/measurement.ts';

export { commonTags, fieldTypes, tagNames, type FieldSpec, type FieldType, type MeasurementSpec, type Measurements } from '../core/measurement.ts';

/** Whatever declares measurements: a probe kind (and, later, a source kind). */
export interface MeasurementOwner {
  kind: string;
  measurements: Measurements;
}

type UnionToIntersection<U> = (U extends unknown ? (union: U) => void : never) extends (intersection: infer I) => void ? I : never;

/** A registry's type: each measurement with its declared spec, so that its fields' names and types are known where it is used. */
export type ComposedMeasurements<Own extends Measurements, Owner extends MeasurementOwner> = Readonly<Own & UnionToIntersection<Owner extends { measurements: infer M } ? M : never>>;

/** Measurement, tag and field names: written unquoted in line protocol and in alert conditions. */
const namePattern = /^[a-z][a-z0-9_]*$/;

/** What is wrong with the declarations taken together; empty when they fit. */
function declarationProblems(registry: Measurements, declaredBy: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(registry)) {
    const by = declaredBy.get(name)!;
    const where = `${name} (${by})`;
    if (!namePattern.test(name)) problems.push(`${where}: the name must match ${namePattern}`);
    for (const tag of Object.keys(spec.tags)) {
      if (Object.hasOwn(commonTags, tag)) problems.push(`${where}: tag "${tag}" is a common tag, set by the runner`);
      else if (!namePattern.test(tag)) problems.push(`${where}: tag "${tag}" must match ${namePattern}`);
    }
    for (const field of Object.keys(spec.fields)) if (!namePattern.test(field)) problems.push(`${where}: field "${field}" must match ${namePattern}`);
    const fieldType = (field: string) => (Object.hasOwn(spec.fields, field) ? spec.fields[field]!.type : undefined);
    if (spec.since) {
      if (fieldType(spec.since.when) !== 'boolean') problems.push(`${where}: since.when "${spec.since.when}" must be a boolean field`);
      if (fieldType(spec.since.field) !== 'integer') problems.push(`${where}: since.field "${spec.since.field}" must be an integer field`);
    }
    if (spec.changes) {
      const { digest, value, into } = spec.changes;
      for (const field of [digest, value]) if (fieldType(field) !== 'string') problems.push(`${where}: changes names "${field}", which must be a string field`);
      const target = Object.hasOwn(registry, into) ? registry[into]! : undefined;
      if (!target) {
        problems.push(`${where}: changes.into "${into}" is not a declared measurement`);
      } else {
        for (const field of [`old_${value}`, `new_${value}`, `old_${digest}`, `new_${digest}`]) {
          if (!Object.hasOwn(target.fields, field)) problems.push(`${where}: changes.into "${into}" lacks the field "${field}"`);
        }
        for (const tag of Object.keys(spec.tags)) if (!Object.hasOwn(target.tags, tag)) problems.push(`${where}: changes.into "${into}" lacks the tag "${tag}"`);
      }
    }
  }
  return problems;
}

/**
 * The series registry: Mailscope's own measurements and those each kind
 * declares, in the order people read them: what every run writes, each kind's
 * own in registry order, those several kinds share, then what Mailscope's
 * services write (no rule can watch those). Kinds may share a measurement by
 * declaring the same spec (tcp and http both write `reachability`); two
 * different declarations of one name, or a `since` or `changes` that names what
 * is not declared, throw: a bug, found at startup.
 */
export function composeSeriesRegistry<Own extends Measurements, Owner extends MeasurementOwner>(own: Own, kinds: readonly Owner[]): ComposedMeasurements<Own, Owner> {
  const entries: [string, MeasurementSpec, string][] = [
    ...Object.entries(own).map(([name, spec]): [string, MeasurementSpec, string] => [name, spec, 'Mailscope']),
    ...kinds.flatMap((owner) => Object.entries(owner.measurements).map(([name, spec]): [string, MeasurementSpec, string] => [name, spec, `kind ${owner.kind}`])),
  ];
  const owners = new Map<MeasurementSpec, number>();
  for (const owner of kinds) for (const spec of Object.values(owner.measurements)) owners.set(spec, (owners.get(spec) ?? 0) + 1);
  const rank = ([, spec]: [string, MeasurementSpec, string]) => (spec.writtenBy ? 2 : (owners.get(spec) ?? 0) > 1 ? 1 : 0);
  // Array.prototype.sort is stable: within a rank, the order of declaration.
  const ordered = entries.sort((a, b) => rank(a) - rank(b));
  const registry: Measurements = {};
  const declaredBy = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, spec, by] of ordered) {
    const first = declaredBy.get(name);
    if (first === undefined) {
      registry[name] = spec;
      declaredBy.set(name, by);
    } else if (registry[name] !== spec) {
      problems.push(`${name}: declared by ${first} and again, differently, by ${by} (kinds that share a measurement declare the same spec)`);
    }
  }
  problems.push(...declarationProblems(registry, declaredBy));
  if (problems.length > 0) throw new Error(`the series registry does not fit together:\n  ${problems.join('\n  ')}`);
  return Object.freeze(registry) as ComposedMeasurements<Own, Owner>;
}

/** The declaration of a measurement in a registry; undefined when it has none. */
export function specIn(registry: Measurements, name: string): MeasurementSpec | undefined {
  return Object.hasOwn(registry, name) ? registry[name] : undefined;
}
