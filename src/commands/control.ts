/**
 * `mailscope control`: send control by hand, written to the store (a running
 * observatory enforces, pushes and releases what is written here). The request
 * is checked by the same schema as `POST /v1/controls`, so the CLI refuses
 * exactly what the API refuses; stored text is printed escaped.
 */
import { InvalidArgumentError } from 'commander';
import { ControlRequest, expiryOf, reasonText } from '../controls/input.ts';
import type { ControlService } from '../controls/service.ts';
import { isMailscopeError } from '../core/errors.ts';
import { describeScope, scopeKeyNames } from '../core/scope.ts';
import { escapeControls } from '../core/text.ts';
import { formatPath } from '../core/zod-messages.ts';
import { errorMap } from '../core/zod-messages.ts';
import type { ControlAction } from '../core/control-vocabulary.ts';
import { controlPageKey, heldCount, listControls, type ControlRow } from '../store/controls.ts';
import type { Database } from '../store/database.ts';
import { exitCodes, ExitError, table, type CommandContext } from './context.ts';

export interface ControlArguments {
  action: ControlAction;
  /** `key=value` pairs. */
  pairs: readonly string[];
  rate?: number | undefined;
  reason: string;
  expires?: string | undefined;
}

export type ResolvedControl = { ok: true; request: ControlRequest; expiresAt: number | undefined } | { ok: false; problems: string[] };

/** The arguments as a control request: every problem at once (nothing is stored when there is one). */
function resolveControlArguments(args: ControlArguments, now: number): ResolvedControl {
  const problems: string[] = [];
  const scope: Record<string, string> = {};
  for (const pair of args.pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) {
      problems.push(`"${escapeControls(pair)}" is not key=value (keys: ${scopeKeyNames.join(', ')})`);
      continue;
    }
    const key = pair.slice(0, equals);
    const value = pair.slice(equals + 1);
    if (Object.hasOwn(scope, key)) {
      problems.push(`${escapeControls(key)}: given twice ("${escapeControls(scope[key]!)}" and "${escapeControls(value)}"); a scope has one value per key`);
      continue;
    }
    scope[key] = value;
  }
  const parsed = ControlRequest.safeParse(
    { action: args.action, scope, ...(args.rate !== undefined ? { rate: args.rate } : {}), reason: args.reason, ...(args.expires !== undefined ? { expires: args.expires } : {}) },
    { error: errorMap },
  );
  if (!parsed.success) {
    const shown: Record<string, string> = { reason: '--reason', rate: '--rate', expires: '--expires' };
    for (const issue of parsed.error.issues) {
      const [first, ...rest] = issue.path;
      // Scope problems are named by their key (ip: ...), options by their flag (--reason: ...).
      const where = first === 'scope' ? formatPath(rest) : first !== undefined ? (shown[String(first)] ?? formatPath(issue.path)) : '';
      problems.push(where ? `${where}: ${issue.message}` : issue.message);
    }
  }
  let expiresAt: number | undefined;
  try {
    expiresAt = expiryOf(args.expires, now, '--expires');
  } catch (error) {
    if (!isMailscopeError(error)) throw error;
    problems.push(error.message);
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: [...new Set(problems)] };
  return { ok: true, request: parsed.data, expiresAt };
}

/** Why a resume's reason cannot be stored; undefined when it can. */
function resumeReasonProblem(reason: string): string | undefined {
  const parsed = reasonText.safeParse(reason, { error: errorMap });
  return parsed.success ? undefined : `--reason: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`;
}

/** Every control (active only, unless `all`), newest first, read a page at a time: no limit on how many. */
function* allControls(db: Database, options: { all: boolean }): Generator<ControlRow> {
  let after: ReturnType<typeof controlPageKey> | undefined;
  for (;;) {
    const page = listControls(db, { ...(options.all ? {} : { active: true }), limit: 500, after });
    yield* page;
    if (page.length < 500) return;
    after = controlPageKey(db, page.at(-1)!.id);
  }
}

