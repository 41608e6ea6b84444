/** Who is acting. Apps and officers authenticate; customers and the system do not carry tokens. */
export interface Actor {
  type: 'app' | 'officer' | 'customer' | 'system' | 'anonymous';
  /** Client id, officer id (or `oidc:<sub>`), or undefined when nobody is known. */
  id?: string;
}

/**
 * The one context that flows from the HTTP edge (or the CLI) into services.
 * Services take it instead of reaching for globals; the audit append records it.
 */
export interface RequestContext {
  actor: Actor;
  requestId: string;
  policyVersion: string;
}
