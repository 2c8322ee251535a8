/**
 * One-line safety mistakes the suite must catch (run by scripts/mutate.ts, `npm run mutate`).
 * Each is a literal replacement of text that must occur exactly once in its file: a refactor
 * that moves the code makes the script fail loudly, and the mutant is then re-aimed, never
 * dropped. `tests` are the files (or directories) that must turn red; `--all` runs the whole
 * suite instead. Tests under test/unit import src/ directly; any other test runs the bundle,
 * so the script rebuilds dist/ for those mutants.
 */
export interface Mutant {
  readonly id: string;
  /** What the mistake would do in production. */
  readonly breaks: string;
  readonly file: string;
  readonly from: string;
  readonly to: string;
  readonly tests: readonly string[];
}

export const MUTANTS: readonly Mutant[] = [
  // The changes issue 13 found the suite blind to.
  {
    id: 'old-key-due-at-half-window',
    breaks: 'the old key is revoked half-way through the validation window',
    file: 'src/rotation/next-step.ts',
    from: 'const dueAt = new Date(validatedAt.getTime() + i.validationWindowMs);',
    to: 'const dueAt = new Date(validatedAt.getTime() + i.validationWindowMs / 2);',
    tests: ['test/unit/next-step.test.ts', 'test/e2e/apply-jamf.test.ts'],
  },
  {
    id: 'revalidation-ignored',
    breaks: 'the old key is revoked although the fleet regressed after validation',
    file: 'src/rotation/finish.ts',
    from: 'if (!verdict.pass) {',
    to: 'if (false) {',
    tests: ['test/unit/rotation-finish.test.ts', 'test/e2e/risky-branches.test.ts', 'test/e2e/apply-jamf.test.ts'],
  },
  {
    id: 'rollback-revokes-before-restore',
    breaks: 'rollback revokes the new key while the configuration still delivers it',
    file: 'src/rotation/validate-phase.ts',
    from: '  try {\n    await d.mdm.restoreConfig(snapshot);',
    to: '  await d.thoth.revokeKey(newKeyId);\n  try {\n    await d.mdm.restoreConfig(snapshot);',
    tests: ['test/e2e/apply-jamf.test.ts', 'test/e2e/apply-jamf-edges.test.ts', 'test/e2e/apply-intune.test.ts'],
  },
  {
    id: 'jamf-no-read-back',
    breaks: 'a Jamf PUT that did not take (or a lagging node) counts as deployed',
    file: 'src/mdm/jamf-provider.ts',
    from: '    await this.#confirm(values.keyId, values.revokedKeyIds);',
    to: '',
    tests: [
      'test/unit/jamf-provider-readback.test.ts',
      'test/e2e/apply-jamf-edges.test.ts',
      'test/e2e/apply-jamf.test.ts',
    ],
  },
  {
    id: 'hold-keeps-lease',
    breaks: 'a held rotation blocks every other run until the lease expires',
    file: 'src/rotation/validate-phase.ts',
    from: "set: { validation },\n      lease: null,\n      events: [\n        failedEvent,\n        ...driftEvents(verdict),\n        { step: 'hold'",
    to: "set: { validation },\n      events: [\n        failedEvent,\n        ...driftEvents(verdict),\n        { step: 'hold'",
    tests: ['test/e2e/apply-jamf.test.ts', 'test/e2e/apply-jamf-edges.test.ts'],
  },
  {
    id: 'only-raw-secret-masked',
    breaks: 'base64, URL- and JSON-encoded forms of a key reach the log unmasked',
    file: 'src/secrets.ts',
    from: 'for (const form of new Set(secretForms(value))) {',
    to: 'for (const form of new Set([value])) {',
    tests: ['test/unit/secrets.test.ts', 'test/e2e/security-values.test.ts'],
  },
  {
    id: 'emergency-revoke-before-replacement',
    breaks: 'emergency revoke kills the deployed key before its replacement is deployed',
    file: 'src/revocation/revoke-fleet.ts',
    from: 'req.keyIds.filter((k) => k !== deployed),\n    { known: { keys, delivered: { keyId: snapshot.keyId } } },',
    to: 'req.keyIds,\n    { known: { keys, delivered: { keyId: snapshot.keyId } }, deliveredAllowed: deployed },',
    tests: ['test/e2e/revoke.test.ts', 'test/e2e/security-revoke.test.ts'],
  },
  // More one-line safety mistakes.
  {
    id: 'key-creation-retried',
    breaks: 'a lost answer to POST api-keys mints a second key',
    file: 'src/clients/thoth.ts',
    from: '      retry: false,\n      body: JSON.stringify({\n        scope_level: p.scopeLevel,',
    to: '      body: JSON.stringify({\n        scope_level: p.scopeLevel,',
    tests: ['test/unit/thoth-create-key.test.ts'],
  },
  {
    id: 'min-healthy-strict',
    breaks: 'a fleet exactly at minHealthy fails validation (and is rolled back)',
    file: 'src/rotation/verdict.ts',
    from: 'const pass = active > 0 && healthyShare + EPSILON >= input.minHealthy;',
    to: 'const pass = active > 0 && healthyShare > input.minHealthy;',
    tests: ['test/unit/verdict-edges.test.ts', 'test/unit/verdict.test.ts'],
  },
  {
    id: 'zero-active-passes',
    breaks: 'a group with no active device passes validation (old key revoked on no evidence)',
    file: 'src/rotation/verdict.ts',
    from: 'const pass = active > 0 && healthyShare + EPSILON >= input.minHealthy;',
    to: 'const pass = healthyShare + EPSILON >= input.minHealthy;',
    tests: ['test/unit/verdict-edges.test.ts', 'test/unit/verdict.test.ts'],
  },
  {
    id: 'checked-in-at-refresh',
    breaks: 'a device seen exactly at the refresh counts as checked in after it',
    file: 'src/rotation/verdict.ts',
    from: '(contact !== undefined && contact > refreshAt) ||\n    (seen !== undefined && seen > refreshAt) ||',
    to: '(contact !== undefined && contact >= refreshAt) ||\n    (seen !== undefined && seen >= refreshAt) ||',
    tests: ['test/unit/verdict-edges.test.ts', 'test/unit/verdict.test.ts'],
  },
  {
    id: 'new-key-not-registered',
    breaks: "the new key's plaintext is never masked",
    file: 'src/clients/thoth.ts',
    from: "if (raw && typeof raw['api_key'] === 'string') registerSecret(raw['api_key']);",
    to: 'void registerSecret;',
    tests: ['test/unit/thoth-create-key.test.ts', 'test/e2e/apply-jamf.test.ts', 'test/e2e/security-values.test.ts'],
  },
  {
    id: 'guard-scope-skipped',
    breaks: "a DELETE of another fleet's key named in a forged record goes through",
    file: 'src/revocation/guard.ts',
    from: 'if (scopeProblem) problems.push(scopeProblem);',
    to: 'void scopeProblem;',
    tests: ['test/unit/revoke-guard.test.ts', 'test/e2e/security-revoke.test.ts'],
  },
  {
    id: 'guard-delivered-skipped',
    breaks: 'the key the configuration delivers can be revoked (the fleet is cut off)',
    file: 'src/revocation/guard.ts',
    from: 'if (sameKeyId(keyId, live.deliveredKeyId) && keyId !== scope.deliveredAllowed) {',
    to: 'if (false) {',
    tests: ['test/unit/revoke-guard.test.ts', 'test/e2e/security-revoke.test.ts'],
  },
  {
    id: 'sweep-ignores-delivered',
    breaks: 'the sweep of lost keys tries to revoke the delivered key',
    file: 'src/runbook/lost-keys.ts',
    from: '!delivered?.is(k.keyId) && ',
    to: '',
    tests: ['test/unit/sweep.test.ts'],
  },
  {
    id: 'sweep-spares-nothing',
    breaks: 'the sweep revokes the old key or a superseded key that devices may hold',
    file: 'src/runbook/lost-keys.ts',
    from: ' && !spared.has(k.keyId),',
    to: ',',
    tests: ['test/unit/sweep.test.ts'],
  },
  {
    id: 'allowed-hosts-skipped',
    breaks: 'credentials are sent to a host allowed-hosts does not list',
    file: 'src/http/allowed-hosts.ts',
    from: 'if (!installed || installed.allows(url)) return;',
    to: 'return;',
    tests: ['test/unit/allowed-hosts.test.ts', 'test/e2e/security-hosts.test.ts'],
  },
  {
    id: 'evidence-chain-unchecked',
    breaks: 'a hand-edited evidence record is acted on',
    file: 'src/evidence/record.ts',
    from: '  if (!chain.ok) {',
    to: '  if (false) {',
    tests: ['test/unit/record.test.ts', 'test/unit/journal.test.ts'],
  },
  {
    id: 'evidence-mac-unchecked',
    breaks: 'a record re-chained without the HMAC key is acted on',
    file: 'src/evidence/record.ts',
    from: '  if (opts.macKey) {\n    const problem = macProblem(record, opts.macKey);',
    to: '  if (false) {\n    const problem = macProblem(record, opts.macKey!);',
    tests: ['test/unit/record.test.ts', 'test/unit/journal.test.ts'],
  },
  // Not a mutant: dropping one of the three redaction layers of the evidence file (Journal.commit,
  // appendEvent, serializeRecord) changes nothing a user can see; dropping redaction itself does.
  {
    id: 'redact-disabled',
    breaks: 'a secret echoed in an error message is committed to the evidence branch and printed',
    file: 'src/secrets.ts',
    from: "if (out.includes(form)) out = out.split(form).join('***');",
    to: 'void form;',
    tests: ['test/unit/secrets.test.ts', 'test/unit/journal-commit.test.ts', 'test/unit/journal.test.ts'],
  },
  {
    id: 'stale-write-adopted',
    breaks: "another run's evidence write is taken for ours: two runs advance one rotation",
    file: 'src/evidence/journal.ts',
    from: '      if (now?.text !== text) throw e;\n',
    to: '',
    tests: ['test/unit/journal-commit.test.ts'],
  },
  {
    id: 'live-lease-ignored',
    breaks: 'a run acts on a rotation another live run holds',
    file: 'src/rotation/next-step.ts',
    from: 'if (lease && heldByOther(lease, i.run, i.now))\n    return',
    to: 'if (false)\n    return',
    tests: ['test/unit/next-step.test.ts'],
  },
  {
    id: 'revocation-targets-despite-problems',
    breaks: 'an emergency revocation with an unknown or foreign key id revokes the rest anyway',
    file: 'src/revocation/targets.ts',
    from: 'targets: problems.length ? [] : [...byIntent]',
    to: 'targets: [...byIntent]',
    tests: ['test/unit/revocation-targets.test.ts', 'test/e2e/security-revoke.test.ts'],
  },
  {
    id: 'log-neutraliser-skipped',
    breaks: 'API text in a log line can issue workflow commands (::add-mask::, ::stop-commands::)',
    file: 'src/log.ts',
    from: 'const message = (m: string): string => logText(redact(m));',
    to: 'const message = (m: string): string => redact(m);',
    tests: ['test/unit/log.test.ts', 'test/e2e/security-text.test.ts'],
  },
  // verify mode (issue 16): an audit that passes what it should flag.
  {
    id: 'verify-history-edits-pass',
    breaks: 'verify accepts a history in which an earlier version was rewritten',
    file: 'src/verify/history-check.ts',
    from: 'if (a.events[i]!.chain.hash !== b.events[i]!.chain.hash) {',
    to: 'if (a.events[i]!.step !== b.events[i]!.step) {',
    tests: ['test/unit/verify-checks.test.ts', 'test/e2e/verify.test.ts'],
  },
  {
    id: 'verify-revoked-looks-active',
    breaks: "verify takes a listed key for active whatever its active flag, or a revoked key's absence for activity",
    file: 'src/verify/live-check.ts',
    from: 'keys.some((k) => k.keyId === id && k.active);',
    to: 'keys.some((k) => k.keyId === id);',
    tests: ['test/unit/verify-checks.test.ts'],
  },
  {
    id: 'verify-fingerprint-ignored',
    breaks: 'verify does not notice that the MDM delivers another key than the record says',
    file: 'src/verify/live-check.ts',
    from: 'if (delivered.fingerprint !== want)',
    to: 'if (delivered.fingerprint === undefined)',
    tests: ['test/unit/verify-checks.test.ts', 'test/e2e/verify.test.ts'],
  },
  // Recurring rotations (issue 15).
  {
    id: 'recurrence-due-a-moment-late',
    breaks: 'a policy rotates a moment after its due time instead of at it (the table edge)',
    file: 'src/recurrence/due.ts',
    from: 'return { due: first.at <= i.now.getTime(),',
    to: 'return { due: first.at < i.now.getTime(),',
    tests: ['test/unit/recurrence-due.test.ts'],
  },
  {
    id: 'recurrence-never-stops',
    breaks: 'a policy whose last cycle failed or rolled back mints the next key anyway, with nobody looking',
    file: 'src/recurrence/cycles.ts',
    from: 'if (latest && stoppedBy(latest.record, i.intentSha256))',
    to: 'if (false)',
    tests: ['test/unit/recurrence-cycles.test.ts', 'test/e2e/recurrence.test.ts'],
  },
  {
    id: 'recurrence-future-cycle-trusted',
    breaks:
      'a far-future cycle file planted on the evidence branch sorts as the latest for ever and silences the policy',
    file: 'src/recurrence/cycles.ts',
    from: 'if (!at || at.getTime() > now.getTime() + CLOCK_SKEW_MS) {',
    to: 'if (!at) {',
    tests: ['test/unit/recurrence-cycles.test.ts', 'test/e2e/recurrence.test.ts'],
  },
  {
    id: 'recurrence-copied-record-trusted',
    breaks: "a record copied to another cycle's name steers the policy (continue, stop, or mint off schedule)",
    file: 'src/recurrence/cycles.ts',
    from: 'return t >= at.getTime() - 1_000 && t <= at.getTime() + 3_600_000;',
    to: 'return t >= 0;',
    tests: ['test/unit/recurrence-cycles.test.ts', 'test/e2e/recurrence.test.ts'],
  },
  {
    id: 'recurrence-no-cycle-lock',
    breaks: 'two runs that find a policy due at once each start a cycle: two keys minted, two deployments racing',
    file: 'src/recurrence/policy.ts',
    from: 'export async function claimAfter(latest: Journal, cycle: string, run: RunInfo): Promise<void> {',
    to: 'export async function claimAfter(latest: Journal, cycle: string, run: RunInfo): Promise<void> {\n  if (cycle) return;',
    tests: ['test/e2e/recurrence.test.ts'],
  },
  {
    id: 'poll-trusts-unknown-check-in',
    breaks:
      'a poll takes every device for checked in and asks Jamf only for fresh inventory: the MDM contact of a device the control plane cannot place is never read, so the evidence says it never checked in (and one that woke from inactivity for the push would be left out of the verdict)',
    file: 'src/rotation/observe.ts',
    from: 'if (checkedInSince(refreshAt, this.#latest[i]!, byDevice[i])) checkedIn.add(dev.mdmId);',
    to: 'if (checkedInSince(refreshAt, this.#latest[i]!, byDevice[i]) || refreshAt) checkedIn.add(dev.mdmId);',
    tests: ['test/unit/observe-differential.test.ts', 'test/e2e/real-channels.test.ts'],
  },
  {
    id: 'poll-ignores-renames',
    breaks:
      'a device renamed during validation keeps its old place in the join: the poll skips or narrows the reads of devices that share its old or new name, and a device that woke for the push can drop out of the verdict',
    file: 'src/rotation/observe.ts',
    from: 'for (let round = 0; round < RENAME_ROUNDS; round++) {',
    to: 'for (let round = 0; round < 0; round++) {',
    tests: ['test/unit/observe-differential.test.ts'],
  },
  {
    id: 'poll-counts-from-refresh',
    breaks:
      'a contact or an inventory report made between the group read and the refresh is never read: a device that woke meanwhile stays inactive in the verdict, one that reported keeps its older health',
    file: 'src/mdm/jamf-provider.ts',
    from: 'const from = since && readAt && readAt < since ? readAt : since;',
    to: 'const from = since;',
    tests: ['test/unit/observe-differential.test.ts'],
  },
  {
    id: 'poll-rereads-checked-in-inventory',
    breaks:
      'every poll downloads the whole inventory of every device that only checked in since the refresh (real Jamf: up to tens of KB a computer, each poll): the load the reportDate filter exists to spare',
    file: 'src/mdm/jamf-provider.ts',
    from: '{ contactedSince: from, reportedOnly: new Set([...checkedIn].map(Number)) }',
    to: '{ contactedSince: from }',
    tests: ['test/e2e/real-channels.test.ts'],
  },
  {
    id: 'listing-guess-skips-the-comma',
    breaks: 'the row after each guessed one is dropped: half the fleet vanishes from the endpoint listing',
    file: 'src/http/json-stream.ts',
    from: '    return end - 1;',
    to: '    return end;',
    tests: ['test/unit/json-stream.test.ts'],
  },
  {
    id: 'listing-guess-kept-past-its-row',
    breaks: 'a guessed row is handed out again in place of the next one, so an endpoint is judged by another row',
    file: 'src/http/json-stream.ts',
    from: '    this.#guessed = undefined;\n',
    to: '',
    tests: ['test/unit/json-stream.test.ts'],
  },
];
