/** A person signed in to the console of an app under test: their session cookie, form token, and pages and forms through inject(). */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/** A cookie's value as a Set-Cookie header set it. */
export const cookieOf = (setCookie: string | string[] | undefined, name: string) => {
  const line = [setCookie ?? []].flat().find((cookie) => cookie.startsWith(`${name}=`));
  return line ? line.slice(name.length + 1, line.indexOf(';')) : undefined;
};

/** The headers of a form a page of this console posts. */
export const formHeaders = (cookie: string) => ({ 'content-type': 'application/x-www-form-urlencoded', cookie, 'sec-fetch-site': 'same-origin' });

export const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];

export interface ConsoleUser {
  cookie: string;
  csrf: string;
  get(url: string): Promise<LightMyRequestResponse>;
  /** A form posted from a page of this console (with the form token unless `_csrf` is given). */
  post(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse>;
}

export async function signedIn(app: FastifyInstance, token: string): Promise<ConsoleUser> {
  const page = await app.inject({ method: 'GET', url: '/login' });
  const login = cookieOf(page.headers['set-cookie'], 'mailscope_login')!;
  const signIn = await app.inject({
    method: 'POST',
    url: '/login',
    headers: formHeaders(`mailscope_login=${login}`),
    payload: new URLSearchParams({ _csrf: csrfIn(page.body)!, token, next: '/' }).toString(),
  });
  if (signIn.statusCode !== 303) throw new Error(`sign-in answered ${signIn.statusCode}: ${signIn.body}`);
  const cookie = `mailscope_session=${cookieOf(signIn.headers['set-cookie'], 'mailscope_session')}`;
  const home = await app.inject({ method: 'GET', url: '/', headers: { cookie } });
  const csrf = csrfIn(home.body)!;
  return {
    cookie,
    csrf,
    get: (url) => app.inject({ method: 'GET', url, headers: { cookie } }),
    post: (url, fields) => app.inject({ method: 'POST', url, headers: formHeaders(cookie), payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString() }),
  };
}
