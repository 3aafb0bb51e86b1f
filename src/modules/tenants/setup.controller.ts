import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ANY_ROUTE_ERRORS, ApiErrors, JSON_BODY_ERRORS } from 'src/common/api-error.response';
import { PlatformAdminRoute } from 'src/common/decorators/platform-admin.decorator';
import { Public } from 'src/common/decorators/public.decorator';
import { UuidParam } from 'src/common/uuid-param';
import { RouteLimit } from 'src/core/rate-limit/route-limit.decorator';
import { CreateTenantDto } from './dto/create-tenant.dto';
import { ListTenantsQuery } from './dto/list-tenants.query';
import { QuarantinedSlugListResponse } from './dto/quarantined-slug.response';
import { SetupStatusResponse } from './dto/setup-status.response';
import { TenantPageResponse, TenantResponse } from './dto/tenant.response';
import { UpdateTenantDto } from './dto/update-tenant.dto';
import { TenantContext } from 'src/core/context/tenant-context';
import { SetupReadLimit } from './setup-read-limit.decorator';
import { TenantAdminService, type TenantAction } from './tenant-admin.service';
import type { RegistryActor } from './tenants.repository';

/** Platform administration of tenants. Everything but the status needs a platform admin. */
@ApiTags('setup')
@Controller('setup')
export class SetupController {
  constructor(
    private readonly admin: TenantAdminService,
    private readonly context: TenantContext,
  ) {}

  @Get('status')
  @Public()
  @SetupReadLimit()
  @ApiOperation({
    summary: 'Whether the installation still needs setting up (public, no side effects)',
    operationId: 'getSetupStatus',
  })
  @ApiOkResponse({ type: SetupStatusResponse })
  @ApiErrors(...ANY_ROUTE_ERRORS)
  status(): Promise<SetupStatusResponse> {
    return this.admin.status();
  }

  @Post('tenant')
  @RouteLimit('create-tenant', 10, 3_600_000)
  @PlatformAdminRoute()
  @ApiOperation({ summary: 'Create a tenant', operationId: 'createTenant' })
  @ApiCreatedResponse({ type: TenantResponse })
  @ApiErrors(
    ...JSON_BODY_ERRORS,
    'slug_reserved',
    'slug_quarantined',
    'tenant_slug_taken',
    'slug_required',
    'tenant_database_not_ready',
  )
  create(@Body() dto: CreateTenantDto): Promise<TenantResponse> {
    return this.admin.create(dto);
  }

