/**
 * Pages in a real browser (Debian's Chromium through playwright-core) for the
 * browser tier, *.browser.test.ts: the tier's global setup (chromium.ts) has
 * installed it. Each test gets its own browser context; what goes wrong in the
 * page (a console error, an uncaught exception, a Content-Security-Policy
 * violation) fails the test unless the test said to expect it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { onTestFinished } from 'vitest';
import { chromiumArgs, chromiumPath } from './chromium.ts';

/** Where screenshot() writes: git ignores it; CI keeps it with the vitest report. */
export const screenshotDir = join(import.meta.dirname, '..', '..', '.test-results', 'screenshots');

/** How long a page action or an expectation waits, well under the test's own limit. */
const actionTimeoutMs = 10_000;

/** Chromium, headless, closed when the test ends. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 30_000 });
  onTestFinished(() => browser.close());
  return browser;
}

export interface PageOptions {
  /** The browser to open the page in; default: one launched for this test. */
  browser?: Browser;
  /** Problems this test expects (each matched against the text problemsOf() gives); they do not fail it. */
  expect?: RegExp[];
  viewport?: { width: number; height: number };
}

const problemsByContext = new WeakMap<BrowserContext, string[]>();

// Runs in the page before its own scripts: each CSP violation (blocked, or only reported) goes to the binding.
const reportCspViolations = `document.addEventListener('securitypolicyviolation', (event) => {
  globalThis.__mailscopeCspViolation?.(\`\${event.disposition === 'report' ? 'report-only ' : ''}\${event.effectiveDirective} blocked \${event.blockedURI || '(inline)'} at \${event.sourceFile || event.documentURI}:\${event.lineNumber}\`);
});`;

/**
 * A page in a fresh browser context whose relative URLs resolve against
 * `baseUrl` (`page.goto('/docs')`), in English, in UTC. When the test ends, the
 * problems the page had fail it (a screenshot of a failed test's page goes to
 * screenshotDir as failed-<test>.png), and the context closes.
 */
export async function newPage(baseUrl: string, options: PageOptions = {}): Promise<Page> {
  const browser = options.browser ?? (await launchBrowser());
  const context = await browser.newContext({ baseURL: baseUrl, viewport: options.viewport ?? { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(actionTimeoutMs);
  const problems: string[] = [];
  problemsByContext.set(context, problems);
  context.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url, lineNumber } = message.location();
    // Playwright counts lines from 0.
    problems.push(`console error: ${message.text()}${url ? ` (${url}:${lineNumber + 1})` : ''}`);
  });
  context.on('weberror', (error) => problems.push(`page error: ${error.error().stack ?? error.error().message}`));
  await context.exposeFunction('__mailscopeCspViolation', (text: string) => problems.push(`CSP violation: ${text}`));
  await context.addInitScript(reportCspViolations);
  const page = await context.newPage();
  // Registered after the browser's close: runs before it (vitest runs these hooks last registered, first run).
  onTestFinished(async ({ task }) => {
    try {
      const unexpected = problems.filter((problem) => !(options.expect ?? []).some((pattern) => pattern.test(problem)));
      if ((task.result?.state === 'fail' || unexpected.length > 0) && !page.isClosed()) {
        await page.screenshot({ path: join(screenshotDir, `failed-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`), fullPage: true }).catch(() => {});
      }
      if (unexpected.length > 0) throw new Error(`the page had ${unexpected.length} unexpected problem(s):\n${unexpected.join('\n')}`);
    } finally {
      await context.close();
    }
  });
  return page;
}

/** What went wrong in the page's context so far: console errors, uncaught exceptions, CSP violations, in order. */
export function problemsOf(page: Page): string[] {
  return [...(problemsByContext.get(page.context()) ?? [])];
}

/** The whole page as screenshotDir/<name>.png (name: lowercase letters, digits, dashes); its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name)) throw new Error(`screenshot name "${name}": lowercase letters, digits and dashes`);
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}
