import { DomainError } from 'src/core/errors/domain-error';
import { ErrorCode } from 'src/core/errors/error-code';

export const TenantErrors = {
  notFound: () => new DomainError(ErrorCode.NotFound, 'Tenant not found.'),
  slugTaken: (slug: string) =>
    new DomainError(ErrorCode.Conflict, `A tenant with slug "${slug}" already exists.`),
  defaultTenantProtected: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'The default tenant cannot be deleted in single-tenant mode; switch to multi-tenant mode first.',
    ),
  invalidTransition: (status: string, action: string) =>
    new DomainError(ErrorCode.Conflict, `A tenant that is ${status} cannot be ${action}.`),
  registrationClosed: () =>
    new DomainError(
      ErrorCode.BadRequest,
      'Self-service registration is only available in multi-tenant mode.',
      {
        multi_tenant_mode: false,
      },
    ),
  domainNotAllowed: (domain: string) =>
    new DomainError(
      ErrorCode.Forbidden,
      `Registration is not open to the e-mail domain "${domain}".`,
    ),
  tenantLimit: (max: number) =>
    new DomainError(
      ErrorCode.Forbidden,
      `You have reached the limit of ${max} organization(s) per user.`,
    ),
  noSlugFromName: (field: string) =>
    new DomainError(
      ErrorCode.BadRequest,
      `No slug can be made from this name; give ${field} explicitly.`,
    ),
};
