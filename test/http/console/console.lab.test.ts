/**
 * The console in a real browser (Debian's Chromium) against a running
 * observatory on the lab: a viewer signs in and sees no buttons; an IP listed on
 * the lab's DNSBL turns red on the overview's matrix within a probe interval,
 * without a reload; an operator pauses it from its page, and GET /v1/policy
 * answers pause; resumes it from the overview; a form without the form token is
 * refused; every page carries the Content-Security-Policy; signing out ends the
 * session. Screenshots go to .test-results/screenshots/ (the README's).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { delist, list } from '../../lab/dnsbl.ts';
import { lab } from '../../lab/plan.ts';
import { launchBrowser, newPage, screenshot } from '../../helpers/browser.ts';
import { ensureChromium } from '../../helpers/chromium.ts';
import { runningObservatory } from '../../helpers/observatory.ts';
import { tempDir } from '../../helpers/temp.ts';

const tokens = { viewer: 'console-viewer-token-000001', operator: 'console-operator-token-0001' };
/** An address of the lab's pools' /24 no other test lists. */
const target = '127.0.0.77';

beforeAll(() => ensureChromium((line) => process.stderr.write(`console test: ${line}\n`)));

async function observatory() {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'mailscope.yaml'),
    [
      'dataDir: ./data',
      'http: { listen: "127.0.0.1:0" }',
      'tokens:',
      `  - { name: watcher, role: viewer, token: "${tokens.viewer}" }`,
      `  - { name: oncall, role: operator, token: "${tokens.operator}" }`,
      `dns: { resolvers: ["127.0.0.1:${lab.resolver.port}"] }`,
      'blocklists:',
      '  lists:',
      '    - { id: lab-zen, name: Lab ZEN, zone: zen.dnsbl.test, kind: ip, codes: { "127.0.0.2": "lab SBL: spam source" } }',
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'probes'));
  writeFileSync(
    join(dir, 'probes', 'lab.yaml'),
    ['probes:', '  - id: pool-blocklists', '    kind: blacklist', '    schedule: "*/3 * * * * *"', `    targets: [${target}]`, '    lists: [lab-zen]', ''].join('\n'),
  );
  const running = await runningObservatory(dir, { token: tokens.operator, dnsServers: [lab.resolver], logLevel: 'warn' });
  return { running, base: `http://127.0.0.1:${running.observatory.address.port}` };
}

async function signIn(page: Awaited<ReturnType<typeof newPage>>, token: string): Promise<void> {
  await page.goto('/');
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('#token', token);
  await Promise.all([page.waitForURL((url) => url.pathname === '/'), page.click('button[type=submit]')]);
}

describe('lab: the console in a browser', () => {
  it('shows a listing live, pauses and resumes it from the pages, refuses a forged form, and signs out', { timeout: 120_000 }, async () => {
    onTestFinished(() => delist(target));
    await delist(target);
    const { running, base } = await observatory();
    const browser = await launchBrowser();

    // A viewer: the pages, no buttons.
    const viewer = await newPage(base, { browser });
    await signIn(viewer, tokens.viewer);
    expect(await viewer.locator('h1').first().textContent()).toBe('Overview');
    const response = await viewer.goto('/');
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'.*frame-ancestors 'none'/);
    expect(await viewer.locator('main button').count()).toBe(0);

    // Listed on the lab's DNSBL: red on the matrix within a probe interval, the page updating by itself.
    await list(target);
    await viewer.locator(`td.listed`).first().waitFor({ timeout: 30_000 });
    expect(await viewer.locator('main').textContent()).toContain(target);
    await screenshot(viewer, 'console-viewer-listed');
    await Promise.all([viewer.waitForURL((url) => url.pathname === '/login'), viewer.click('text=Sign out')]);
    expect((await viewer.goto('/')) && new URL(viewer.url()).pathname).toBe('/login');

    // An operator pauses the IP from its page: the policy answers pause.
    const operator = await newPage(base, { browser });
    await signIn(operator, tokens.operator);
    await operator.goto(`/targets/${target}`);
    const form = operator.locator('form.control-form');
    await form.locator('select[name=action]').selectOption('pause');
    await form.locator('input[name=reason]').fill('listed on lab ZEN: paused from the console');
    await Promise.all([operator.waitForURL(/done=/), form.locator('button[type=submit]').click()]);
    const policy = async () => (await running.api(`/v1/policy?ip=${target}&rcpt_domain=gmail.test`)).body;
    expect(await policy()).toMatchObject({ action: 'pause' });
    const audit = (await running.api('/v1/audit')).body.entries;
    expect(audit[0]).toMatchObject({ action: 'control.created', actor: 'oncall' });

    await operator.goto('/');
    await screenshot(operator, 'console-overview');
    // Resume from the overview.
    const resume = operator.locator('main form[action$="/resume"]').first();
    await resume.locator('input[name=reason]').fill('delisted');
    await Promise.all([operator.waitForURL(/done=/), resume.locator('button[type=submit]').click()]);
    expect((await policy()).action).toBe('allow');

    // A form without the form token (what another site could make the browser send) is refused; nothing changes.
    const forged = await operator.request.post(`${base}/controls`, { form: { action: 'pause', 'scope.ip': target, reason: 'forged' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect((await policy()).action).toBe('allow');

    // A phone's width: the overview still reads.
    await operator.setViewportSize({ width: 390, height: 844 });
    await operator.goto('/');
    await screenshot(operator, 'console-overview-phone');
    await Promise.all([operator.waitForURL((url) => url.pathname === '/login'), operator.click('text=Sign out')]);
  });
});
