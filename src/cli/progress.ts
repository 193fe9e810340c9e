/**
 * Progress display for long commands (bulk, sync, publish). On a TTY it redraws one line per task in place
 * (a bar when the total is known, a counter otherwise); anywhere else it draws nothing, because structured
 * logs carry the same information and escape codes would corrupt files and CI logs.
 */
import type { Writable } from 'node:stream';
import { thousands } from './args.ts';

/** Redraw no more often than this, so millions of `update()` calls cost nothing. */
export const PROGRESS_REDRAW_MS = 100;
/** Width of the bar part of a line, in characters. */
export const PROGRESS_BAR_WIDTH = 24;

export interface ProgressTask {
  /** Sets the absolute count (and, optionally, a short status such as `polling job 750…`). */
  update(done: number, status?: string): void;
  /** Sets or changes the total once it is known. */
  setTotal(total: number | undefined): void;
  /** Marks the task finished and draws its final state. */
  finish(status?: string): void;
}

export interface Progress {
  task(label: string, total?: number): ProgressTask;
  /** Draws the final state and stops redrawing; leaves the cursor on a fresh line. */
  close(): void;
  /** True when this progress draws anything (a TTY). */
  readonly enabled: boolean;
}

interface TaskState {
  label: string;
  total: number | undefined;
  done: number;
  status: string;
  finished: boolean;
  started: number;
}

/** Creates a progress display on `stream`; a no-op unless `stream.isTTY` (or `force`). */
export function createProgress(stream: Writable & { isTTY?: boolean; columns?: number }, opts: { force?: boolean; now?: () => number } = {}): Progress {
  const enabled = Boolean(opts.force ?? stream.isTTY);
  const now = opts.now ?? (() => performance.now());
  const tasks: TaskState[] = [];
  let drawnLines = 0;
  let lastDraw = 0;
  let closed = false;

  const draw = (force = false): void => {
    if (!enabled || closed) return;
    const t = now();
    if (!force && t - lastDraw < PROGRESS_REDRAW_MS) return;
    lastDraw = t;
    let out = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
    for (const task of tasks) out += `\x1b[2K${renderLine(task, t, stream.columns ?? 100)}\n`;
    drawnLines = tasks.length;
    stream.write(out);
  };

  return {
    enabled,
    task(label, total) {
      const state: TaskState = { label, total, done: 0, status: '', finished: false, started: now() };
      tasks.push(state);
      draw(true);
      return {
        update(done, status) {
          state.done = done;
          if (status !== undefined) state.status = status;
          draw();
        },
        setTotal(total) {
          state.total = total;
          draw();
        },
        finish(status) {
          state.finished = true;
          if (status !== undefined) state.status = status;
          draw(true);
        },
      };
    },
    close() {
      draw(true);
      closed = true;
    },
  };
}

/** One line: `label  [#####-----]  45%  4,500/10,000  1,234/s  status`. Exported for tests. */
export function renderLine(task: TaskState, at: number, columns: number): string {
  const elapsed = Math.max((at - task.started) / 1000, 0.001);
  const rate = Math.round(task.done / elapsed);
  const parts = [task.label.padEnd(16)];
  if (task.total !== undefined && task.total > 0) {
    const ratio = Math.min(task.done / task.total, 1);
    const filled = Math.round(ratio * PROGRESS_BAR_WIDTH);
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(PROGRESS_BAR_WIDTH - filled)}]`, `${String(Math.floor(ratio * 100)).padStart(3)}%`, `${thousands(task.done)}/${thousands(task.total)}`);
  } else {
    parts.push(thousands(task.done));
  }
  if (!task.finished && task.done > 0) parts.push(`${thousands(rate)}/s`);
  if (task.status) parts.push(task.status);
  if (task.finished && !task.status) parts.push('done');
  const line = parts.join('  ');
  return line.length > columns - 1 ? line.slice(0, Math.max(columns - 2, 0)) + '…' : line;
}
