#!/usr/bin/env node
// kubectl-hyperagent: the kubectl plugin (`kubectl hyperagent <verb>`). Verbs arrive with the
// features they drive; the canary verbs (status, approve, rollback...) come with delivery.
import { Command } from 'commander';
import { graphCommand } from './graph-command.js';

const program = new Command()
  .name('kubectl hyperagent')
  .description('Inspect and steer HyperAgents in the cluster.')
  .addCommand(graphCommand());

await program.parseAsync();
