import { execFileSync } from 'node:child_process';

/** Whether a program runs at all (its version flag, or the given probe). */
export function hasProgram(command: string, args: string[] = ['-v']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
