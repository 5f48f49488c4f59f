/** The browser tier's helpers (helpers/browser.ts): what goes wrong in a page is seen, and fails the test unless expected. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchBrowser, newPage, problemsOf, screenshot, screenshotDir } from './browser.ts';
import { httpServer } from './servers.ts';

/** Pages with a strict CSP: /ok renders, /broken breaks in every way a page can. */
async function site() {
  return httpServer((request, response) => {
    response.setHeader('content-security-policy', "default-src 'self'; img-src 'self'");
    response.setHeader('content-type', 'text/html; charset=utf-8');
    if (request.url === '/favicon.ico') return void response.writeHead(204).end();
    if (request.url === '/ok') return void response.end('<!doctype html><title>fine</title><h1>All good</h1>');
    if (request.url === '/app.js') {
      response.setHeader('content-type', 'text/javascript');
      return void response.end("console.error('logged on purpose'); setTimeout(() => { throw new Error('thrown on purpose'); });");
    }
    if (request.url === '/broken') {
      return void response.end('<!doctype html><title>broken</title><script src="/app.js"></script><img src="http://127.0.0.2:9/pixel.png"><script>inline()</script>');
    }
    response.statusCode = 404;
    response.end('not here');
  });
}

describe('browser helpers', () => {
  it('open a page relative to the base URL and screenshot it, with no problems', async () => {
    const { url } = await site();
    const page = await newPage(url);
    await page.goto('/ok');
    expect(await page.locator('h1').textContent()).toBe('All good');
    const path = await screenshot(page, 'helpers-ok');
    expect(path).toBe(join(screenshotDir, 'helpers-ok.png'));
    expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    expect(problemsOf(page)).toEqual([]);
    await expect(screenshot(page, '../elsewhere')).rejects.toThrow('lowercase letters, digits and dashes');
  });

  it('collect console errors, uncaught exceptions and CSP violations (blocked inline script, blocked image); expected ones do not fail the test', async () => {
    const { url } = await site();
    const page = await newPage(url, { expect: [/on purpose/, /Content Security Policy/, /CSP violation/] });
    await page.goto('/broken');
    await expect.poll(() => problemsOf(page).length).toBeGreaterThanOrEqual(6);
    const problems = problemsOf(page);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^console error: logged on purpose \(http:\/\/127\.0\.0\.1:\d+\/app\.js:1\)$/),
        expect.stringMatching(/^page error: Error: thrown on purpose/),
        expect.stringMatching(/^CSP violation: script-src-elem blocked inline at http:\/\/127\.0\.0\.1:\d+\/broken:1$/),
        expect.stringMatching(/^CSP violation: img-src blocked http:\/\/127\.0\.0\.2:9\/pixel\.png at /),
        // Chromium's own report of each violation, in the console.
        expect.stringMatching(/^console error: Loading the image 'http:\/\/127\.0\.0\.2:9\/pixel\.png' violates the following Content Security Policy directive/),
      ]),
    );
  });

  it('share one browser between pages, each in its own context', async () => {
    const { url } = await site();
    const browser = await launchBrowser();
    const first = await newPage(url, { browser });
    const second = await newPage(url, { browser });
    await first.context().addCookies([{ name: 'seen', value: '1', url }]);
    expect(first.context()).not.toBe(second.context());
    expect(await second.context().cookies()).toEqual([]);
    expect(browser.contexts()).toHaveLength(2);
  });

  // The page's problems throw when the test ends: `fails` turns that failure into this test's pass.
  it.fails('fail a test whose page had an unexpected problem (and screenshot its page)', async () => {
    const { url } = await site();
    rmSync(join(screenshotDir, 'failed-fail-a-test-whose-page-had-an-unexpected-problem-and-screenshot-its-page-.png'), { force: true });
    const page = await newPage(url);
    await page.goto('/broken');
    await expect.poll(() => problemsOf(page).length).toBeGreaterThan(0);
  });

  it('screenshotted the failed test’s page', () => {
    expect(existsSync(join(screenshotDir, 'failed-fail-a-test-whose-page-had-an-unexpected-problem-and-screenshot-its-page-.png'))).toBe(true);
  });
});
