import { describe, expect, it } from 'vitest';
import { InstanceSchema } from '../../src/config/schema.ts';
import { alertSettingsOf, controlSettingsOf, retrySettingsOf } from '../../src/config/settings.ts';

describe('settings of each service, from the instance file', () => {
  const instance = InstanceSchema.parse({
    alerts: { interval: '1m', renotify: '2h', flap: { window: '30m', maxTransitions: 6 }, retry: { min: '2s', max: '1m', attempts: 3, timeout: '4s' }, externalUrl: 'https://mailscope.example.com' },
    controls: { failMode: 'closed', providers: { corp: ['corp.example'] } },
  });

  it('gives the alert engine its intervals, flap window and links', () => {
    expect(alertSettingsOf(instance)).toEqual({
      intervalMs: 60_000,
      renotifyMs: 7_200_000,
      flap: { windowMs: 1_800_000, maxTransitions: 6 },
      externalUrl: 'https://mailscope.example.com',
      dashboardUrl: undefined,
    });
  });

  it('gives send control its fail mode and the providers, built-in and configured', () => {
    const settings = controlSettingsOf(instance);
    expect(settings.failMode).toBe('closed');
    expect(settings.providers.get('corp.example')).toBe('corp');
    expect(settings.providers.get('gmail.com')).toBe('gmail');
  });

  it('gives a retry queue its delays in milliseconds', () => {
    expect(retrySettingsOf(instance.alerts.retry)).toEqual({ minMs: 2_000, maxMs: 60_000, attempts: 3, timeoutMs: 4_000 });
    expect(retrySettingsOf(instance.controls.retry)).toEqual({ minMs: 5_000, maxMs: 600_000, attempts: 12, timeoutMs: 15_000 });
  });
});
