// vitest global setup: the lab comes up once for the whole run (or is found up), and
// goes down afterwards if this run started it — unless MAILSCOPE_LAB_KEEP=1.
import { labDown, labUp } from './lab.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const { started } = await labUp();
  return async () => {
    if (started && process.env.MAILSCOPE_LAB_KEEP !== '1') await labDown();
  };
}
