/** The Grafana dashboards in dashboards/, read as Grafana reads them (the parts the tests look at). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardsDir } from '../../scripts/dashboards.ts';

export interface Target {
  query: string;
  rawQuery: boolean;
  resultFormat: string;
  datasource: { type: string; uid: string };
}
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  /** Panel links: to the dashboard that tells more. */
  links?: { title: string; url: string }[];
  /** A relative time range of the panel's own. */
  timeFrom?: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  fieldConfig?: { defaults: { thresholds?: { steps: { color: string; value: number | null }[] } } };
}
export interface Variable {
  name: string;
  type: string;
  query: string;
  /** What "All" sends, when not a regex of every value. */
  allValue?: string;
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  templating: { list: Variable[] };
  time: { from: string; to: string };
  panels: GrafanaPanel[];
}

export const files = readdirSync(dashboardsDir).filter((name) => name.endsWith('.json'));
export const dashboards = files.map((name) => ({ name, dashboard: JSON.parse(readFileSync(join(dashboardsDir, name), 'utf8')) as GrafanaDashboard }));
export const queryPanels = (dashboard: GrafanaDashboard) => dashboard.panels.filter((panel) => panel.type !== 'row');
/** The panels of a row: those below it and above the next row. */
export function rowPanels(dashboard: GrafanaDashboard, title: string): GrafanaPanel[] {
  const row = dashboard.panels.find((panel) => panel.type === 'row' && panel.title === title);
  if (!row) throw new Error(`${dashboard.uid} has no row ${title}`);
  const next = dashboard.panels.find((panel) => panel.type === 'row' && panel.gridPos.y > row.gridPos.y);
  return dashboard.panels.filter((panel) => panel.type !== 'row' && panel.gridPos.y > row.gridPos.y && (!next || panel.gridPos.y < next.gridPos.y));
}
