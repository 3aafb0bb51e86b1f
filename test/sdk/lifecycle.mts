/**
 * A board's whole lifecycle through a client generated from the served OpenAPI document
 * (openapi-typescript types + openapi-fetch). Not part of the repository's own compilation: the
 * openapi-sdk e2e suite copies it next to freshly generated `openapi-schema.d.ts`, type-checks it
 * with `tsc` (strict) and runs it against the server. Prints one JSON summary on stdout.
 *
 * Environment: BOARDS_SDK_BASE_URL, BOARDS_SDK_TOKEN (a board owner), BOARDS_SDK_MEMBER_ID (a
 * user of the same tenant to add as a member), BOARDS_SDK_KEY (an Idempotency-Key),
 * BOARDS_SDK_ADMIN_TOKEN (a platform admin) and BOARDS_SDK_TENANT_SLUG (the owner's tenant).
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './openapi-schema.js';

type Board = components['schemas']['BoardResponse'];
type ApiError = components['schemas']['ApiErrorResponse'];
/**
 * The 409 bodies of two routes, as the document types them: `code` is the enum of the codes each
 * route lists for 409, so a `case` naming a code the document no longer lists does not compile.
 */
type SlugConflict =
  paths['/api/setup/tenant']['post']['responses'][409]['content']['application/json'];
type MemberConflict =
  paths['/api/boards/{board_id}/members']['post']['responses'][409]['content']['application/json'];

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function must<T>(step: string, data: T | undefined, error: ApiError | undefined): T {
  if (data === undefined) throw new Error(`${step}: ${JSON.stringify(error)}`);
  return data;
}

/** What a client does about a conflict: decided by its code, never by parsing the detail. */
function resolveConflict(error: SlugConflict | MemberConflict): string {
  switch (error.code) {
    case 'tenant_slug_taken':
      return 'choose another slug';
    case 'already_a_member':
      return 'nothing to do';
    default:
      return `unexpected ${error.code}`;
  }
}

const client = createClient<paths>({
  baseUrl: env('BOARDS_SDK_BASE_URL'),
  headers: { authorization: `Bearer ${env('BOARDS_SDK_TOKEN')}` },
});
const platformAdmin = createClient<paths>({
  baseUrl: env('BOARDS_SDK_BASE_URL'),
  headers: { authorization: `Bearer ${env('BOARDS_SDK_ADMIN_TOKEN')}` },
});
const memberId = env('BOARDS_SDK_MEMBER_ID');
const key = env('BOARDS_SDK_KEY');

// Create (twice with the same Idempotency-Key: the second is a replay of the first).
const createBody = {
  title: 'SDK board',
  description: 'made by the generated client',
  settings: { grid: 3 },
};
const created = await client.POST('/api/boards', {
  body: createBody,
  params: { header: { 'Idempotency-Key': key } },
});
const board: Board = must('create', created.data, created.error);
const replay = await client.POST('/api/boards', {
  body: createBody,
  params: { header: { 'Idempotency-Key': key } },
});

// Read with its ETag, then a conditional update.
const fetched = await client.GET('/api/boards/{board_id}', {
  params: { path: { board_id: board.id } },
});
const etag = fetched.response.headers.get('etag') ?? '';
const patched = await client.PATCH('/api/boards/{board_id}', {
  params: { path: { board_id: board.id }, header: { 'If-Match': etag } },
  body: { title: 'SDK board, renamed', is_public: true },
});
const updated = must('patch', patched.data, patched.error);
const stale = await client.PATCH('/api/boards/{board_id}', {
  params: { path: { board_id: board.id }, header: { 'If-Match': etag } },
  body: { title: 'lost update' },
});

// Members and generations.
const added = await client.POST('/api/boards/{board_id}/members', {
  params: { path: { board_id: board.id } },
  body: { user_id: memberId, role: 'editor' },
});
const member = must('add member', added.data, added.error);

// Two different 409s, told apart by their code: the member added again, and a new tenant whose
// slug is taken (the owner's own tenant).
const addedTwice = await client.POST('/api/boards/{board_id}/members', {
  params: { path: { board_id: board.id } },
  body: { user_id: memberId, role: 'viewer' },
});
const slugTaken = await platformAdmin.POST('/api/setup/tenant', {
  body: { name: 'Taken slug', slug: env('BOARDS_SDK_TENANT_SLUG') },
});
const conflicts = [
  { route: 'add member', status: addedTwice.response.status, error: addedTwice.error },
  { route: 'create tenant', status: slugTaken.response.status, error: slugTaken.error },
].map(({ route, status, error }) => {
  if (status !== 409 || !error) return { route, status, error };
  const conflict = error as SlugConflict | MemberConflict;
  return { route, status, code: conflict.code, action: resolveConflict(conflict) };
});
const members = await client.GET('/api/boards/{board_id}/members', {
  params: { path: { board_id: board.id } },
});
const generated = await client.POST('/api/boards/{board_id}/generations', {
  params: { path: { board_id: board.id } },
  body: {
    generator_name: 'flux-pro',
    artifact_type: 'image',
    input_params: { prompt: 'a lighthouse' },
  },
});
const generation = must('create generation', generated.data, generated.error);

