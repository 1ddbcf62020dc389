// CPU time of processes and their threads from /proc (Linux), for the benches that report where
// CPU goes: utime and stime of `/proc/<pid>/stat` and `/proc/<pid>/task/<tid>/stat`, in ms.
import { readdirSync, readFileSync } from 'node:fs';

const MS_PER_TICK = 1000 / 100; // USER_HZ: 100 on every Linux architecture Node runs on

/** { user, system } CPU ms of one stat file, or undefined when it cannot be read (ended, not Linux). */
function statCpu(path) {
  try {
    const stat = readFileSync(path, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces and ')'
    return { user: Number(f[11]) * MS_PER_TICK, system: Number(f[12]) * MS_PER_TICK };
  } catch {
    return undefined;
  }
}

/** { user, system } CPU ms so far of each live thread of process `pid`, by thread id (empty off Linux). */
export function threadCpu(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // not Linux
  }
  for (const tid of tids) {
    const cpu = statCpu(`/proc/${pid}/task/${tid}/stat`);
    if (cpu) out.set(tid, cpu); // else the thread ended meanwhile
  }
  return out;
}

/** CPU ms (user + system) so far of each live thread of process `pid`, by thread id. */
export function cpuByThread(pid) {
  return new Map([...threadCpu(pid)].map(([tid, c]) => [tid, c.user + c.system]));
}

/** CPU ms (user + system) so far of process `pid` as a whole, threads that have ended included (NaN off Linux). */
export function cpuOfProcess(pid) {
  const cpu = statCpu(`/proc/${pid}/stat`);
  return cpu ? cpu.user + cpu.system : NaN;
}

/**
 * The whole machine's CPU ms so far from /proc/stat, summed over its CPUs: `steal` (time the
 * hypervisor gave a vCPU that wanted to run to someone else) and `idle` (iowait included);
 * undefined off Linux.
 */
export function machineCpu() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [, , , idle, iowait, , , steal] = f;
    return { idle: (idle + iowait) * MS_PER_TICK, steal: steal * MS_PER_TICK };
  } catch {
    return undefined;
  }
}
