#!/usr/bin/env node
// hyperagent: offline tools for HyperAgent users — see what the operator sees (represent) and
// what it would let through (policy check), without a cluster.
import { Command } from 'commander';
import { policyCommand } from './policy-command.js';
import { representCommand } from './represent-command.js';

const program = new Command()
  .name('hyperagent')
  .description('Offline tools for HyperAgent: inspect a service as the operator sees it, check patches.')
  .addCommand(representCommand())
  .addCommand(policyCommand());

await program.parseAsync();
