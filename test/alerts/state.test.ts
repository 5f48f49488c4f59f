/**
 * The alert state machine as tables: each row an evaluation (or a tick) at a
 * time on a clock that stands still between rows, with the state and the
 * notification expected after it.
 */
import { describe, expect, it } from 'vitest';
import type { ForSpec } from '../../src/alerts/rules.ts';
import { due, initialState, notified, settle, step, type FlapSettings, type InstanceState } from '../../src/alerts/state.ts';

const minute = 60_000;
const flap: FlapSettings = { maxTransitions: 4, windowMs: 60 * minute };

type Row =
  /** An evaluation at minute t: the condition holds, does not, or is unknown (an error observation). */
  | { t: number; holds: boolean | undefined; silenced?: boolean; expect: string }
  /** A tick at minute t (no observation): reminders, silences ending, flapping ending. */
  | { t: number; tick: true; silenced?: boolean; expect: string }
  | { t: number; ack: string; expect: string };

interface Options {
  forSpec?: ForSpec;
  renotifyMs?: number;
  notifyResolved?: boolean;
}

/** Plays the rows; each yields "state" or "state → event", compared with the row's expectation. */
function play(rows: Row[], options: Options = {}, start: InstanceState = initialState()): { got: string[]; want: string[]; state: InstanceState } {
  let state = start;
  const got: string[] = [];
  for (const row of rows) {
    const now = row.t * minute;
    if ('ack' in row) state = { ...state, ackedBy: row.ack, ackedAt: now };
    else if ('holds' in row) state = step(state, row.holds, now, options.forSpec ?? { runs: 1 }, flap);
    state = settle(state, now, flap);
    const event = due(state, now, { renotifyMs: options.renotifyMs, notifyResolved: options.notifyResolved ?? true, silenced: 'silenced' in row ? (row.silenced ?? false) : false });
    if (event) state = notified(state, event, now);
    got.push(event ? `${state.state} → ${event}` : state.state);
  }
  return { got, want: rows.map((row) => row.expect), state };
}

