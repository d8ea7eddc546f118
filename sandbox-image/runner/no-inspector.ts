// Imported first by the judge: Node opens its inspector (a debugger anyone on loopback could
// drive) when the process receives SIGUSR1, unless the process handles SIGUSR1 itself. The pod's
// containers share one network namespace, so an open inspector would let candidate code rewrite
// the judge's verdict. Handling the signal keeps it shut; the judge does nothing else with it.
process.on('SIGUSR1', () => {
  process.stdout.write('[hyperagent] SIGUSR1 received and ignored: the judge never opens its inspector\n');
});
