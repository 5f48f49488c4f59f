import { describe, expect, it } from 'vitest';
import { alertStates } from '../../src/alerts/state.ts';
import { deliveryStatuses, notificationEvents, notifiedStates, severities } from '../../src/core/alert-vocabulary.ts';
import { controlActionNames, failModes, policyActions, pushOperations, pushStatuses } from '../../src/core/control-vocabulary.ts';
import { orList } from '../../src/core/text.ts';

describe('the lists several layers share, declared once', () => {
  it('derives the notification events and the alert states from the states people are told about', () => {
    expect(notifiedStates).toEqual(['firing', 'resolved']);
    expect(notificationEvents).toEqual(['firing', 'resolved', 'reminder']);
    expect(alertStates).toEqual(['pending', 'firing', 'resolved', 'inactive']);
    expect(severities).toEqual(['critical', 'warning', 'info']);
    expect(deliveryStatuses).toEqual(['pending', 'sent', 'failed']);
  });

  it('answers the policy with allow or a control action, loosest first', () => {
    expect(controlActionNames).toEqual(['pause', 'throttle']);
    expect(policyActions).toEqual(['allow', 'throttle', 'pause']);
    expect([...policyActions].sort()).toEqual(['allow', ...controlActionNames].sort());
    expect(pushOperations).toEqual(['apply', 'renew', 'lift']);
    expect(pushStatuses).toEqual(['pending', 'done', 'failed', 'skipped']);
  });
});

describe('orList: words listed the way people write them', () => {
  it('joins with commas and a last "or"', () => {
    expect(orList([])).toBe('');
    expect(orList(['info'])).toBe('info');
    expect(orList(failModes)).toBe('open or closed');
    expect(orList(severities)).toBe('critical, warning or info');
  });
});
