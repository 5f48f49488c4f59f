/**
 * A setup file of the unit tier: every test file starts with Mailscope's own
 * modules evaluated anew (the packages in node_modules stay loaded). `npm run
 * test:unit` runs files one after another in a worker (--no-isolate, for speed);
 * module state such as core/secret.ts's list of values never to emit must not
 * pass from one file to the next, as it cannot when each file has its own worker.
 */
import { vi } from 'vitest';

vi.resetModules();
