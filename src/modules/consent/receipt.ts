import { SignJWT } from 'jose';
import { SIGNING_ALGORITHM, type SigningKey } from '../../crypto/signing-key.ts';
import type { FieldDefinition, PurposeDefinition } from '../policies/schema.ts';

export interface ReceiptInput {
  receiptId: string;
  /** The subject as the granting app knows it (its ref): the receipt names no raw identifier. */
  principal: string;
  purpose: string;
  definition: PurposeDefinition;
  fields: Record<string, FieldDefinition>;
  channels: string[];
  topics: string[];
  recipients: string[];
  source: string;
  noticeVersion: string | null;
  expiresAt: Date | null;
  /** When the person gave the consent (for imported history, its original time). */
  at: Date;
  /** A grant brought in from another system: which import, and when the receipt was issued. */
  imported?: { importId: string; at: Date };
  issuer: string;
  /** The organisation's privacy notice (PRIVACY_NOTICE_URL). */
  policyUrl: string;
  jurisdiction: string;
}

/**
 * A consent receipt the person can keep: a compact JWS signed with Custos's
 * token key (verifiable with /.well-known/jwks.json alone). Claims follow the
 * Kantara Initiative Consent Receipt Specification v1.1, so the receipt means
 * something outside Custos; Custos-specific scope sits under `custos`.
 */
export function signConsentReceipt(key: SigningKey, r: ReceiptInput): Promise<string> {
  const piiCategory = r.definition.collect;
  const claims = {
    version: 'KI-CR-v1.1.0',
    jurisdiction: r.jurisdiction,
    consentTimestamp: Math.floor(r.at.getTime() / 1000),
    // Kantara's collectionMethod says how consent was obtained: an imported grant says it came through an import.
    collectionMethod: r.imported ? `${r.source} (imported)` : r.source,
    consentReceiptID: r.receiptId,
    language: 'en',
    piiPrincipalId: r.principal,
    piiControllers: [{ piiController: r.issuer, onBehalf: false, contact: r.issuer, address: r.issuer, email: '', phone: '' }],
    policyUrl: r.policyUrl,
    services: [
      {
        service: r.purpose,
        purposes: [
          {
            purpose: r.definition.description ?? r.purpose,
            purposeCategory: [r.purpose],
            consentType: 'EXPLICIT',
            piiCategory,
            primaryPurpose: true,
            termination: r.expiresAt ? r.expiresAt.toISOString() : 'until withdrawn',
            thirdPartyDisclosure: r.recipients.length > 0,
            ...(r.recipients.length > 0 ? { thirdPartyName: r.recipients.join(', ') } : {}),
          },
        ],
      },
    ],
    sensitive: piiCategory.some((f) => r.fields[f]?.sensitive === true),
    spiCat: piiCategory.filter((f) => r.fields[f]?.sensitive === true),
    custos: {
      channels: r.channels,
      topics: r.topics,
      recipients: r.recipients,
      noticeVersion: r.noticeVersion,
      expiresAt: r.expiresAt?.toISOString() ?? null,
      ...(r.imported ? { imported: { importId: r.imported.importId, at: r.imported.at.toISOString() } } : {}),
    },
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: 'consent-receipt+jwt' })
    .setIssuer(r.issuer)
    .setSubject(r.principal)
    .setJti(r.receiptId)
    .setIssuedAt(Math.floor((r.imported?.at ?? r.at).getTime() / 1000))
    .sign(key.privateKey);
}
