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
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
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
  panels: GrafanaPanel[];
}

export const files = readdirSync(dashboardsDir).filter((name) => name.endsWith('.json'));
export const dashboards = files.map((name) => ({ name, dashboard: JSON.parse(readFileSync(join(dashboardsDir, name), 'utf8')) as GrafanaDashboard }));
export const queryPanels = (dashboard: GrafanaDashboard) => dashboard.panels.filter((panel) => panel.type !== 'row');
