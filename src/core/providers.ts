/**
 * Recipient domains of the big mailbox providers, so a control can say
 * `provider: gmail` and traffic is counted per provider. Domains hosted by a
 * provider under their own name (Google Workspace, Microsoft 365) are not here:
 * the traffic service finds them by their MX hosts (providerOfMx), which a
 * per-message policy decision cannot afford; name them with rcpt_domain, or add
 * them in `controls.providers`.
 */
export const builtinProviders: Record<string, readonly string[]> = {
  gmail: ['gmail.com', 'googlemail.com'],
  outlook: ['outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'hotmail.co.uk', 'hotmail.fr', 'live.co.uk', 'outlook.fr'],
  yahoo: ['yahoo.com', 'ymail.com', 'rocketmail.com', 'yahoo.co.uk', 'yahoo.fr', 'yahoo.co.jp', 'aol.com'],
  apple: ['icloud.com', 'me.com', 'mac.com'],
  gmx: ['gmx.de', 'gmx.net', 'gmx.com', 'web.de'],
  mailru: ['mail.ru', 'bk.ru', 'inbox.ru', 'list.ru'],
  yandex: ['yandex.ru', 'yandex.com', 'ya.ru'],
  proton: ['proton.me', 'protonmail.com', 'pm.me'],
  comcast: ['comcast.net'],
  orange: ['orange.fr', 'wanadoo.fr'],
};

/** Domain → provider: the built-in list, then the configuration's (which wins). */
export function providerMap(configured: Record<string, readonly string[]>): Map<string, string> {
  const map = new Map<string, string>();
  for (const source of [builtinProviders, configured]) {
    for (const [provider, domains] of Object.entries(source)) for (const domain of domains) map.set(domain.toLowerCase().replace(/\.$/, ''), provider);
  }
  return map;
}

/** MX host names that give a domain's provider away: [suffix of the MX host, provider]. */
const mxSuffixes: readonly [string, string][] = [
  ['google.com', 'gmail'],
  ['googlemail.com', 'gmail'],
  ['outlook.com', 'outlook'],
  ['hotmail.com', 'outlook'],
  ['yahoodns.net', 'yahoo'],
  ['icloud.com', 'apple'],
  ['gmx.net', 'gmx'],
  ['web.de', 'gmx'],
  ['mail.ru', 'mailru'],
  ['yandex.net', 'yandex'],
  ['yandex.ru', 'yandex'],
  ['protonmail.ch', 'proton'],
  ['comcast.net', 'comcast'],
  ['orange.fr', 'orange'],
];

/** The provider a domain's MX hosts belong to (aspmx.l.google.com → gmail; *.mail.protection.outlook.com → outlook); undefined when none is known. */
export function providerOfMx(exchanges: readonly string[]): string | undefined {
  for (const exchange of exchanges) {
    const host = exchange.toLowerCase().replace(/\.$/, '');
    for (const [suffix, provider] of mxSuffixes) if (host === suffix || host.endsWith(`.${suffix}`)) return provider;
  }
  return undefined;
}
