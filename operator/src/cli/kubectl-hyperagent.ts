#!/usr/bin/env node
// kubectl-hyperagent: the kubectl plugin (`kubectl hyperagent <verb>`): status, history,
// archive, run, approve, reject, pause, resume, abort, rollback, trust, graph, secret allow.
import { Command } from 'commander';
import { graphCommand } from './graph-command.js';
import { secretCommand } from './secret-command.js';
import { steerCommands } from './steer-commands.js';

const program = new Command()
  .name('kubectl hyperagent')
  .description('Inspect and steer HyperAgents in the cluster.');
for (const command of steerCommands()) program.addCommand(command);
program.addCommand(graphCommand());
program.addCommand(secretCommand());

await program.parseAsync();