/** One row of `control list`: stored text escaped, so a reason cannot move the terminal's cursor or fake a row. */
function controlRow(control: ControlRow, db: Database): string[] {
  const held = heldCount(db, control.id);
  const ends =
    control.liftedAt !== undefined
      ? `lifted ${new Date(control.liftedAt).toISOString()}`
      : control.expiresAt !== undefined
        ? `expires ${safeIso(control.expiresAt)}`
        : control.liftAt !== undefined
          ? `lifts ${safeIso(control.liftAt)}`
          : '';
  return [
    control.id,
    control.action,
    describeScope(control.scope),
    control.ratePerMinute === undefined ? '' : `${control.ratePerMinute}/min`,
    control.source,
    new Date(control.createdAt).toISOString(),
    ends,
    held.held > 0 || held.released > 0 ? `${held.held}/${held.released}` : '',
    control.reason,
  ].map(escapeControls);
}

const controlListHeader = ['ID', 'ACTION', 'SCOPE', 'RATE', 'SOURCE', 'CREATED', 'ENDS', 'HELD/RELEASED', 'REASON'];

/** A stored time past what Date can show (written before times had a range) prints as the latest it can. */
function safeIso(ms: number): string {
  return new Date(Math.min(ms, 8.64e15)).toISOString();
}

/** `--rate`: messages per minute, a whole number. */
export function parseRate(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError(`"${escapeControls(value)}" is not a whole number of messages per minute (0 or more)`);
  return Number(value);
}

/** The store and the control service, for one command; closed after it. */
async function withControls<T>(ctx: CommandContext, use: (services: { readonly controls: ControlService; readonly store: Database }) => T | Promise<T>): Promise<T> {
  const services = ctx.services(ctx.config());
  try {
    return await use(services);
  } finally {
    services.close();
  }
}

/** Who did it, for the audit log. */
const actorOf = (ctx: CommandContext) => `cli:${ctx.host.env.USER ?? ctx.host.env.LOGNAME ?? 'unknown'}`;

/** `control list`. */
export function controlList(ctx: CommandContext, options: { all?: boolean; json?: boolean }): Promise<void> {
  return withControls(ctx, ({ store: db }) => {
    const rows: string[][] = [];
    for (const control of allControls(db, { all: Boolean(options.all) })) {
      if (options.json) ctx.out(JSON.stringify({ ...control, held: heldCount(db, control.id) }));
      else rows.push(controlRow(control, db));
    }
    if (options.json) return;
    if (rows.length === 0) {
      ctx.out(options.all ? 'no controls' : 'no active controls');
      return;
    }
    ctx.out(table([controlListHeader, ...rows]));
  });
}

/** `control pause` and `control throttle`: create (or find) the control the arguments describe; bad input exits 2 with every problem, and stores nothing. */
export function controlCreate(ctx: CommandContext, args: ControlArguments): Promise<void> {
  const resolved = resolveControlArguments(args, ctx.host.clock.now().getTime());
  if (!resolved.ok) throw new ExitError(exitCodes.badConfig, resolved.problems.join('\n'));
  const { action, scope, rate, reason } = resolved.request;
  const actor = actorOf(ctx);
  return withControls(ctx, ({ controls }) => {
    const result = controls.create({ action, scope, ratePerMinute: rate, reason, expiresAt: resolved.expiresAt, source: actor, actor });
    const rateShown = result.control.ratePerMinute === undefined ? '' : ` at ${result.control.ratePerMinute}/min`;
    ctx.out(`${result.created ? 'created' : 'already active'}: ${action} ${escapeControls(describeScope(result.control.scope))}${rateShown} (${result.control.id})`);
  });
}

/** `control resume`: exit 0 lifted, 1 already lifted, 2 no such control or bad input. */
export function controlResume(ctx: CommandContext, id: string, options: { reason: string }): Promise<void> {
  const problem = resumeReasonProblem(options.reason);
  if (problem) throw new ExitError(exitCodes.badConfig, problem);
  return withControls(ctx, ({ controls, store: db }) => {
    try {
      const lifted: ControlRow = controls.lift(id, actorOf(ctx), options.reason);
      const held = heldCount(db, id);
      ctx.out(
        `lifted: ${lifted.action} ${escapeControls(describeScope(lifted.scope))} (${id})${held.held > 0 ? `; ${held.held} held message(s) are released by the running observatory (platforms with release:)` : ''}`,
      );
    } catch (error) {
      if (isMailscopeError(error) && error.code === 'CONTROL_NOT_FOUND') throw new ExitError(exitCodes.badConfig, escapeControls(error.message));
      if (isMailscopeError(error) && error.code === 'CONTROL_NOT_ACTIVE') throw new ExitError(exitCodes.failed, escapeControls(error.message));
      throw error;
    }
  });
}
