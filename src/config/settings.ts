/**
 * Each service's settings from the instance file: the one place that knows both
 * the instance's shape and what the services take. alerts/ and controls/ take
 * plain settings and never import config/ (config composes their schemas).
 */
import type { AlertSettings } from '../alerts/engine.ts';
import { providerMap } from '../core/providers.ts';
import type { ControlSettings } from '../controls/service.ts';
import type { RetrySettings } from '../core/retry-queue.ts';
import type { ReportSettings } from '../reports/service.ts';
import type { TrafficSettings } from '../traffic/service.ts';
import type { InstanceConfig } from './schema.ts';

/** The engine's settings from the instance file's `alerts:` section. */
export function alertSettingsOf(instance: InstanceConfig): AlertSettings {
  const { alerts } = instance;
  return {
    intervalMs: alerts.interval,
    renotifyMs: alerts.renotify,
    flap: { windowMs: alerts.flap.window, maxTransitions: alerts.flap.maxTransitions },
    externalUrl: alerts.externalUrl,
    dashboardUrl: alerts.dashboardUrl,
  };
}

/** The service's settings from the instance file's `controls:` section. */
export function controlSettingsOf(instance: InstanceConfig): ControlSettings {
  return { failMode: instance.controls.failMode, providers: providerMap(instance.controls.providers) };
}

/** The traffic service's settings from `traffic:` (and how long the store keeps what it aggregates). */
export function trafficSettingsOf(instance: InstanceConfig): TrafficSettings {
  const { traffic } = instance;
  return { campaignTag: traffic.campaignTag, reasonsKept: traffic.reasons, mxLookup: traffic.mxLookup, oldestMs: instance.retention.keep };
}

/** The report service's settings from `reports:`. */
export function reportSettingsOf(instance: InstanceConfig): ReportSettings {
  const { nameSources, namesPerReport, ...limits } = instance.reports;
  return { limits, nameSources, namesPerReport };
}

/** RetrySettings from a config `retry:` section (alerts.retry, controls.retry). */
export function retrySettingsOf(retry: { min: number; max: number; attempts: number; timeout: number }): RetrySettings {
  return { minMs: retry.min, maxMs: retry.max, attempts: retry.attempts, timeoutMs: retry.timeout };
}
