// Properties of the patch policy over generated repositories and diffs: every clean diff within
// its limits is accepted with the files it changes, and a diff with one refused class injected
// is never accepted and is refused for that class. Both directions are checked, so the policy can
// fail neither by refusing everything nor by letting anything through.
//
// Runs per property are chosen so the whole file generates over 10,000 cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  cleanScenario,
  expectedFiles,
  GENEROUS_LIMITS,
  injectBinary,
  injectDeletedTestFile,
  injectDisabledTest,
  injectDoesNotApply,
  injectExecutableBit,
  injectMalformed,
  injectObjectiveFile,
  injectOutsideAllowedPaths,
  injectProtectedPath,
  injectRemovedTestCase,
  injectSubmodule,
  injectSymlink,
  injectTooBig,
  injectUnsafePath,
  measure,
  POLICY,
  render,
  type Injected,
  type Scenario,
} from '../../../test/support/patch-scenarios.js';
import { checkPatch, type PatchLimits, type PatchVerdict } from './patch-policy.js';

const CLEAN_RUNS = 2000;
const INJECTED_RUNS = 700;

function judge(scenario: Scenario, limits: PatchLimits): PatchVerdict {
  const tree = scenario.tree;
  return checkPatch({ diff: render(scenario), ...POLICY, limits, tree: { read: (path) => tree.get(path) } });
}

test('a clean diff is accepted, at its limits or below them, with the files it changes', () => {
  const slack = fc.record({ maxFiles: fc.nat(3), maxChangedLines: fc.nat(20), maxBytes: fc.nat(500) });
  fc.assert(
    fc.property(cleanScenario, slack, (scenario, extra) => {
      const reached = measure(render(scenario), scenario);
      const limits = {
        maxFiles: reached.maxFiles + extra.maxFiles,
        maxChangedLines: reached.maxChangedLines + extra.maxChangedLines,
        maxBytes: reached.maxBytes + extra.maxBytes,
      };
      const verdict = judge(scenario, limits);
      assert.deepEqual(verdict, { accepted: true, files: expectedFiles(scenario) });
    }),
    { numRuns: CLEAN_RUNS },
  );
});

const INJECTIONS = {
  'a path outside the allowed paths': injectOutsideAllowedPaths,
  'a protected path': injectProtectedPath,
  'an objective file': injectObjectiveFile,
  "a path that escapes the tree ('..', absolute, backslash, NUL, .git, no a/ b/ prefix, /dev/null misuse)":
    injectUnsafePath,
  'a symlink': injectSymlink,
  'an executable bit': injectExecutableBit,
  'a submodule': injectSubmodule,
  'binary content': injectBinary,
  'more than a limit allows': injectTooBig,
  'a deleted test file': injectDeletedTestFile,
  'a removed test case': injectRemovedTestCase,
  'a skipped or focused test': injectDisabledTest,
  'a change that does not apply to the base tree': injectDoesNotApply,
  'text that is not a git diff': injectMalformed,
};

for (const [refusedClass, inject] of Object.entries(INJECTIONS)) {
  test(`a diff with ${refusedClass} is never accepted, and the refusal names its rule`, () => {
    fc.assert(
      fc.property(cleanScenario.chain(inject), ({ scenario, rule, path, limits }: Injected) => {
        const verdict = judge(scenario, limits ?? GENEROUS_LIMITS);
        assert.equal(verdict.accepted, false, `accepted:\n${render(scenario)}`);
        if (verdict.accepted) return;
        const named = verdict.reasons.some((r) => r.rule === rule && (path === undefined || r.path === path));
        assert.ok(
          named,
          `expected ${rule}${path ? ` for ${path}` : ''}, got ${JSON.stringify(verdict.reasons)}`,
        );
      }),
      { numRuns: INJECTED_RUNS },
    );
  });
}

test('whitespace alone is refused as empty', () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[ \t\n]*$/), (diff) => {
      const verdict = checkPatch({
        diff,
        ...POLICY,
        limits: GENEROUS_LIMITS,
        tree: { read: () => undefined },
      });
      assert.deepEqual(verdict, {
        accepted: false,
        reasons: [{ rule: 'Empty', message: 'The diff is empty: it changes no file.' }],
      });
    }),
    { numRuns: 200 },
  );
});
