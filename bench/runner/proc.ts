// What the runner benchmark reads about its processes from /proc (Linux): resident memory and the
// CPU a process used over a phase, as a share of one core. The runner, the bare-Baileys clients and
// moto each run in a process of their own, so each can be measured (and blamed) separately.
import { readdirSync, readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Resident set size of `pid` in bytes (VmRSS). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) `pid` has used so far. */
export function cpuSecondsOf(pid: number): number {
  const fields = statFields(pid);
  // utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds every core of the machine spent busy so far (all processes, ours and others'). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    TICKS_PER_SECOND
  );
}

/** The child processes of this process whose command name matches `name` (e.g. moto's python). */
export function childProcesses(name: RegExp): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const parent = Number(statFields(Number(entry))[1]);
      if (parent === process.pid && name.test(command)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export interface CpuShare {
  /** CPU seconds used during the phase. */
  readonly cpuSeconds: number;
  /** cpuSeconds / wall seconds: 1.0 = one core busy the whole phase. */
  readonly coreShare: number;
}

/**
 * CPU used by each named process between `start` and `stop`, and by the whole machine (`machine`,
 * in cores: what the other processes, including other users', left to ours). A process that exits
 * during the phase (a runner killed on purpose) is counted up to its last reading.
 */
export class CpuMeter {
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly startedAt = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: Readonly<Record<string, number | undefined>>) {
    this.sample(this.first);
    this.sample(this.last);
    this.timer = setInterval(() => this.sample(this.last), 500);
    this.timer.unref();
  }

  stop(): Record<string, CpuShare> {
    clearInterval(this.timer);
    this.sample(this.last);
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const shares: Record<string, CpuShare> = {};
    for (const [name, before] of this.first) {
      const cpuSeconds = (this.last.get(name) ?? before) - before;
      shares[name] = {
        cpuSeconds: Math.round(cpuSeconds * 10) / 10,
        coreShare: Math.round((cpuSeconds / wallSeconds) * 100) / 100,
      };
    }
    return shares;
  }

  private sample(into: Map<string, number>): void {
    into.set('machine', machineBusySeconds());
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid === undefined) continue;
      try {
        into.set(name, cpuSecondsOf(pid));
      } catch {
        // Gone: keep its last reading.
      }
    }
  }
}
