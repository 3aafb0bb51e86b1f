import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

export const TenantErrors = {
  notFound: () => new DomainError(ErrorCode.NotFound, 'tenant_not_found', 'Tenant not found.'),
  databaseNotReady: () =>
    new DomainError(
      ErrorCode.ServiceUnavailable,
      'tenant_database_not_ready',
      "The organization's database could not be made ready now; it stays provisioning and is completed later.",
      {},
      { 'Retry-After': '30' },
    ),
  slugTaken: (slug: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'tenant_slug_taken',
      `A tenant with slug "${slug}" already exists.`,
    ),
  defaultTenantProtected: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'default_tenant_protected',
      'The default tenant cannot be deleted in single-tenant mode; switch to multi-tenant mode first.',
    ),
  invalidTransition: (status: string, action: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'invalid_tenant_transition',
      `A tenant that is ${status} cannot be ${action}.`,
    ),
  registrationClosed: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'registration_closed',
      'Self-service registration is only available in multi-tenant mode.',
      {
        multi_tenant_mode: false,
      },
    ),
  domainNotAllowed: (domain: string) =>
    new DomainError(
      ErrorCode.Forbidden,
      'email_domain_not_allowed',
      `Registration is not open to the e-mail domain "${domain}".`,
    ),
  tenantLimit: (max: number) =>
    new DomainError(
      ErrorCode.Forbidden,
      'tenant_limit_reached',
      `You have reached the limit of ${max} organization(s) per user.`,
    ),
  slugReserved: (slug: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'slug_reserved',
      `The slug "${slug}" is reserved; choose another one.`,
    ),
  slugQuarantined: (slug: string, until: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'slug_quarantined',
      `The slug "${slug}" belonged to a deleted organization and cannot be taken before ${until}.`,
    ),
  slugUnavailable: (slug: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'slug_unavailable',
      `The slug "${slug}" is not available; choose another one.`,
    ),
  emailNotVerified: () =>
    new DomainError(
      ErrorCode.Forbidden,
      'email_not_verified',
      'Registration with allowed e-mail domains needs a token whose email_verified is true.',
    ),
  tenantAdminRequired: () =>
    new DomainError(
      ErrorCode.Forbidden,
      'tenant_admin_required',
      'Only admins of this organization may do this.',
    ),
  memberNotFound: () =>
    new DomainError(
      ErrorCode.NotFound,
      'tenant_member_not_found',
      'No member with this id in this organization.',
    ),
  lastAdmin: () =>
    new DomainError(
      ErrorCode.Conflict,
      'last_admin',
      'This is the last admin of the organization; make someone else admin first.',
    ),
  lastMember: () =>
    new DomainError(
      ErrorCode.Conflict,
      'last_member',
      'This is the last member of the organization; nobody could take over its boards.',
    ),
  invitationPending: (email: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'invitation_pending',
      `An invitation for ${email} is already pending; revoke it to send a new one.`,
    ),
  invitationNotFound: () =>
    new DomainError(
      ErrorCode.NotFound,
      'invitation_not_found',
      'No open invitation with this id in this organization.',
    ),
  invalidDomain: (domain: string) =>
    new DomainError(
      ErrorCode.BadRequest,
      'invalid_domain',
      `"${domain.slice(0, 100)}" is not a domain name (lowercase LDH labels, IDNs in xn-- form, at least two labels).`,
    ),
  publicMailDomain: (domain: string) =>
    new DomainError(
      ErrorCode.Forbidden,
      'public_mail_domain',
      `${domain} is a public mail provider: anyone can have an address there. Only the platform admin may add it.`,
    ),
  domainNotProven: (domain: string) =>
    new DomainError(
      ErrorCode.Forbidden,
      'domain_not_proven',
      `You may add ${domain} only while your own verified e-mail address is at ${domain}; otherwise ask the platform admin.`,
    ),
  domainHeld: (domain: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'domain_already_added',
      `${domain} is already one of this organization's domains.`,
    ),
  domainTaken: (domain: string) =>
    new DomainError(
      ErrorCode.Conflict,
      'domain_taken',
      `${domain} is held by another organization.`,
    ),
  domainNotFound: () =>
    new DomainError(
      ErrorCode.NotFound,
      'domain_not_found',
      "This domain is not one of this organization's domains.",
    ),
  quarantineNotFound: () =>
    new DomainError(ErrorCode.NotFound, 'slug_not_quarantined', 'This slug is not quarantined.'),
  noSlugFromName: (field: string) =>
    new DomainError(
      ErrorCode.BadRequest,
      'slug_required',
      `No slug can be made from this name; give ${field} explicitly.`,
    ),
};
