import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ApiErrors, JSON_BODY_ERRORS, LIST_QUERY_ERRORS } from 'src/common/api-error.response';
import { TenantBoundApi } from 'src/common/decorators/tenant-bound-api.decorator';
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

/**
 * The caller's own tenant (selected as for every tenant route): its members, invitations and
 * e-mail domains, managed by its admins; `leave` for any member.
 */
@TenantBoundApi('tenant membership')
@Controller('tenant')
export class TenantMembershipController {
  constructor(
    private readonly membership: MembershipService,
    private readonly context: TenantContext,
  ) {}

  @Get('members')
  @ApiOperation({
    summary: "List the organization's members, oldest first (tenant admins)",
    operationId: 'listTenantMembers',
  })
  @ApiOkResponse({ type: TenantMemberPageResponse })
  @ApiErrors(...LIST_QUERY_ERRORS, 'tenant_admin_required')
  listMembers(@Query() query: ListTenantMembersQuery): Promise<TenantMemberPageResponse> {
    return this.membership.listMembers(this.actor(), query);
  }

  @Patch('members/:user_id')
  @ApiOperation({
    summary: "Change a member's tenant role (tenant admins); the last admin cannot be demoted",
    operationId: 'updateTenantMember',
  })
  @ApiOkResponse({ type: TenantMemberResponse })
  @ApiErrors(
    'invalid_uuid',
    ...JSON_BODY_ERRORS,
    'tenant_admin_required',
    'tenant_member_not_found',
    'last_admin',
  )
  changeRole(
    @UuidParam('user_id') userId: string,
    @Body() dto: UpdateTenantMemberDto,
  ): Promise<TenantMemberResponse> {
    return this.membership.changeRole(this.actor(), userId, dto.role);
  }

  @Delete('members/:user_id')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Remove a member (tenant admins): their board memberships end and their boards pass to you',
    operationId: 'removeTenantMember',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors(
    'invalid_uuid',
    'tenant_admin_required',
    'tenant_member_not_found',
    'last_admin',
    'last_member',
  )
  async remove(@UuidParam('user_id') userId: string): Promise<void> {
    await this.membership.removeMember(this.actor(), userId);
  }

  @Post('leave')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Leave the organization: your boards pass to its longest-standing admin; the last admin cannot leave',
    operationId: 'leaveTenant',
  })
  @ApiNoContentResponse({ description: 'Left' })
  @ApiErrors('tenant_member_not_found', 'last_admin', 'last_member')
  async leave(): Promise<void> {
    await this.membership.leave(this.actor());
  }

  @Post('invitations')
  @ApiOperation({
    summary:
      'Invite someone by e-mail (tenant admins); accepted by a token with that verified e-mail and this X-Tenant',
    operationId: 'createTenantInvitation',
  })
  @ApiCreatedResponse({ type: InvitationResponse })
  @ApiErrors(...JSON_BODY_ERRORS, 'tenant_admin_required', 'invitation_pending')
  invite(@Body() dto: CreateInvitationDto): Promise<InvitationResponse> {
    return this.membership.invite(this.actor(), dto);
  }

  @Get('invitations')
  @ApiOperation({
    summary: 'List invitations, newest first (tenant admins)',
    operationId: 'listTenantInvitations',
  })
  @ApiOkResponse({ type: InvitationPageResponse })
  @ApiErrors(...LIST_QUERY_ERRORS, 'tenant_admin_required')
  listInvitations(@Query() query: ListInvitationsQuery): Promise<InvitationPageResponse> {
    return this.membership.listInvitations(this.actor(), query);
  }

  @Delete('invitations/:invitation_id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Revoke an open invitation (tenant admins)',
    operationId: 'revokeTenantInvitation',
  })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrors('invalid_uuid', 'tenant_admin_required', 'invitation_not_found')
  async revoke(@UuidParam('invitation_id') id: string): Promise<void> {
    await this.membership.revokeInvitation(this.actor(), id);
  }

  @Get('domains')
  @ApiOperation({
    summary: "The organization's own e-mail domains (tenant admins)",
    operationId: 'listTenantDomains',
  })
  @ApiOkResponse({ type: TenantDomainListResponse })
  @ApiErrors('tenant_admin_required')
  listDomains(): Promise<TenantDomainListResponse> {
    return this.membership.listDomains(this.actor());
  }

  @Post('domains')
  @ApiOperation({
    summary:
      "Add an e-mail domain whose verified addresses may join as members (tenant admins, only their own e-mail's domain)",
    operationId: 'addTenantDomain',
  })
  @ApiCreatedResponse({ type: TenantDomainResponse })
  @ApiErrors(
    ...JSON_BODY_ERRORS,
    'tenant_admin_required',
    'invalid_domain',
    'domain_not_proven',
    'public_mail_domain',
    'domain_already_added',
    'domain_taken',
  )
  addDomain(@Body() dto: AddTenantDomainDto): Promise<TenantDomainResponse> {
    return this.membership.addDomain(this.actor(), dto.domain);
  }

  @Delete('domains/:domain')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove an e-mail domain (members who joined through it stay)',
    operationId: 'removeTenantDomain',
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrors('tenant_admin_required', 'domain_not_found')
  async removeDomain(@Param('domain') domain: string): Promise<void> {
    await this.membership.removeDomain(this.actor(), domain);
  }

  private actor(): MembershipActor {
    const principal = this.context.principal;
    if (!principal) throw new TenantContextMissingError('the principal');
    const actor = this.context.actor();
    return {
      tenantId: actor.tenantId,
      tenantSlug: this.context.tenantSlug,
      principal,
      user: { id: actor.userId, role: actor.tenantRole },
      requestId: this.context.requestId ?? null,
    };
  }
}