describe('alert state machine', () => {
  it.each<[string, Row[], Options]>([
    [
      'fires at once and resolves, one notification each',
      [
        { t: 0, holds: false, expect: 'inactive' },
        { t: 1, holds: true, expect: 'firing → firing' },
        { t: 2, holds: true, expect: 'firing' },
        { t: 3, holds: true, expect: 'firing' },
        { t: 4, holds: false, expect: 'resolved → resolved' },
        { t: 5, holds: false, expect: 'resolved' },
      ],
      {},
    ],
    [
      'for: 3 runs — pending until the third in a row; a break starts over',
      [
        { t: 0, holds: true, expect: 'pending' },
        { t: 1, holds: true, expect: 'pending' },
        { t: 2, holds: false, expect: 'inactive' },
        { t: 3, holds: true, expect: 'pending' },
        { t: 4, holds: true, expect: 'pending' },
        { t: 5, holds: true, expect: 'firing → firing' },
      ],
      { forSpec: { runs: 3 } },
    ],
    [
      'for: 10m — fires once the condition has held ten minutes, whatever the number of runs',
      [
        { t: 0, holds: true, expect: 'pending' },
        { t: 4, holds: true, expect: 'pending' },
        { t: 9, holds: true, expect: 'pending' },
        { t: 10, holds: true, expect: 'firing → firing' },
      ],
      { forSpec: { ms: 10 * minute } },
    ],
    [
      'unknown (an error observation) neither fires, resolves nor breaks a pending streak',
      [
        { t: 0, holds: true, expect: 'pending' },
        { t: 1, holds: undefined, expect: 'pending' },
        { t: 2, holds: true, expect: 'firing → firing' },
        { t: 3, holds: undefined, expect: 'firing' },
        { t: 4, holds: false, expect: 'resolved → resolved' },
      ],
      { forSpec: { runs: 2 } },
    ],
    [
      're-notifies a long-firing alert every interval, not before',
      [
        { t: 0, holds: true, expect: 'firing → firing' },
        { t: 30, tick: true, expect: 'firing' },
        { t: 60, tick: true, expect: 'firing → reminder' },
        { t: 61, holds: true, expect: 'firing' },
        { t: 119, tick: true, expect: 'firing' },
        { t: 120, tick: true, expect: 'firing → reminder' },
      ],
      { renotifyMs: 60 * minute },
    ],
    [
      'an acknowledged alert is not re-notified, and still resolves; the next firing is not acknowledged',
      [
        { t: 0, holds: true, expect: 'firing → firing' },
        { t: 5, ack: 'ops', expect: 'firing' },
        { t: 60, tick: true, expect: 'firing' },
        { t: 61, holds: false, expect: 'resolved → resolved' },
        { t: 62, holds: true, expect: 'firing → firing' },
        { t: 122, tick: true, expect: 'firing → reminder' },
      ],
      { renotifyMs: 60 * minute },
    ],
    [
      'silenced: no message while silenced; what is still true is said when the silence ends',
      [
        { t: 0, holds: true, silenced: true, expect: 'firing' },
        { t: 1, holds: true, silenced: true, expect: 'firing' },
        { t: 2, tick: true, silenced: false, expect: 'firing → firing' },
        { t: 3, holds: false, silenced: true, expect: 'resolved' },
        { t: 4, tick: true, silenced: false, expect: 'resolved → resolved' },
      ],
      {},
    ],
    [
      'a firing that starts and ends inside a silence is never told',
      [
        { t: 0, holds: true, silenced: true, expect: 'firing' },
        { t: 1, holds: false, silenced: true, expect: 'resolved' },
        { t: 2, tick: true, silenced: false, expect: 'resolved' },
      ],
      {},
    ],
    [
      'flapping: after more than 4 transitions in an hour, quiet until an hour passes without one; then the current state once',
      [
        { t: 0, holds: true, expect: 'firing → firing' },
        { t: 1, holds: false, expect: 'resolved → resolved' },
        { t: 2, holds: true, expect: 'firing → firing' },
        { t: 3, holds: false, expect: 'resolved → resolved' },
        { t: 4, holds: true, expect: 'firing' },
        { t: 5, holds: false, expect: 'resolved' },
        { t: 6, holds: true, expect: 'firing' },
        { t: 60, tick: true, expect: 'firing' },
        { t: 66, tick: true, expect: 'firing → firing' },
        { t: 67, tick: true, expect: 'firing' },
      ],
      {},
    ],
    [
      '"record changed" resolves quietly: the change was the news',
      [
        { t: 0, holds: true, expect: 'firing → firing' },
        { t: 1, holds: false, expect: 'resolved → quiet' },
        { t: 2, holds: true, expect: 'firing → firing' },
      ],
      { notifyResolved: false },
    ],
  ])('%s', (_name, rows, options) => {
    const { got, want } = play(rows, options);
    expect(got).toEqual(want);
  });

  it('flapping ends, and the state people were last told is corrected once', () => {
    const rows: Row[] = [
      { t: 0, holds: true, expect: 'firing → firing' },
      { t: 1, holds: false, expect: 'resolved → resolved' },
      { t: 2, holds: true, expect: 'firing → firing' },
      { t: 3, holds: false, expect: 'resolved → resolved' },
      { t: 4, holds: true, expect: 'firing' },
      { t: 5, holds: false, expect: 'resolved' },
      { t: 30, tick: true, expect: 'resolved' },
      { t: 65, tick: true, expect: 'resolved' },
      { t: 66, tick: true, expect: 'resolved' },
    ];
    const { got, want, state } = play(rows);
    expect(got).toEqual(want);
    // Told "resolved" at minute 3, and it is resolved: nothing to correct.
    expect(state).toMatchObject({ flapping: false, notified: 'resolved' });
    const { got: after } = play([{ t: 67, holds: true, expect: 'firing → firing' }], {}, state);
    expect(after).toEqual(['firing → firing']);
  });

  it('a restart mid-firing (the state written and read back) neither re-fires nor forgets', () => {
    const before = play(
      [
        { t: 0, holds: true, expect: 'pending' },
        { t: 1, holds: true, expect: 'firing → firing' },
      ],
      { forSpec: { runs: 2 }, renotifyMs: 60 * minute },
    );
    const restored = JSON.parse(JSON.stringify(before.state)) as InstanceState;
    const after = play(
      [
        { t: 2, holds: true, expect: 'firing' },
        { t: 61, tick: true, expect: 'firing → reminder' },
        { t: 62, holds: false, expect: 'resolved → resolved' },
      ],
      { forSpec: { runs: 2 }, renotifyMs: 60 * minute },
      restored,
    );
    expect(after.got).toEqual(after.want);
  });
});
