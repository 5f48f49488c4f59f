/**
 * The console's pages: one file per page (or a page and its drill-downs), each a
 * function that registers its routes. A page route declares
 * `config: { access: 'viewer', session: true }` (a form that acts: 'operator'),
 * reads through `services` (never protocols/ or store/), renders with
 * `tools.render(request, reply, view, data)` and checks every form with
 * `tools.checkForm(request, request.session.csrf)` before it acts.
 */
import type { ConsolePage } from './page.ts';
import { overviewPage } from './overview.ts';
import { alertsPage } from './alerts.ts';
import { auditPage } from './audit.ts';
import { controlsPage } from './controls.ts';
import { probesPage } from './probes.ts';
import { providersPage } from './providers.ts';
import { reportsPage } from './reports.ts';
import { targetsPage } from './targets.ts';
import { trafficPage } from './traffic.ts';

export const consolePages: readonly ConsolePage[] = [overviewPage, alertsPage, controlsPage, probesPage, targetsPage, providersPage, trafficPage, reportsPage, auditPage];
