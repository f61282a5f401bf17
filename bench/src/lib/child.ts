import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Where the compiled children live: `dist/`, next to this file's folder. */
export function distPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

type ChildMessage<T> = { ok: true; result: T } | { ok: false; error: string };

/**
 * Runs a compiled script in a fresh Node process and resolves with what it sends back.
 * Fresh processes give honest resident-memory figures and keep one suite's heap out of
 * the next one's timings. The child is killed when it passes `timeoutMs`.
 */
export function runChild<T>(
  script: string,
  args: readonly string[],
  timeoutMs: number,
  heapMb = 8192,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(distPath(script), [...args], {
      execArgv: [`--max-old-space-size=${heapMb}`, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let settled = false;
    const finish = (error: Error | null, result?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (error === null) resolve(result as T);
      else reject(error);
    };
    const timer = setTimeout(
      () => finish(new Error(`${script} ${args.join(' ')} ran past ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.on('message', (message: ChildMessage<T>) => {
      if (message.ok) finish(null, message.result);
      else finish(new Error(`${script}: ${message.error}`));
    });
    child.on('exit', (code) => finish(new Error(`${script} exited with ${code} before answering`)));
    child.on('error', (error) => finish(error));
  });
}

/** The child side: runs `main` and sends its result (or its error) to the parent. */
export function childMain<T>(main: (args: string[]) => Promise<T>): void {
  main(process.argv.slice(2)).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (error: unknown) => {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.send?.({ ok: false, error: text }, () => process.exit(1));
    },
  );
}