  @Get('tenants')
  @SetupReadLimit()
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'List tenants (offset pagination with total_count)',
    operationId: 'listTenants',
  })
  @ApiOkResponse({ type: TenantPageResponse })
  @ApiErrors('validation_failed')
  list(@Query() query: ListTenantsQuery): Promise<TenantPageResponse> {
    return this.admin.list(query);
  }

  @Get('tenant/:tenant_id')
  @SetupReadLimit()
  @PlatformAdminRoute()
  @ApiOperation({ summary: 'Get a tenant', operationId: 'getTenant' })
  @ApiOkResponse({ type: TenantResponse })
  @ApiErrors('invalid_uuid', 'tenant_not_found')
  get(@UuidParam('tenant_id') id: string): Promise<TenantResponse> {
    return this.admin.get(id);
  }

  @Put('tenant/:tenant_id')
  @PlatformAdminRoute()
  @ApiOperation({
    summary: "Update a tenant's name or settings (partial)",
    operationId: 'updateTenant',
  })
  @ApiOkResponse({ type: TenantResponse })
  @ApiErrors('invalid_uuid', ...JSON_BODY_ERRORS, 'tenant_not_found')
  update(
    @UuidParam('tenant_id') id: string,
    @Body() dto: UpdateTenantDto,
  ): Promise<TenantResponse> {
    return this.admin.update(id, dto, this.registryActor());
  }

  @Delete('tenant/:tenant_id')
  @RouteLimit('delete-tenant', 5, 3_600_000)
  @HttpCode(204)
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'Delete a tenant and everything it owns, in one transaction',
    operationId: 'deleteTenant',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors('invalid_uuid', 'tenant_not_found', 'default_tenant_protected')
  async remove(@UuidParam('tenant_id') id: string): Promise<void> {
    await this.admin.remove(id, this.registryActor());
  }

  @Post('tenant/:tenant_id/approve')
  @HttpCode(200)
  @PlatformAdminRoute()
  @ApiOperation({ summary: 'Approve a tenant waiting for approval', operationId: 'approveTenant' })
  @ApiOkResponse({ type: TenantResponse })
  @ApiErrors(
    'invalid_uuid',
    'tenant_not_found',
    'invalid_tenant_transition',
    'tenant_database_not_ready',
  )
  approve(@UuidParam('tenant_id') id: string): Promise<TenantResponse> {
    return this.act(id, 'approve');
  }

  @Post('tenant/:tenant_id/reject')
  @HttpCode(200)
  @PlatformAdminRoute()
  @ApiOperation({ summary: 'Reject a tenant waiting for approval', operationId: 'rejectTenant' })
  @ApiOkResponse({ type: TenantResponse })
  @ApiErrors('invalid_uuid', 'tenant_not_found', 'invalid_tenant_transition')
  reject(@UuidParam('tenant_id') id: string): Promise<TenantResponse> {
    return this.act(id, 'reject');
  }

  @Post('tenant/:tenant_id/suspend')
  @HttpCode(200)
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'Suspend an active tenant: its users get 403 until it is activated',
    operationId: 'suspendTenant',
  })
  @ApiOkResponse({ type: TenantResponse })
  @ApiErrors('invalid_uuid', 'tenant_not_found', 'invalid_tenant_transition')
  suspend(@UuidParam('tenant_id') id: string): Promise<TenantResponse> {
    return this.act(id, 'suspend');
  }

  @Post('tenant/:tenant_id/activate')
  @HttpCode(200)
  @PlatformAdminRoute()
  @ApiOperation({
    summary: 'Activate a suspended or rejected tenant',
    operationId: 'activateTenant',
  })
  @ApiOkResponse({ type: TenantResponse })
  @ApiErrors('invalid_uuid', 'tenant_not_found', 'invalid_tenant_transition')
  activate(@UuidParam('tenant_id') id: string): Promise<TenantResponse> {
    return this.act(id, 'activate');
  }

  @Get('quarantined-slugs')
  @SetupReadLimit()
  @PlatformAdminRoute()
  @ApiOperation({
    summary:
      'Slugs of deleted tenants that cannot be taken yet (BOARDS_DELETED_SLUG_QUARANTINE_DAYS)',
    operationId: 'listQuarantinedSlugs',
  })
  @ApiOkResponse({ type: QuarantinedSlugListResponse })
  quarantine(): Promise<QuarantinedSlugListResponse> {
    return this.admin.listQuarantine();
  }

  @Delete('quarantined-slugs/:slug')
  @HttpCode(204)
  @PlatformAdminRoute()
  @ApiOperation({
    summary:
      "Release a deleted tenant's slug before its quarantine ends (tokens that still name it could then land in a new tenant of that slug)",
    operationId: 'releaseQuarantinedSlug',
  })
  @ApiNoContentResponse({ description: 'Released' })
  @ApiErrors('slug_not_quarantined')
  async release(@Param('slug') slug: string): Promise<void> {
    await this.admin.releaseQuarantine(slug, this.registryActor());
  }

  private act(id: string, action: TenantAction): Promise<TenantResponse> {
    return this.admin.act(id, action, this.registryActor());
  }

  /** The platform admin making a registry change, for platform_audit_events. */
  private registryActor(): RegistryActor {
    const principal = this.context.principal;
    return {
      actor: principal ? `${principal.provider}:${principal.subject}` : 'unknown',
      requestId: this.context.requestId ?? null,
    };
  }
}
