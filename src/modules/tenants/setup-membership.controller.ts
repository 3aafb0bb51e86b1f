import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, LIST_QUERY_ERRORS } from 'src/common/api-error.response';
import { PlatformAdminRoute } from 'src/common/decorators/platform-admin.decorator';
import { UuidParam } from 'src/common/uuid-param';
import { TenantContext } from 'src/core/context/tenant-context';
import { TenantContextMissingError } from 'src/core/errors/domain-error';
import { CreateInvitationDto } from './dto/create-invitation.dto';
import {
  InvitationPageResponse,
  InvitationResponse,
  ListInvitationsQuery,
} from './dto/invitation.response';
import { ListTenantMembersQuery } from './dto/list-tenant-members.query';
import {
  AddTenantDomainDto,
  TenantDomainListResponse,
  TenantDomainResponse,
} from './dto/tenant-domain.dto';
import { TenantMemberPageResponse, TenantMemberResponse } from './dto/tenant-member.response';
import { UpdateTenantMemberDto } from './dto/update-tenant-member.dto';
import { MembershipService, type MembershipActor } from './membership.service';
import { SetupReadLimit } from './setup-read-limit.decorator';
import { TenantErrors } from './tenants.errors';
import { TenantsRepository } from './tenants.repository';

/**
 * The platform admin's view of any tenant's members, invitations and domains: the same rules as
 * the tenant admins' routes (last admin, one tenant per domain), without their limits (any domain,
 * no own-mailbox proof). For repairs: a tenant without admin, a domain to assign.
 */
@ApiTags('setup')
@Controller('setup/tenant/:tenant_id')
export class SetupMembershipController {
  constructor(
    private readonly membership: MembershipService,
    private readonly tenants: TenantsRepository,
    private readonly context: TenantContext,
  ) {}

  @Get('members')
  @SetupReadLimit()
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "List a tenant's members",
    operationId: 'listTenantMembersAsPlatformAdmin',
  })
  @ApiOkResponse({ type: TenantMemberPageResponse })
  @ApiErrors('invalid_uuid', ...LIST_QUERY_ERRORS, 'tenant_not_found')
  async listMembers(
    @UuidParam('tenant_id') tenantId: string,
    @Query() query: ListTenantMembersQuery,
  ): Promise<TenantMemberPageResponse> {
    return this.membership.listMembers(await this.actor(tenantId), query);
  }

  @Patch('members/:user_id')
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "Change a member's tenant role",
    operationId: 'updateTenantMemberAsPlatformAdmin',
  })
  @ApiOkResponse({ type: TenantMemberResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'tenant_not_found',
    'tenant_member_not_found',
    'last_admin',
  )
  async changeRole(
    @UuidParam('tenant_id') tenantId: string,
    @UuidParam('user_id') userId: string,
    @Body() dto: UpdateTenantMemberDto,
  ): Promise<TenantMemberResponse> {
    return this.membership.changeRole(await this.actor(tenantId), userId, dto.role);
  }

  @Delete('members/:user_id')
  @HttpCode(204)
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "Remove a member; their boards pass to the tenant's longest-standing admin",
    operationId: 'removeTenantMemberAsPlatformAdmin',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(
    'invalid_uuid',
    'tenant_not_found',
    'tenant_member_not_found',
    'last_admin',
    'last_member',
  )
  async remove(
    @UuidParam('tenant_id') tenantId: string,
    @UuidParam('user_id') userId: string,
  ): Promise<void> {
    await this.membership.removeMember(await this.actor(tenantId), userId);
  }

  @Post('invitations')
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'Invite someone to a tenant by e-mail (e.g. its first admin)',
    operationId: 'createTenantInvitationAsPlatformAdmin',
  })
  @ApiCreatedResponse({ type: InvitationResponse })
  @ApiErrors('invalid_uuid', ...JSON_BODY_ERRORS, 'tenant_not_found', 'invitation_pending')
  async invite(
    @UuidParam('tenant_id') tenantId: string,
    @Body() dto: CreateInvitationDto,
  ): Promise<InvitationResponse> {
    return this.membership.invite(await this.actor(tenantId), dto);
  }

  @Get('invitations')
  @SetupReadLimit()
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "List a tenant's invitations",
    operationId: 'listTenantInvitationsAsPlatformAdmin',
  })
  @ApiOkResponse({ type: InvitationPageResponse })
  @ApiErrors('invalid_uuid', ...LIST_QUERY_ERRORS, 'tenant_not_found')
  async listInvitations(
    @UuidParam('tenant_id') tenantId: string,
    @Query() query: ListInvitationsQuery,
  ): Promise<InvitationPageResponse> {
    return this.membership.listInvitations(await this.actor(tenantId), query);
  }

  @Delete('invitations/:invitation_id')
  @HttpCode(204)
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'Revoke an open invitation',
    operationId: 'revokeTenantInvitationAsPlatformAdmin',
  })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors('invalid_uuid', 'tenant_not_found', 'invitation_not_found')
  async revoke(
    @UuidParam('tenant_id') tenantId: string,
    @UuidParam('invitation_id') id: string,
  ): Promise<void> {
    await this.membership.revokeInvitation(await this.actor(tenantId), id);
  }

  @Get('domains')
  @SetupReadLimit()
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "A tenant's own e-mail domains",
    operationId: 'listTenantDomainsAsPlatformAdmin',
  })
  @ApiOkResponse({ type: TenantDomainListResponse })
  @ApiErrors('invalid_uuid', 'tenant_not_found')
  async listDomains(@UuidParam('tenant_id') tenantId: string): Promise<TenantDomainListResponse> {
    return this.membership.listDomains(await this.actor(tenantId));
  }

  @Post('domains')
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'Give a tenant an e-mail domain (any domain no other tenant holds)',
    operationId: 'addTenantDomainAsPlatformAdmin',
  })
  @ApiCreatedResponse({ type: TenantDomainResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'tenant_not_found',
    'invalid_domain',
    'domain_already_added',
    'domain_taken',
  )
  async addDomain(
    @UuidParam('tenant_id') tenantId: string,
    @Body() dto: AddTenantDomainDto,
  ): Promise<TenantDomainResponse> {
    return this.membership.addDomain(await this.actor(tenantId), dto.domain);
  }

  @Delete('domains/:domain')
  @HttpCode(204)
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "Remove one of a tenant's e-mail domains",
    operationId: 'removeTenantDomainAsPlatformAdmin',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors('invalid_uuid', 'tenant_not_found', 'domain_not_found')
  async removeDomain(
    @UuidParam('tenant_id') tenantId: string,
    @Param('domain') domain: string,
  ): Promise<void> {
    await this.membership.removeDomain(await this.actor(tenantId), domain);
  }

  private async actor(tenantId: string): Promise<MembershipActor> {
    const principal = this.context.principal;
    if (!principal) throw new TenantContextMissingError('the principal');
    const tenant = await this.tenants.findById(tenantId);
    if (!tenant) throw TenantErrors.notFound();
    return {
      tenantId,
      tenantSlug: tenant.slug,
      principal,
      user: null,
      requestId: this.context.requestId ?? null,
    };
  }
}
