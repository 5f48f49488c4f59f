/**
 * Recipient domains of the big mailbox providers, so a control can say
 * `provider: gmail`. Domains hosted by a provider under their own name (Google
 * Workspace, Microsoft 365) are not here: they are found by MX, which a per-message
 * decision cannot afford; name them with rcpt_domain, or add them in
 * `controls.providers`.
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
