// Memory use of the evaluation, from the counters the kernel keeps for the container's cgroup:
// the high-water mark, and how many processes the OOM killer stopped at the memory limit.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Files holding the high-water mark: cgroup v2 first (`memory.peak`, kernel 5.19+), then v1. */
const PEAK_FILES = ['memory.peak', 'memory/memory.max_usage_in_bytes'];

/** Files with an `oom_kill <n>` line: cgroup v2 `memory.events`, then v1 `memory.oom_control` (4.13+). */
const OOM_FILES = ['memory.events', 'memory/memory.oom_control'];

export interface MemoryUse {
  peakBytes?: number;
  oomKills?: number;
}

/** What the cgroup under `cgroupRoot` tells; a counter no file tells is absent. */
export async function readMemoryUse(cgroupRoot: string): Promise<MemoryUse> {
  const use: MemoryUse = {};
  const peak = await firstValue(cgroupRoot, PEAK_FILES, (text) => text.trim());
  if (peak !== undefined) use.peakBytes = peak;
  const oomKills = await firstValue(cgroupRoot, OOM_FILES, (text) => /^oom_kill (\S+)$/m.exec(text)?.[1]);
  if (oomKills !== undefined) use.oomKills = oomKills;
  return use;
}

/** The first whole number `pick` finds in one of `files`, in order. */
async function firstValue(
  root: string,
  files: readonly string[],
  pick: (text: string) => string | undefined,
): Promise<number | undefined> {
  for (const file of files) {
    const text = await readFile(join(root, file), 'utf8').catch(() => undefined);
    const digits = text === undefined ? undefined : pick(text);
    if (digits !== undefined && /^\d+$/.test(digits) && Number.isSafeInteger(Number(digits)))
      return Number(digits);
  }
  return undefined;
}