// Lists.
const boards = await client.GET('/api/boards', {
  params: { query: { q: 'SDK board', role: 'owner', sort: 'created_desc', limit: 10 } },
});
const pending = await client.GET('/api/boards/{board_id}/generations', {
  params: { path: { board_id: board.id }, query: { status: 'pending', artifact_type: 'image' } },
});

// Cancel (twice: the second is a conflict), then delete the board.
const cancelled = await client.POST('/api/generations/{generation_id}/cancel', {
  params: { path: { generation_id: generation.id } },
});
const cancelledAgain = await client.POST('/api/generations/{generation_id}/cancel', {
  params: { path: { generation_id: generation.id } },
});
const deleted = await client.DELETE('/api/boards/{board_id}', {
  params: { path: { board_id: board.id } },
});
const gone = await client.GET('/api/boards/{board_id}', {
  params: { path: { board_id: board.id } },
});

// Tenant membership: invite, list, promote and demote a member, the last-admin rule, revoke.
const invited = await client.POST('/api/tenant/invitations', {
  body: { email: 'Invitee@Partner.Example', role: 'member', expires_in_days: 3 },
});
const invitation = must('invite', invited.data, invited.error);
const invitedTwice = await client.POST('/api/tenant/invitations', {
  body: { email: 'invitee@partner.example' },
});
const invitations = await client.GET('/api/tenant/invitations', {
  params: { query: { status: 'pending', limit: 10 } },
});
const promoted = await client.PATCH('/api/tenant/members/{user_id}', {
  params: { path: { user_id: memberId } },
  body: { role: 'admin' },
});
const demoted = await client.PATCH('/api/tenant/members/{user_id}', {
  params: { path: { user_id: memberId } },
  body: { role: 'member' },
});
const tenantMembers = await client.GET('/api/tenant/members', {
  params: { query: { role: 'admin' } },
});
const ownerId = tenantMembers.data?.items[0]?.user_id ?? '';
const lastAdmin = await client.PATCH('/api/tenant/members/{user_id}', {
  params: { path: { user_id: ownerId } },
  body: { role: 'member' },
});
const revoked = await client.DELETE('/api/tenant/invitations/{invitation_id}', {
  params: { path: { invitation_id: invitation.id } },
});
const revokedTwice = await client.DELETE('/api/tenant/invitations/{invitation_id}', {
  params: { path: { invitation_id: invitation.id } },
});

// The generated types are exact: a field the API does not accept does not compile (and the
// server refuses it too).
// @ts-expect-error owner_id is not a field of CreateBoardDto
const smuggledBody: components['schemas']['CreateBoardDto'] = { title: 'x', owner_id: memberId };
const smuggled = await client.POST('/api/boards', { body: smuggledBody });
// @ts-expect-error 'hologram' is not an artifact type
const wrongType: components['schemas']['CreateGenerationDto']['artifact_type'] = 'hologram';
// @ts-expect-error 'owner' is not a tenant role
const wrongRole: components['schemas']['UpdateTenantMemberDto']['role'] = 'owner';

process.stdout.write(
  `${JSON.stringify({
    created: {
      status: created.response.status,
      location: created.response.headers.get('location'),
      board,
    },
    replay: {
      status: replay.response.status,
      replayed: replay.response.headers.get('idempotent-replayed'),
      id: replay.data?.id,
    },
    fetched: { status: fetched.response.status, etag, title: fetched.data?.title },
    patched: {
      status: patched.response.status,
      etag: patched.response.headers.get('etag'),
      board: updated,
    },
    stale: { status: stale.response.status, error: stale.error },
    member: { status: added.response.status, member },
    conflicts,
    members: members.data?.items.map((item) => item.user_id),
    generation: { status: generated.response.status, generation },
    boards: boards.data?.items.map((item) => item.id),
    pending: pending.data?.items.map((item) => item.id),
    cancelled: { status: cancelled.response.status, state: cancelled.data?.status },
    cancelledAgain: { status: cancelledAgain.response.status, error: cancelledAgain.error },
    deleted: { status: deleted.response.status },
    gone: { status: gone.response.status, error: gone.error },
    smuggled: { status: smuggled.response.status },
    wrongType,
    wrongRole,
    invitation: { status: invited.response.status, invitation },
    invitedTwice: { status: invitedTwice.response.status, error: invitedTwice.error },
    invitations: invitations.data?.items.map((item) => item.email),
    promoted: { status: promoted.response.status, role: promoted.data?.tenant_role },
    demoted: { status: demoted.response.status, role: demoted.data?.tenant_role },
    admins: tenantMembers.data?.items.map((item) => item.tenant_role),
    lastAdmin: { status: lastAdmin.response.status, error: lastAdmin.error },
    revoked: { status: revoked.response.status },
    revokedTwice: { status: revokedTwice.response.status },
  })}\n`,
);
