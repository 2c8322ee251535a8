/**
 * The validated, defaulted form of one intent file (spec action.md §5).
 * The loader (`load.ts`) is the only producer; everything downstream trusts it.
 * Durations are milliseconds; URLs are normalised without a trailing slash.
 */
export type Permission = 'read' | 'write' | 'execute';
export type MdmProviderName = 'jamf' | 'intune';

export interface SettingNames {
  /** Preference domain of the managed settings (macOS). */
  readonly domain: string;
  readonly apiKey: string;
  readonly keyId: string;
  readonly revokedKeyIds: string;
}

export type RotationWindow =
  | { readonly kind: 'once'; readonly start: Date; readonly end: Date }
  | { readonly kind: 'cron'; readonly schedule: string; readonly durationMs: number };

export interface JamfTarget {
  readonly url: string;
  readonly profileId: number;
  readonly groupId: number;
  readonly healthAttribute?: string;
}

export interface IntuneTarget {
  readonly graphUrl: string;
  readonly loginUrl: string;
  readonly groupId: string;
  readonly macos?: { readonly configurationId: string };
  /**
   * `template` (remediation script) and `detectionTemplate` (detection script) are
   * repository-relative paths, `templatePath` and `detectionTemplatePath` the absolute ones.
   */
  readonly windows?: {
    readonly remediationId: string;
    readonly template: string;
    readonly templatePath: string;
    readonly detectionTemplate: string;
    readonly detectionTemplatePath: string;
  };
}

export interface Intent {
  /** Path of the file as given (relative to the workspace when it was relative). */
  readonly path: string;
  /** sha256 hex of the file's bytes. */
  readonly sha256: string;
  readonly version: 1;
  readonly name: string;
  readonly ticket?: string;
  readonly tenant: string;
  /** Control-plane base URL: `controlPlane.url`, or https://grid.<tenant>.<apexDomain>. */
  readonly controlPlaneUrl: string;
  readonly fleet: { readonly id: string; readonly region: string };
  readonly key: {
    readonly scope: 'fleet' | 'endpoint';
    readonly endpointId?: string;
    readonly permissions: readonly Permission[];
    readonly ttlMs?: number;
  };
  readonly current?: { readonly keyId: string };
  /** Required for apply (checked by the mode, not the loader: plan may run without it). */
  readonly window?: RotationWindow;
  readonly validation: {
    readonly windowMs: number;
    /** 0..1 */
    readonly minHealthy: number;
    readonly activeWithinMs: number;
    readonly timeoutMs: number;
    readonly pollIntervalMs: number;
  };
  readonly mdm: {
    readonly provider: MdmProviderName;
    readonly jamf?: JamfTarget;
    readonly intune?: IntuneTarget;
    readonly settings: SettingNames;
  };
  /**
   * A standing policy instead of one rotation (spec §10): a cycle is due when the deployed key is
   * at least `everyMs` old or expires within `beforeMs`. At least one is set.
   */
  readonly recurrence?: { readonly everyMs?: number; readonly beforeMs?: number };
  readonly rollback: { readonly onValidationFailure: 'restore' | 'hold' };
  readonly evidence: { readonly path: string };
  /** `<evidence.path>/<fleet.id>/<name>.json`, repository-relative, forward slashes. */
  readonly evidencePath: string;
}
