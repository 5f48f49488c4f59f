/** Data from the demo instance (demo/mailscope.yaml), for tests that need no server. */
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const demo = loadConfig(join(repoRoot, 'demo', 'mailscope.yaml'), { env: {}, cwd: repoRoot });

/** The lab's DNSBLs (lab-zen, lab-dbl) as a user configures them: the demo's blocklists.lists, the one definition (test/lab/dnsbl.ts reads the same). */
export const labListsConfig = demo.instance.blocklists.lists;
