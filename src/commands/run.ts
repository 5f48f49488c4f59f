/** `mailscope run`: the observatory until SIGTERM or SIGINT. */
import { storeLocationOf } from '../assemble.ts';
import { startObservatory } from '../observatory.ts';
import type { CommandContext } from './context.ts';

export async function run(ctx: CommandContext): Promise<void> {
  const { host } = ctx;
  const config = ctx.config();
  const log = host.createLogger({ level: config.instance.log.level, to: 'stdout', format: config.instance.log.format });
  const observatory = await startObservatory({
    config,
    log,
    clock: host.clock,
    db: host.openDatabase(storeLocationOf(config)),
    dns: ctx.dns(config.instance),
    version: host.version,
  });
  await new Promise<void>((resolve) => {
    if (host.shutdown.aborted) resolve();
    else host.shutdown.addEventListener('abort', () => resolve(), { once: true });
  });
  log.info({ signal: String(host.shutdown.reason) }, 'shutting down');
  await observatory.stop();
  log.info('stopped');
}
