// The sandbox judge: `node runner.mjs [manifest path]`. It evaluates one candidate as the manifest
// describes, through the executor in the candidate's container, writes the result to its own
// termination log and repeats it as the last line of stdout. It exits 0 whenever a result was
// written, whatever the result says: judging it is the operator's job. Only a result that could not
// be written makes it exit 1.
import './no-inspector.js';
import { writeFile } from 'node:fs/promises';
import { EXECUTOR_SOCKET, STAND_INS_SOCKET } from '../../operator/src/api/sandbox-protocol.js';
import { evaluate } from './evaluation.js';
import { createLog } from './log.js';
import { runnerPaths } from './paths.js';
import { fitResult, RESULT_LINE_PREFIX } from './result.js';

const paths = runnerPaths(process.env, process.argv.slice(2));
const log = createLog((text) => process.stdout.write(text));
const result = await evaluate({
  paths,
  log,
  executorSocket: process.env.HYPERAGENT_EXECUTOR_SOCKET || EXECUTOR_SOCKET,
  standInsSocket: process.env.HYPERAGENT_STAND_INS_SOCKET || STAND_INS_SOCKET,
  judgeUid: process.getuid?.() ?? -1,
});
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
