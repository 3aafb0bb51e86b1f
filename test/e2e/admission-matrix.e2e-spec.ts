import { Client } from 'pg';
import { createTenant, inTenant, uniqueMarker } from 'test/factories/seed';
import { hs256Token, jwtAuthEnv, type Claims } from 'test/factories/tokens';
import { describeWithPostgres } from 'test/support/environment';
import { call, startApp, type Reply, type RunningApp } from 'test/support/http';
import { adminUrlOf, createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Admission, as an attacker with a valid token would try it (DESIGN.md §2 "Admission"): one table
 * of requests through HTTP, each stating what must come back — a tenant (200) or a refusal — in a
 * multi-tenant app, a single-tenant app and an app with a custom tenant claim, all on one database.
 *
 * Covered: every retired claim name and folding trick; claim arrays, empty and non-string values;
 * e-mail look-alikes (subdomains, other TLDs, case, IDN and punycode, unverified, `"true"`);
 * X-Tenant with and without a membership, and with a claim naming another tenant; claim
 * memberships that the identity provider withdrew; removed members; squatted domain labels;
 * pending, rejected, suspended, deleted and quarantined tenants; issuer-bound tenants reached from
 * another issuer; invitations (case, look-alikes, expired, revoked, consumed); the first admin of a
 * tenant; platform-admin entries against subjects that spell them; domains added by an admin
 * without a mailbox there. Afterwards no fresh caller has a user row anywhere the table did not
 * admit them: 0 admissions that DESIGN §2 does not allow.
 */

const CUSTOM_CLAIM = 'https://boards.test/tenant';
const BOUND_ISSUER = 'https://idp.bound.example';
const OTHER_ISSUER = 'https://idp.other.example';

type AppName = 'multi' | 'single' | 'custom';

/** 200 in a tenant (optionally with a role), the uniform non-member 403, or another refusal. */
type Outcome =
  | { readonly tenant: string; readonly role?: 'admin' | 'member' }
  | { readonly notMember: string }
  | { readonly status: number; readonly detail?: RegExp | string };

interface Case {
  readonly name: string;
  readonly app: AppName;
  /** The subject; a fresh one (`mx-<n>`) unless the case is about an existing member. */
  readonly sub?: string;
  readonly claims?: Claims;
  readonly header?: string;
  /** Another route than GET /api/auth/me. */
  readonly route?: { method: string; path: string; body?: unknown };
  readonly outcome: Outcome;
}

const inTenantOutcome = (tenant: string, role?: 'admin' | 'member'): Outcome => ({
  tenant,
  ...(role && { role }),
});
const NM = (slug: string): Outcome => ({ notMember: slug });
const NO_TENANT: Outcome = { status: 400, detail: /No tenant was given|lists several tenants/ };
const INVALID_CLAIM = (claim = 'tenant'): Outcome => ({
  status: 403,
  detail: `The token's "${claim}" claim does not name valid tenant slugs.`,
});
const STATE = (slug: string, state: string): Outcome => ({
  status: 403,
  detail: `Tenant "${slug}" is ${state}.`,
});
const notMemberDetail = (slug: string) =>
  `You are not a member of an organization "${slug}"; ask one of its admins for an invitation.`;

const RETIRED_CLAIMS = [
  'org',
  'organization',
  'org_slug',
  'org_name',
  'namespace',
  'group',
  'team',
  'workspace',
  'tenant_id',
  'tenants',
  'Tenant',
  'TENANT',
  CUSTOM_CLAIM,
];

const INVALID_TENANT_VALUES: unknown[] = [
  'ACME',
  'Acme',
  ' acme',
  'acme ',
  'ácme',
  'ａｃｍｅ',
  'acme\u200b',
  'acme.',
  '',
  'a'.repeat(51),
  '-acme',
  'acme_corp',
  null,
  7,
  true,
  { slug: 'acme' },
  ['ACME'],
  ['acme', 'Globex'],
  ['acme', 1],
  [null],
];

const verified = (email: string, extra: Claims = {}): Claims => ({
  email,
  email_verified: true,
  ...extra,
});

/** Requests into tenants, in order (later cases may rely on memberships earlier ones made). */
const CASES: Case[] = [
  // ---- the configured claim (`tenant`), exact slugs --------------------------------------------
  {
    name: 'claim "acme"',
    app: 'multi',
    claims: { tenant: 'acme' },
    outcome: inTenantOutcome('acme'),
  },
  {
    name: 'claim ["acme"]',
    app: 'multi',
    claims: { tenant: ['acme'] },
    outcome: inTenantOutcome('acme'),
  },
  {
    name: 'claim of two tenants, no header',
    app: 'multi',
    claims: { tenant: ['acme', 'globex'] },
    outcome: NO_TENANT,
  },
  {
    name: 'claim of two tenants, X-Tenant picks one',
    app: 'multi',
    claims: { tenant: ['acme', 'globex'] },
    header: 'globex',
    outcome: inTenantOutcome('globex'),
  },
  {
    name: 'claim of two tenants, X-Tenant names a third',
    app: 'multi',
    claims: { tenant: ['acme', 'globex'] },
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'claim of an unknown tenant',
    app: 'multi',
    claims: { tenant: 'nowhere' },
    outcome: NM('nowhere'),
  },
  { name: 'claim []: no tenant', app: 'multi', claims: { tenant: [] }, outcome: NO_TENANT },
  {
    name: 'claim [] with X-Tenant: no membership',
    app: 'multi',
    claims: { tenant: [] },
    header: 'acme',
    outcome: NM('acme'),
  },
  ...INVALID_TENANT_VALUES.map((value): Case => ({
    name: `invalid claim value ${JSON.stringify(value)}`,
    app: 'multi',
    claims: { tenant: value },
    outcome: INVALID_CLAIM(),
  })),
  {
    name: 'invalid claim value even with a valid X-Tenant',
    app: 'multi',
    claims: { tenant: 'ACME' },
    header: 'acme',
    outcome: INVALID_CLAIM(),
  },

  // ---- retired claim names admit nobody -----------------------------------------------------------
  ...RETIRED_CLAIMS.map((claim): Case => ({
    name: `retired claim "${claim}" names no tenant`,
    app: 'multi',
    claims: { [claim]: 'acme' },
    outcome: NO_TENANT,
  })),
  ...RETIRED_CLAIMS.slice(0, 8).map((claim): Case => ({
    name: `retired claim "${claim}" with X-Tenant is no membership`,
    app: 'multi',
    claims: { [claim]: 'acme' },
    header: 'acme',
    outcome: NM('acme'),
  })),
  { name: 'retired claim, upper case', app: 'multi', claims: { org: 'ACME' }, outcome: NO_TENANT },
  { name: 'retired claim, mixed case', app: 'multi', claims: { team: 'Acme' }, outcome: NO_TENANT },
  {
    name: 'retired claim, accented',
    app: 'multi',
    claims: { workspace: 'ácme' },
    outcome: NO_TENANT,
  },
  {
    name: 'retired claim, full width',
    app: 'multi',
    claims: { group: 'ａｃｍｅ' },
    outcome: NO_TENANT,
  },

  // ---- e-mail: only a tenant's own verified domain, exactly --------------------------------------
  {
    name: 'verified e-mail at acme.example joins acme as member',
    app: 'multi',
    claims: verified('x@acme.example'),
    header: 'acme',
    outcome: inTenantOutcome('acme', 'member'),
  },
  {
    name: 'same, upper-case ASCII domain',
    app: 'multi',
    claims: verified('X@ACME.EXAMPLE'),
    header: 'acme',
    outcome: inTenantOutcome('acme', 'member'),
  },
  {
    name: 'same, mixed-case ASCII domain',
    app: 'multi',
    claims: verified('x@Acme.Example'),
    header: 'acme',
    outcome: inTenantOutcome('acme', 'member'),
  },
  {
    name: 'email_verified false',
    app: 'multi',
    claims: { email: 'x@acme.example', email_verified: false },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'email_verified "true" (a string)',
    app: 'multi',
    claims: { email: 'x@acme.example', email_verified: 'true' },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'email_verified 1',
    app: 'multi',
    claims: { email: 'x@acme.example', email_verified: 1 },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'email_verified null',
    app: 'multi',
    claims: { email: 'x@acme.example', email_verified: null },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'email_verified missing',
    app: 'multi',
    claims: { email: 'x@acme.example' },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'a subdomain of the tenant domain',
    app: 'multi',
    claims: verified('x@sub.acme.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'the tenant domain as a prefix',
    app: 'multi',
    claims: verified('x@acme.example.attacker.test'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'first label equals the slug',
    app: 'multi',
    claims: verified('x@acme.attacker.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'first label, another TLD (.co)',
    app: 'multi',
    claims: verified('x@acme.co'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'first label, another TLD (.com)',
    app: 'multi',
    claims: verified('x@acme.com'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'first label, upper case',
    app: 'multi',
    claims: verified('x@ACME.co'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'accented look-alike domain',
    app: 'multi',
    claims: verified('x@ácme.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'punycode look-alike domain',
    app: 'multi',
    claims: verified('x@xn--cme-dla.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'full-width look-alike domain',
    app: 'multi',
    claims: verified('x@ａｃｍｅ.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'trailing dot',
    app: 'multi',
    claims: verified('x@acme.example.'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'the domain in the local part',
    app: 'multi',
    claims: verified('acme.example@evil.test'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'two @ signs',
    app: 'multi',
    claims: verified('x@evil.test@acme.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'hyphenated look-alike',
    app: 'multi',
    claims: verified('x@acme-example.test'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'a shorter domain',
    app: 'multi',
    claims: verified('x@acme.exampl'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'unrelated verified domain',
    app: 'multi',
    claims: verified('x@evil.test'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'tenant domain without X-Tenant selects nothing',
    app: 'multi',
    claims: verified('x@acme.example'),
    outcome: NO_TENANT,
  },
  {
    name: 'first-label domain without X-Tenant selects nothing',
    app: 'multi',
    claims: verified('x@acme.attacker.example'),
    outcome: NO_TENANT,
  },
  {
    name: 'squatted label "cs": no header',
    app: 'multi',
    claims: verified('x@cs.example'),
    outcome: NO_TENANT,
  },
  {
    name: 'squatted label "cs": X-Tenant cs',
    app: 'multi',
    claims: verified('x@cs.example'),
    header: 'cs',
    outcome: NM('cs'),
  },
  {
    name: 'squatted label "eu" (pending squat): X-Tenant eu',
    app: 'multi',
    claims: verified('x@eu.example'),
    header: 'eu',
    outcome: NM('eu'),
  },
  {
    name: 'squatted label "qq" (rejected squat): X-Tenant qq',
    app: 'multi',
    claims: verified('x@qq.example'),
    header: 'qq',
    outcome: NM('qq'),
  },

  // ---- X-Tenant chooses among memberships; nothing overrides a valid choice ----------------------
  {
    name: 'invited member selects their tenant',
    app: 'multi',
    sub: 'row-member',
    header: 'globex',
    outcome: inTenantOutcome('globex'),
  },
  {
    name: 'invited member with a claim naming another tenant still selects theirs',
    app: 'multi',
    sub: 'row-member',
    claims: { tenant: 'acme' },
    header: 'globex',
    outcome: inTenantOutcome('globex'),
  },
  {
    name: 'invited member, header of a tenant they are not in',
    app: 'multi',
    sub: 'row-member',
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: "squatted label cannot override the victim's choice",
    app: 'multi',
    sub: 'cs-victim',
    claims: verified('victim@cs.example'),
    header: 'globex',
    outcome: inTenantOutcome('globex'),
  },
  {
    name: 'squat victim without a header',
    app: 'multi',
    sub: 'cs-victim',
    claims: verified('victim@cs.example'),
    outcome: NO_TENANT,
  },
  {
    name: 'squat victim naming the squat',
    app: 'multi',
    sub: 'cs-victim',
    claims: verified('victim@cs.example'),
    header: 'cs',
    outcome: NM('cs'),
  },
  {
    name: 'claim member with the claim',
    app: 'multi',
    sub: 'claim-member',
    claims: { tenant: 'acme' },
    outcome: inTenantOutcome('acme'),
  },
  {
    name: 'claim member whose token no longer lists the tenant (offboarded in the IdP)',
    app: 'multi',
    sub: 'claim-member',
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'claim member whose claim now lists another tenant',
    app: 'multi',
    sub: 'claim-member',
    claims: { tenant: ['globex'] },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'claim member with an empty claim',
    app: 'multi',
    sub: 'claim-member',
    claims: { tenant: [] },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'removed member, claim still listing the tenant',
    app: 'multi',
    sub: 'removed-member',
    claims: { tenant: 'acme' },
    outcome: NM('acme'),
  },
  {
    name: 'removed member, by header',
    app: 'multi',
    sub: 'removed-member',
    header: 'acme',
    outcome: NM('acme'),
  },
  { name: 'stranger, X-Tenant acme', app: 'multi', header: 'acme', outcome: NM('acme') },
  { name: 'stranger, X-Tenant globex', app: 'multi', header: 'globex', outcome: NM('globex') },
  {
    name: 'stranger, X-Tenant of an unknown tenant',
    app: 'multi',
    header: 'nowhere',
    outcome: NM('nowhere'),
  },
  {
    name: 'stranger, X-Tenant default (none in multi-tenant mode)',
    app: 'multi',
    header: 'default',
    outcome: NM('default'),
  },

  // ---- pending, rejected, suspended, deleted ---------------------------------------------------
  { name: 'stranger, X-Tenant of a pending tenant', app: 'multi', header: 'eu', outcome: NM('eu') },
  {
    name: 'stranger, X-Tenant of a rejected tenant',
    app: 'multi',
    header: 'qq',
    outcome: NM('qq'),
  },
  {
    name: 'stranger, X-Tenant of a suspended tenant',
    app: 'multi',
    header: 'hooli',
    outcome: NM('hooli'),
  },
  {
    name: 'stranger, X-Tenant of a deleted (quarantined) tenant',
    app: 'multi',
    header: 'ghost',
    outcome: NM('ghost'),
  },
  {
    name: 'claim of a pending tenant: its state, nothing created',
    app: 'multi',
    claims: { tenant: 'eu' },
    outcome: STATE('eu', 'pending approval'),
  },
  {
    name: 'claim of a rejected tenant',
    app: 'multi',
    claims: { tenant: 'qq' },
    outcome: STATE('qq', 'rejected'),
  },
  {
    name: 'claim of a suspended tenant',
    app: 'multi',
    claims: { tenant: 'hooli' },
    outcome: STATE('hooli', 'suspended'),
  },
  {
    name: 'claim of a deleted tenant',
    app: 'multi',
    claims: { tenant: 'ghost' },
    outcome: NM('ghost'),
  },
  {
    name: 'member of a suspended tenant learns its state',
    app: 'multi',
    sub: 'hooli-member',
    header: 'hooli',
    outcome: STATE('hooli', 'suspended'),
  },

  // ---- issuer-bound tenant ---------------------------------------------------------------------
  {
    name: 'bound tenant, its issuer',
    app: 'multi',
    claims: { tenant: 'bound', iss: BOUND_ISSUER },
    outcome: inTenantOutcome('bound'),
  },
  {
    name: 'bound tenant, another trusted issuer',
    app: 'multi',
    claims: { tenant: 'bound', iss: OTHER_ISSUER },
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant, no issuer',
    app: 'multi',
    claims: { tenant: 'bound' },
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant, issuer with a trailing slash',
    app: 'multi',
    claims: { tenant: 'bound', iss: `${BOUND_ISSUER}/` },
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant, issuer in upper case',
    app: 'multi',
    claims: { tenant: 'bound', iss: BOUND_ISSUER.toUpperCase() },
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant, issuer as a prefix',
    app: 'multi',
    claims: { tenant: 'bound', iss: `${BOUND_ISSUER}.evil.test` },
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant, issuer in an array',
    app: 'multi',
    claims: { tenant: 'bound', iss: [BOUND_ISSUER] },
    outcome: NM('bound'),
  },
  {
    name: 'bound member, its issuer',
    app: 'multi',
    sub: 'bound-member',
    claims: { tenant: 'bound', iss: BOUND_ISSUER },
    outcome: inTenantOutcome('bound'),
  },
  {
    name: 'bound member, same sub from another issuer',
    app: 'multi',
    sub: 'bound-member',
    claims: { tenant: 'bound', iss: OTHER_ISSUER },
    outcome: NM('bound'),
  },
  {
    name: 'bound invited member, its issuer',
    app: 'multi',
    sub: 'bound-invited',
    claims: { iss: BOUND_ISSUER },
    header: 'bound',
    outcome: inTenantOutcome('bound'),
  },
  {
    name: 'bound invited member, another issuer',
    app: 'multi',
    sub: 'bound-invited',
    claims: { iss: OTHER_ISSUER },
    header: 'bound',
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant domain, another issuer',
    app: 'multi',
    claims: verified('x@bound.example', { iss: OTHER_ISSUER }),
    header: 'bound',
    outcome: NM('bound'),
  },
  {
    name: 'bound tenant domain, its issuer',
    app: 'multi',
    claims: verified('x@bound.example', { iss: BOUND_ISSUER }),
    header: 'bound',
    outcome: inTenantOutcome('bound', 'member'),
  },

  // ---- invitations -----------------------------------------------------------------------------
  {
    name: 'invitation accepted by the verified address',
    app: 'multi',
    sub: 'mx-newbie',
    claims: verified('newbie@partner.example'),
    header: 'initech',
    outcome: inTenantOutcome('initech', 'member'),
  },
  {
    name: 'an accepted invitation is consumed',
    app: 'multi',
    claims: verified('newbie@partner.example'),
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'admin invitation makes an admin',
    app: 'multi',
    claims: verified('boss@partner.example'),
    header: 'initech',
    outcome: inTenantOutcome('initech', 'admin'),
  },
  {
    name: 'expired invitation',
    app: 'multi',
    claims: verified('late@partner.example'),
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'revoked invitation',
    app: 'multi',
    claims: verified('gone@partner.example'),
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'invitation, unverified address',
    app: 'multi',
    claims: { email: 'wait@partner.example', email_verified: false },
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'invitation, "true" string',
    app: 'multi',
    claims: { email: 'wait@partner.example', email_verified: 'true' },
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'invitation, Cyrillic look-alike address',
    app: 'multi',
    claims: verified('w\u0430it@partner.example'),
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'invitation, address as a prefix',
    app: 'multi',
    claims: verified('wait@partner.example.evil.test'),
    header: 'initech',
    outcome: NM('initech'),
  },
  {
    name: 'invitation, address in another tenant',
    app: 'multi',
    claims: verified('wait@partner.example'),
    header: 'globex',
    outcome: NM('globex'),
  },
  {
    name: 'invitation without X-Tenant selects nothing',
    app: 'multi',
    claims: verified('wait@partner.example'),
    outcome: NO_TENANT,
  },
  {
    name: 'invitation, ASCII case of the address',
    app: 'multi',
    claims: verified('Wait@Partner.EXAMPLE'),
    header: 'initech',
    outcome: inTenantOutcome('initech', 'member'),
  },
  {
    name: 'invitation selected despite a claim naming another tenant',
    app: 'multi',
    claims: verified('third@partner.example', { tenant: 'globex' }),
    header: 'initech',
    outcome: inTenantOutcome('initech', 'member'),
  },

  // ---- first admin ----------------------------------------------------------------------------
  {
    name: 'first claim member of a claim-only tenant is its admin',
    app: 'multi',
    claims: { tenant: 'fresh-claims' },
    outcome: inTenantOutcome('fresh-claims', 'admin'),
  },
  {
    name: 'second claim member is a member',
    app: 'multi',
    claims: { tenant: 'fresh-claims' },
    outcome: inTenantOutcome('fresh-claims', 'member'),
  },
  {
    name: 'a tenant with its admin named by e-mail: the first claim member is a member',
    app: 'multi',
    claims: { tenant: 'fresh-named' },
    outcome: inTenantOutcome('fresh-named', 'member'),
  },
  {
    name: 'the admin named at creation becomes admin on first verified login',
    app: 'multi',
    claims: verified('chief@fresh-named.example'),
    header: 'fresh-named',
    outcome: inTenantOutcome('fresh-named', 'admin'),
  },

  // ---- self-registered tenants: a claim admits only if the registrant's own claim listed it ----
  {
    name: 'a slug registered by someone the IdP does not place there captures no claim holder',
    app: 'multi',
    claims: { tenant: 'squatted-org' },
    outcome: NM('squatted-org'),
  },
  {
    name: 'same, by header',
    app: 'multi',
    claims: { tenant: 'squatted-org' },
    header: 'squatted-org',
    outcome: NM('squatted-org'),
  },
  {
    name: "a slug registered by a holder of the IdP's claim admits the other holders",
    app: 'multi',
    claims: { tenant: 'claimed-org' },
    outcome: inTenantOutcome('claimed-org', 'member'),
  },
  {
    name: 'an admin offboarded in the IdP and re-invited as member comes back as member',
    app: 'multi',
    sub: 'ob-admin',
    claims: verified('ob-admin@partner.example'),
    header: 'offboard',
    outcome: inTenantOutcome('offboard', 'member'),
  },

  // ---- platform-admin entries (BOARDS_PLATFORM_ADMIN_SUBJECTS=jwt:root,ops) ----------------------
  ...(
    [
      ['root', 200],
      ['ops', 200],
      ['jwt:root', 403],
      ['jwt:ops', 403],
      ['oidc:idp.example:root', 403],
      ['none:ops', 403],
      ['ROOT', 403],
      ['root ', 403],
    ] as const
  ).map(([sub, status]): Case => ({
    name: `platform admin entries, sub ${JSON.stringify(sub)}`,
    app: 'multi',
    sub,
    route: { method: 'GET', path: '/api/setup/tenants' },
    outcome: { status },
  })),

  // ---- domains need the admin's own verified mailbox there -------------------------------------
  ...(
    [
      ['acme-admin', verified('admin@acme.example', { tenant: 'acme' }), 'globex.example', 403],
      ['acme-admin', verified('admin@acme.example', { tenant: 'acme' }), 'sub.acme.example', 403],
      ['acme-admin', verified('admin@acme.example', { tenant: 'acme' }), 'acme.example', 409],
      ['acme-admin', { email: 'admin@acme.example', tenant: 'acme' }, 'acme.example', 403],
      ['cs-admin', verified('boss@attacker.test', { tenant: 'cs' }), 'cs.example', 403],
      ['cs-admin', verified('boss@attacker.test', { tenant: 'cs' }), 'acme.example', 403],
      ['cs-admin', verified('boss@gmail.com', { tenant: 'cs' }), 'gmail.com', 403],
      ['cs-admin', verified('boss@attacker.test', { tenant: 'cs' }), 'attacker.test', 201],
      ['claim-member', verified('cm@acme.example', { tenant: 'acme' }), 'acme.example', 403],
    ] as const
  ).map(([sub, claims, domain, status]): Case => ({
    name: `${sub} adds domain ${domain}`,
    app: 'multi',
    sub,
    claims,
    route: { method: 'POST', path: '/api/tenant/domains', body: { domain } },
    outcome: { status },
  })),
  {
    name: 'a domain refused to a tenant admits nobody there',
    app: 'multi',
    claims: verified('x@globex.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: "the squatter's own domain admits its people only",
    app: 'multi',
    claims: verified('x@attacker.test'),
    header: 'cs',
    outcome: inTenantOutcome('cs', 'member'),
  },
  {
    name: "the squatter's domain admits nobody elsewhere",
    app: 'multi',
    claims: verified('y@attacker.test'),
    header: 'acme',
    outcome: NM('acme'),
  },

  // ---- single-tenant mode ----------------------------------------------------------------------
  {
    name: 'single: no claim, no header: the default tenant',
    app: 'single',
    outcome: inTenantOutcome('default'),
  },
  {
    name: 'single: X-Tenant default',
    app: 'single',
    header: 'default',
    outcome: inTenantOutcome('default'),
  },
  {
    name: 'single: claim []: the default tenant',
    app: 'single',
    claims: { tenant: [] },
    outcome: inTenantOutcome('default'),
  },
  {
    name: 'single: claim of another tenant',
    app: 'single',
    claims: { tenant: 'acme' },
    outcome: inTenantOutcome('acme'),
  },
  {
    name: 'single: claim of two tenants, no header',
    app: 'single',
    claims: { tenant: ['acme', 'globex'] },
    outcome: NO_TENANT,
  },
  { name: 'single: stranger, X-Tenant acme', app: 'single', header: 'acme', outcome: NM('acme') },
  {
    name: 'single: retired claim "org" lands in default',
    app: 'single',
    claims: { org: 'acme' },
    outcome: inTenantOutcome('default'),
  },
  {
    name: 'single: retired claim "team" lands in default',
    app: 'single',
    claims: { team: 'globex' },
    outcome: inTenantOutcome('default'),
  },
  {
    name: 'single: invalid claim value',
    app: 'single',
    claims: { tenant: 'ACME' },
    outcome: INVALID_CLAIM(),
  },
  {
    name: 'single: tenant domain without header: default',
    app: 'single',
    claims: verified('x@acme.example'),
    outcome: inTenantOutcome('default'),
  },
  {
    name: 'single: tenant domain with X-Tenant',
    app: 'single',
    claims: verified('x@acme.example'),
    header: 'acme',
    outcome: inTenantOutcome('acme', 'member'),
  },
  {
    name: 'single: first-label domain with X-Tenant',
    app: 'single',
    claims: verified('x@acme.attacker.example'),
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'single: X-Tenant of a deleted tenant',
    app: 'single',
    header: 'ghost',
    outcome: NM('ghost'),
  },
  {
    name: 'single: X-Tenant of an unknown tenant',
    app: 'single',
    header: 'nowhere',
    outcome: NM('nowhere'),
  },
  {
    name: 'single: claim of a suspended tenant',
    app: 'single',
    claims: { tenant: 'hooli' },
    outcome: STATE('hooli', 'suspended'),
  },
  {
    name: 'single: stranger, X-Tenant of a suspended tenant',
    app: 'single',
    header: 'hooli',
    outcome: NM('hooli'),
  },
  {
    name: 'single: bound tenant, its issuer',
    app: 'single',
    claims: { tenant: 'bound', iss: BOUND_ISSUER },
    outcome: inTenantOutcome('bound'),
  },
  {
    name: 'single: bound tenant, another issuer',
    app: 'single',
    claims: { tenant: 'bound', iss: OTHER_ISSUER },
    outcome: NM('bound'),
  },

  // ---- a custom claim name replaces `tenant` ---------------------------------------------------
  {
    name: 'custom claim names the tenant',
    app: 'custom',
    claims: { [CUSTOM_CLAIM]: 'acme' },
    outcome: inTenantOutcome('acme'),
  },
  {
    name: 'custom: "tenant" names nothing',
    app: 'custom',
    claims: { tenant: 'acme' },
    outcome: NO_TENANT,
  },
  {
    name: 'custom: "tenant" with X-Tenant is no membership',
    app: 'custom',
    claims: { tenant: 'acme' },
    header: 'acme',
    outcome: NM('acme'),
  },
  {
    name: 'custom: invalid value',
    app: 'custom',
    claims: { [CUSTOM_CLAIM]: 'ACME' },
    outcome: INVALID_CLAIM(CUSTOM_CLAIM),
  },
  {
    name: 'custom: custom claim wins over "tenant"',
    app: 'custom',
    claims: { [CUSTOM_CLAIM]: 'globex', tenant: 'acme' },
    outcome: inTenantOutcome('globex'),
  },
  {
    name: 'custom: array, X-Tenant picks one',
    app: 'custom',
    claims: { [CUSTOM_CLAIM]: ['acme', 'globex'] },
    header: 'globex',
    outcome: inTenantOutcome('globex'),
  },
];

interface MeBody {
  tenant?: { slug: string };
  user?: { tenant_role: string };
  [field: string]: unknown;
}

describeWithPostgres('admission matrix (DESIGN.md §2): who may enter which tenant', () => {
  let db: TestDatabase;
  let superuser: Client;
  const apps = {} as Record<AppName, RunningApp>;
  const tenantIds: Record<string, string> = {};

  async function sql(text: string, params: unknown[] = []): Promise<unknown[]> {
    return (await superuser.query(text, params)).rows as unknown[];
  }

  /** An invitation inserted as the owner, in the tenant's transaction. */
  async function invite(slug: string, email: string, role = 'member', expiresIn = '7 days') {
    await inTenant(db.owner, tenantIds[slug], (runner) =>
      runner.query(
        `INSERT INTO tenant_invitations (email, role, expires_at) VALUES ($1, $2, now() + $3::interval)`,
        [email, role, expiresIn],
      ),
    );
  }

  /** A request as `sub` with `claims` (and X-Tenant `header`): GET /api/auth/me unless `route`. */
  function callAs(
    app: AppName,
    sub: string,
    claims: Claims,
    header?: string,
    route?: Case['route'],
  ) {
    return call<MeBody>(apps[app], route?.method ?? 'GET', route?.path ?? '/api/auth/me', {
      token: hs256Token({ sub, ...claims }),
      tenant: header,
      body: route?.body,
    });
  }

  async function expectAdmitted(reply: Reply<MeBody>, slug: string) {
    expect({ status: reply.status, tenant: reply.body?.tenant?.slug }).toEqual({
      status: 200,
      tenant: slug,
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    superuser = new Client({ connectionString: adminUrlOf(db) });
    await superuser.connect();
    const slugs = [
      'acme',
      'globex',
      'initech',
      'cs',
      'eu',
      'qq',
      'hooli',
      'bound',
      'ghost',
      'fresh-claims',
      'fresh-named',
      'offboard',
    ];
    for (const slug of slugs) tenantIds[slug] = (await createTenant(db.owner, slug)).id;
    await sql(`UPDATE tenants SET allowed_issuers = $1 WHERE slug = 'bound'`, [[BOUND_ISSUER]]);
    for (const [domain, slug] of [
      ['acme.example', 'acme'],
      ['bound.example', 'bound'],
    ]) {
      await sql('INSERT INTO tenant_domains (domain, tenant) VALUES ($1, $2)', [
        domain,
        tenantIds[slug],
      ]);
    }
    // The tenant whose admin was named at creation: an admin invitation.
    await invite('fresh-named', 'chief@fresh-named.example', 'admin');

    const env = jwtAuthEnv({
      BOARDS_PLATFORM_ADMIN_SUBJECTS: 'jwt:root,ops',
      BOARDS_RATE_LIMIT_ENABLED: 'false',
    });
    apps.multi = await startApp(db.config({ ...env, BOARDS_MULTI_TENANT_MODE: 'true' }));
    apps.single = await startApp(db.config(env));
    apps.custom = await startApp(
      db.config({
        ...env,
        BOARDS_MULTI_TENANT_MODE: 'true',
        BOARDS_JWT_TENANT_CLAIM: CUSTOM_CLAIM,
      }),
    );

    // Existing memberships the table relies on, each made through the API.
    await expectAdmitted(
      await callAs('multi', 'acme-admin', verified('admin@acme.example', { tenant: 'acme' })),
      'acme',
    );
    await expectAdmitted(
      await callAs('multi', 'cs-admin', verified('boss@attacker.test', { tenant: 'cs' })),
      'cs',
    );
    await expectAdmitted(await callAs('multi', 'claim-member', { tenant: 'acme' }), 'acme');
    await expectAdmitted(await callAs('multi', 'removed-member', { tenant: 'acme' }), 'acme');
    await expectAdmitted(
      await callAs('multi', 'bound-member', { tenant: 'bound', iss: BOUND_ISSUER }),
      'bound',
    );
    await invite('globex', 'rowie@partner.example');
    await invite('globex', 'victim@cs.example');
    await invite('bound', 'bi@partner.example');
    await expectAdmitted(
      await callAs('multi', 'row-member', verified('rowie@partner.example'), 'globex'),
      'globex',
    );
    await expectAdmitted(
      await callAs('multi', 'cs-victim', verified('victim@cs.example'), 'globex'),
      'globex',
    );
    await expectAdmitted(
      await callAs(
        'multi',
        'bound-invited',
        verified('bi@partner.example', { iss: BOUND_ISSUER }),
        'bound',
      ),
      'bound',
    );
    await invite('hooli', 'hm@partner.example');
    await expectAdmitted(
      await callAs('multi', 'hooli-member', verified('hm@partner.example'), 'hooli'),
      'hooli',
    );
    // Two registrations: one by a squatter whose token names no tenant, one by an owner whose
    // identity provider's claim lists the slug.
    for (const [sub, slug, claims] of [
      ['squatter', 'squatted-org', {}],
      ['claim-owner', 'claimed-org', { tenant: 'claimed-org' }],
    ] as const) {
      const registered = await call(apps.multi, 'POST', '/api/tenants/register', {
        token: hs256Token({ sub, email: `${sub}@partner.example`, ...claims }),
        body: {
          organization_name: slug,
          organization_slug: slug,
          admin_email: `${sub}@partner.example`,
        },
      });
      expect(registered.status).toBe(201);
    }
    // An admin offboarded in the IdP (no claim any more) whom another admin re-invites as member.
    await expectAdmitted(await callAs('multi', 'ob-admin', { tenant: 'offboard' }), 'offboard');
    await expectAdmitted(await callAs('multi', 'ob-second', { tenant: 'offboard' }), 'offboard');
    const obSecondId = (
      (await sql(`SELECT id FROM users WHERE auth_subject = 'ob-second'`)) as { id: string }[]
    )[0].id;
    const asObAdmin = hs256Token({ sub: 'ob-admin', tenant: 'offboard' });
    const asObSecond = hs256Token({ sub: 'ob-second', tenant: 'offboard' });
    expect(
      (
        await call(apps.multi, 'PATCH', `/api/tenant/members/${obSecondId}`, {
          token: asObAdmin,
          body: { role: 'admin' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call(apps.multi, 'POST', '/api/tenant/invitations', {
          token: asObSecond,
          body: { email: 'ob-admin@partner.example', role: 'member' },
        })
      ).status,
    ).toBe(201);
    // The acme admin removes removed-member.
    const [{ id: removedId }] = (await sql(
      `SELECT id FROM users WHERE auth_subject = 'removed-member'`,
    )) as { id: string }[];
    const removal = await call(apps.multi, 'DELETE', `/api/tenant/members/${removedId}`, {
      token: hs256Token({ sub: 'acme-admin', tenant: 'acme' }),
    });
    expect(removal.status).toBe(204);

    // Invitations of initech, and the tenant states.
    await invite('initech', 'newbie@partner.example');
    await invite('initech', 'boss@partner.example', 'admin');
    await invite('initech', 'late@partner.example', 'member', '-1 minute');
    await invite('initech', 'gone@partner.example');
    await inTenant(db.owner, tenantIds.initech, (runner) =>
      runner.query(
        `UPDATE tenant_invitations SET revoked_at = now() WHERE email = 'gone@partner.example'`,
      ),
    );
    await invite('initech', 'wait@partner.example');
    await invite('initech', 'third@partner.example');
    for (const [slug, status] of [
      ['eu', 'pending_approval'],
      ['qq', 'rejected'],
      ['hooli', 'suspended'],
    ]) {
      await sql('UPDATE tenants SET status = $2 WHERE slug = $1', [slug, status]);
    }
    await sql(`DELETE FROM tenants WHERE slug = 'ghost'`);
    // Every replica sees the registry as it now is (the watchers read the change log twice a second).
    await new Promise((settle) => setTimeout(settle, 1_200));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(Object.values(apps).map((app) => app.close()));
    await superuser?.end();
    await db?.drop();
  });

  const indexed = CASES.map(
    (testCase, index) => [index, testCase.app, testCase.name, testCase] as const,
  );

  it('has at least 150 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(150);
  });

  it.each(indexed)('#%i [%s] %s', async (index, app, _name, testCase) => {
    const sub = testCase.sub ?? `mx-${index}`;
    const reply = await callAs(app, sub, testCase.claims ?? {}, testCase.header, testCase.route);
    const outcome = testCase.outcome;
    if ('tenant' in outcome) {
      expect({ status: reply.status, tenant: reply.body?.tenant?.slug }).toEqual({
        status: 200,
        tenant: outcome.tenant,
      });
      if (outcome.role) expect(reply.body.user?.tenant_role).toBe(outcome.role);
      return;
    }
    if ('notMember' in outcome) {
      // One body whatever the tenant's state, or whether it exists at all.
      expect({ status: reply.status, body: reply.body }).toEqual({
        status: 403,
        body: {
          error: 'Forbidden',
          code: 'not_a_member',
          detail: notMemberDetail(outcome.notMember),
          status: 403,
          request_id: reply.headers.get('x-request-id'),
        },
      });
      return;
    }
    expect(reply.status).toBe(outcome.status);
    if (outcome.detail !== undefined) {
      expect(reply.body).toMatchObject({
        status: outcome.status,
        detail:
          typeof outcome.detail === 'string'
            ? outcome.detail
            : expect.stringMatching(outcome.detail),
      });
    }
  });

  it('0 admissions the table did not allow: a fresh caller has a user row only where it was admitted', async () => {
    const rows = (await sql(
      `SELECT u.auth_subject AS sub, t.slug FROM users u JOIN tenants t ON t.id = u.tenant_id
        WHERE u.auth_subject LIKE 'mx-%'`,
    )) as { sub: string; slug: string }[];
    const landed = new Map<string, string[]>();
    for (const row of rows) landed.set(row.sub, [...(landed.get(row.sub) ?? []), row.slug]);
    const unexpected: string[] = [];
    CASES.forEach((testCase, index) => {
      const sub = testCase.sub ?? `mx-${index}`;
      if (!sub.startsWith('mx-')) return;
      const expected = 'tenant' in testCase.outcome ? [testCase.outcome.tenant] : [];
      const actual = (landed.get(sub) ?? []).sort();
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        unexpected.push(`#${index} ${testCase.name}: rows in [${actual}], expected [${expected}]`);
      }
    });
    expect(unexpected).toEqual([]);
    // And nothing at all landed in the tenants nobody may enter.
    const [{ n }] = (await sql(
      `SELECT count(*)::int AS n FROM users u JOIN tenants t ON t.id = u.tenant_id
        WHERE t.slug IN ('eu', 'qq')`,
    )) as { n: number }[];
    expect(n).toBe(0);
  });

  it('the removed member keeps a row marked removed, and no request created a tenant', async () => {
    expect(
      await sql(
        `SELECT membership_source, tenant_role FROM users WHERE auth_subject = 'removed-member'`,
      ),
    ).toEqual([{ membership_source: 'removed', tenant_role: 'member' }]);
    const found = (await sql('SELECT slug FROM tenants ORDER BY slug')) as { slug: string }[];
    expect(found.map((row) => row.slug)).toEqual(
      [
        'acme',
        'bound',
        'cs',
        'default',
        'eu',
        'fresh-claims',
        'fresh-named',
        'globex',
        'hooli',
        'initech',
        'offboard',
        'qq',
        'claimed-org',
        'squatted-org',
      ].sort(),
    );
  });

  it('a quarantined slug cannot be registered or created again', async () => {
    const create = await call(apps.multi, 'POST', '/api/setup/tenant', {
      token: hs256Token({ sub: 'root' }),
      body: { name: 'Ghost again', slug: 'ghost' },
    });
    expect(create.status).toBe(409);
    expect(create.body).toMatchObject({
      detail: expect.stringContaining('belonged to a deleted organization'),
    });
    const register = await call(apps.multi, 'POST', '/api/tenants/register', {
      token: hs256Token({ sub: uniqueMarker('squatter'), email: 'a@b.test' }),
      body: { organization_name: 'Ghost', organization_slug: 'ghost', admin_email: 'a@b.test' },
    });
    // Registration says only that the slug is not available: not that a tenant was deleted.
    expect(register.status).toBe(409);
    expect(register.body).toMatchObject({
      detail: 'The slug "ghost" is not available; choose another one.',
    });
  });
});
