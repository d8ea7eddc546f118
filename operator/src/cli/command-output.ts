// What a CLI command produces, kept apart from the process so tests call commands as functions.
// Exit status 2 and one `error:` line are how every command reports input it cannot use.
import type { ServiceGraph } from '../represent/graph.js';
import { renderGraph } from '../represent/render.js';

export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Bad input: one line on stderr, exit status 2, no stack trace. */
export function userError(message: string): CommandOutput {
  return { exitCode: 2, stdout: '', stderr: `error: ${message}\n` };
}

/** A service graph as the user asked for it: readable text after `header`, or JSON. */
export function graphOutput(graph: ServiceGraph, json: boolean, header = ''): CommandOutput {
  return {
    exitCode: 0,
    stdout: json ? `${JSON.stringify(graph, null, 2)}\n` : `${header}${renderGraph(graph)}`,
    stderr: '',
  };
}

/** Writes a command's output to the process and sets its exit status. */
export function emit(result: CommandOutput): void {
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.exitCode;
}
