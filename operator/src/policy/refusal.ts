// The names of the patch policy's refusals. Each rule is one class of change a candidate may not
// make; the rule is what callers branch on and count, the message is what a person reads.

export const REFUSAL_RULES = [
  'Empty',
  'Malformed',
  'UnsafePath',
  'OutsideAllowedPaths',
  'ProtectedPath',
  'ProtectedDependency',
  'ObjectiveFile',
  'ConventionFile',
  'Symlink',
  'ExecutableBit',
  'Submodule',
  'Binary',
  'TooManyFiles',
  'TooManyChangedLines',
  'TooLarge',
  'TestDeleted',
  'TestRemoved',
  'TestDisabled',
  'DoesNotApply',
] as const;

export type RefusalRule = (typeof REFUSAL_RULES)[number];

/** One reason a candidate is refused. */
export interface Refusal {
  rule: RefusalRule;
  /** The repository path the reason is about, when it is about one. */
  path?: string;
  /** A whole sentence for the person reading the candidate's status. */
  message: string;
}
