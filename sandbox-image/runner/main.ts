// The sandbox evaluation runner: `node runner.mjs [manifest path]`. It evaluates one candidate as
// the manifest describes, writes the result to the termination log and repeats it as the last line
// of stdout. It exits 0 whenever a result was written, whatever the result says: judging it is the
// operator's job. Only a result that could not be written makes it exit 1.
import { writeFile } from 'node:fs/promises';
import { evaluate } from './evaluation.js';
import { createLog } from './log.js';
import { runnerPaths } from './paths.js';
import { fitResult, RESULT_LINE_PREFIX } from './result.js';

const paths = runnerPaths(process.env, process.argv.slice(2));
const log = createLog((text) => process.stdout.write(text));
const result = await evaluate({ paths, log, runnerEnv: process.env });
const json = fitResult(result);
log.line(`outcome ${result.outcome}${result.message ? `: ${result.message}` : ''}`);
try {
  await writeFile(paths.result, json);
  process.exitCode = 0;
} catch (error) {
  log.line(`cannot write the result to ${paths.result}: ${(error as Error).message}`);
  process.exitCode = 1;
}
process.stdout.write(`${RESULT_LINE_PREFIX}${json}\n`);
// Nothing may linger after the result: a stray handle must not keep the pod running.
process.exit();
