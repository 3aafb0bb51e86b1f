import { PLATFORM_ADMIN_SUBJECT, hs256Token, jwtAuthEnv, type Claims } from 'test/factories/tokens';
import { createTenant, inTenant, uniqueMarker, type SeededTenant } from 'test/factories/seed';
import { describeWithPostgres } from 'test/support/environment';
import { call, expectError, startApp, type Reply, type RunningApp } from 'test/support/http';
import { createTestDatabase, type TestDatabase } from 'test/support/test-database';

/**
 * Explicit tenant admission through HTTP (DESIGN.md §2 "Admission"): invitations (verified e-mail,
 * A–Z case only, once, with their role, not after expiry or revocation), the members of a tenant
 * (listing, roles, removal, leaving, the last admin, boards handed over), verified e-mail domains
 * (exact domain, own mailbox, no public provider, one tenant per domain), the platform admin's
 * equivalents under /api/setup/tenant/{id}/*, concurrent demotions and removals, and the audit
 * trail. One multi-tenant app; every test makes its own tenants, so tests do not depend on each
 * other. Route limits are off here.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
const DAY_MS = 86_400_000;

const NOT_ADMIN = 'Only admins of this organization may do this.';
const NOT_PLATFORM_ADMIN = 'This operation is reserved to platform admins.';
const LAST_ADMIN = 'This is the last admin of the organization; make someone else admin first.';
const NO_MEMBER = 'No member with this id in this organization.';
const NO_INVITATION = 'No open invitation with this id in this organization.';
const BAD_CURSOR = 'The cursor is not valid; use next_cursor from a previous page.';

const notAMember = (slug: string): string =>
  `You are not a member of an organization "${slug}"; ask one of its admins for an invitation.`;

type Role = 'admin' | 'member';

interface MeBody {
  user: {
    id: string;
    tenant_role: Role;
    membership_source: string;
    email: string | null;
    display_name: string | null;
  };
  tenant: { id: string; slug: string };
}
interface MemberBody {
  user_id: string;
  email: string | null;
  display_name: string | null;
  avatar_url: string | null;
  tenant_role: Role;
  membership_source: string;
  auth_provider: string;
  joined_at: string;
}
interface MemberPage {
  items: MemberBody[];
  next_cursor: string | null;
}
interface InvitationBody {
  id: string;
  email: string;
  role: Role;
  status: string;
  invited_by: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
  revoked_at: string | null;
  tenant_slug: string;
}
interface InvitationPage {
  items: InvitationBody[];
  next_cursor: string | null;
}
interface DomainBody {
  domain: string;
  added_by: string | null;
  created_at: string;
}
interface DomainList {
  items: DomainBody[];
}
interface BoardBody {
  id: string;
  owner_id: string;
  owner: { id: string; display_name: string | null; avatar_url: string | null } | null;
  my_role: string | null;
}
interface BoardMemberList {
  items: { user_id: string; role: string }[];
}
interface AuditEventBody {
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  outcome: string;
  details: Record<string, unknown>;
}
interface AuditPage {
  items: AuditEventBody[];
  next_cursor: string | null;
}

/** An identity: a fresh subject, its e-mail and its token. */
interface Person {
  readonly subject: string;
  readonly email: string;
  readonly token: string;
}
/** A person admitted to a tenant: the user id, and the slug every request names (X-Tenant). */
interface Member extends Person {
  readonly id: string;
  readonly slug: string;
}
/** A fresh tenant and its first claim user, who became its admin. */
interface Org extends SeededTenant {
  readonly admin: Member;
}

/** A fresh subject; `claims` adds to or overrides name and e-mail (tenant, email_verified…). */
function person(label: string, claims: Claims = {}): Person {
  const subject = uniqueMarker(label);
  const email = typeof claims.email === 'string' ? claims.email : `${subject}@people.test`;
  return {
    subject,
    email,
    token: hs256Token({ sub: subject, name: `Name ${subject}`, email, ...claims }),
  };
}

/** The body of a reply with `status`; fails with what the server answered otherwise. */
function expectStatus<T>(reply: Reply<T>, status: number): T {
  if (reply.status !== status) {
    throw new Error(`expected HTTP ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  return reply.body;
}

function expectNotMember(reply: Reply<unknown>, slug: string): void {
  expectError(reply, 403, 'Forbidden', 'not_a_member', notAMember(slug));
}

describeWithPostgres('tenant membership (/api/tenant/*, /api/setup/tenant/{id}/*)', () => {
  let db: TestDatabase;
  let server: RunningApp;
  const platformAdmin = hs256Token({ sub: PLATFORM_ADMIN_SUBJECT });

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startApp(
      db.config(
        jwtAuthEnv({
          BOARDS_MULTI_TENANT_MODE: 'true',
          BOARDS_ENABLE_AUDIT_LOGGING: 'true',
          BOARDS_RATE_LIMIT_ENABLED: 'false',
        }),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  // ---- helpers ------------------------------------------------------------------------------------

  /** A request as a member, in the member's tenant. */
  const as = <T = Record<string, unknown>>(
    member: Member,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Reply<T>> =>
    call<T>(server, method, path, { token: member.token, tenant: member.slug, body });

  /** GET /api/auth/me for `who` in tenant `slug` (by X-Tenant). */
  const me = (who: Person, slug: string): Promise<Reply<MeBody>> =>
    call<MeBody>(server, 'GET', '/api/auth/me', { token: who.token, tenant: slug });

  /** Admits `who` to `slug` and checks how: 200 with this role and membership source. */
  const admitted = async (
    who: Person,
    slug: string,
    expected: { role: Role; source: string },
  ): Promise<Member> => {
    const body = expectStatus(await me(who, slug), 200);
    expect({ role: body.user.tenant_role, source: body.user.membership_source }).toEqual(expected);
    expect(body.tenant.slug).toBe(slug);
    return { ...who, id: body.user.id, slug };
  };

  /** A person whose token's claim lists the tenant, admitted as a claim member. */
  const claimMember = (
    tenant: SeededTenant,
    label: string,
    claims: Claims = {},
    role: Role = 'member',
  ): Promise<Member> =>
    admitted(person(label, { tenant: tenant.slug, ...claims }), tenant.slug, {
      role,
      source: 'claim',
    });

  /** A fresh tenant whose first claim user becomes its admin. */
  const organization = async (label: string, adminClaims: Claims = {}): Promise<Org> => {
    const tenant = await createTenant(db.owner, uniqueMarker(label));
    const admin = await claimMember(tenant, `${label}-admin`, adminClaims, 'admin');
    return { ...tenant, admin };
  };

  const promote = async (admin: Member, target: Member, role: Role = 'admin'): Promise<void> => {
    const reply = await as<MemberBody>(admin, 'PATCH', `/api/tenant/members/${target.id}`, {
      role,
    });
    expect(expectStatus(reply, 200).tenant_role).toBe(role);
  };

  const invite = async (admin: Member, body: Record<string, unknown>): Promise<InvitationBody> =>
    expectStatus(await as<InvitationBody>(admin, 'POST', '/api/tenant/invitations', body), 201);

  const invitations = async (admin: Member, status: string): Promise<InvitationBody[]> =>
    expectStatus(
      await as<InvitationPage>(admin, 'GET', `/api/tenant/invitations?status=${status}&limit=100`),
      200,
    ).items;

  const createBoard = async (owner: Member): Promise<string> => {
    const reply = await as<BoardBody>(owner, 'POST', '/api/boards', {
      title: `Board ${uniqueMarker('board')}`,
    });
    return expectStatus(reply, 201).id;
  };

  const boardOwner = async (reader: Member, boardId: string): Promise<BoardBody> =>
    expectStatus(await as<BoardBody>(reader, 'GET', `/api/boards/${boardId}`), 200);

  /** Rows of one tenant read as the owner role (RLS is forced, so the tenant is set). */
  const sql = <T>(tenantId: string, text: string, params: unknown[] = []): Promise<T[]> =>
    inTenant(db.owner, tenantId, async (runner) => (await runner.query(text, params)) as T[]);

  const usersWithSubject = async (tenantId: string, subject: string): Promise<number> => {
    const [row] = await sql<{ n: number }>(
      tenantId,
      'SELECT count(*)::int AS n FROM users WHERE auth_subject = $1',
      [subject],
    );
    return row.n;
  };

  const membershipRow = async (
    tenantId: string,
    userId: string,
  ): Promise<{ tenant_role: string; membership_source: string } | undefined> => {
    const [row] = await sql<{ tenant_role: string; membership_source: string }>(
      tenantId,
      'SELECT tenant_role, membership_source FROM users WHERE id = $1',
      [userId],
    );
    return row;
  };

  const activeAdmins = async (tenantId: string): Promise<string[]> =>
    (
      await sql<{ id: string }>(
        tenantId,
        `SELECT id::text AS id FROM users
          WHERE tenant_role = 'admin' AND membership_source NOT IN ('removed', 'system')
          ORDER BY id`,
      )
    ).map((row) => row.id);

  // ---- 1. invitations -----------------------------------------------------------------------------

  describe('invitations', () => {
    it('admits the verified invitee once, as member, and marks the invitation accepted', async () => {
      const org = await organization('invite');
      const created = await as<InvitationBody>(org.admin, 'POST', '/api/tenant/invitations', {
        email: 'Ada@Partner.Example',
        role: 'member',
      });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(UUID),
        email: 'ada@partner.example',
        role: 'member',
        status: 'pending',
        invited_by: org.admin.id,
        created_at: expect.stringMatching(ISO_DATE),
        expires_at: expect.stringMatching(ISO_DATE),
        accepted_at: null,
        accepted_by: null,
        revoked_at: null,
        tenant_slug: org.slug,
      });
      // The default lifetime (BOARDS_INVITATION_TTL_DAYS) is 7 days.
      expect(Date.parse(created.body.expires_at) - Date.parse(created.body.created_at)).toBe(
        7 * DAY_MS,
      );
      const stored = await sql<{ email: string }>(
        org.id,
        'SELECT email FROM tenant_invitations WHERE id = $1',
        [created.body.id],
      );
      expect(stored).toEqual([{ email: 'ada@partner.example' }]);

      // Another invitation for the same address (whatever its case) while this one is pending.
      const again = await as(org.admin, 'POST', '/api/tenant/invitations', {
        email: 'ADA@partner.example',
      });
      expectError(
        again,
        409,
        'Conflict',
        'invitation_pending',
        'An invitation for ada@partner.example is already pending; revoke it to send a new one.',
      );

      // The invitee: a new subject with the verified address and no tenant claim, naming the
      // tenant by X-Tenant.
      const ada = person('ada', { email: 'ada@partner.example', email_verified: true });
      const member = await admitted(ada, org.slug, { role: 'member', source: 'invitation' });
      // Admitted by the row from now on.
      await admitted(ada, org.slug, { role: 'member', source: 'invitation' });

      const accepted = await invitations(org.admin, 'accepted');
      expect(accepted).toEqual([
        {
          ...created.body,
          status: 'accepted',
          accepted_by: member.id,
          accepted_at: expect.stringMatching(ISO_DATE),
        },
      ]);
      expect(await invitations(org.admin, 'pending')).toEqual([]);

      // Consumed: somebody else with the same verified address does not get in.
      const twin = person('ada-twin', { email: 'ada@partner.example', email_verified: true });
      expectNotMember(await me(twin, org.slug), org.slug);
      expect(await usersWithSubject(org.id, twin.subject)).toBe(0);
    });

    it('needs email_verified: true and the invited address (A–Z case only): 403, no user row', async () => {
      const org = await organization('unverified');
      const invitation = await invite(org.admin, { email: 'grace@partner.example' });

      const refused = [
        person('grace', { email: 'grace@partner.example', email_verified: false }),
        person('grace', { email: 'grace@partner.example', email_verified: 'true' }),
        person('grace', { email: 'grace@partner.example', email_verified: 1 }),
        person('grace', { email: 'grace@partner.example' }),
        person('grace', { email: 'grace@partner.example.org', email_verified: true }),
        person('grace', { email: 'grace+x@partner.example', email_verified: true }),
        person('grace', { email: 'bob@partner.example', email_verified: true }),
        // Full-width "ｇ": nothing but A–Z is folded.
        person('grace', { email: '\uff47race@partner.example', email_verified: true }),
      ];
      for (const stranger of refused) {
        expectNotMember(await me(stranger, org.slug), org.slug);
        expect(await usersWithSubject(org.id, stranger.subject)).toBe(0);
      }
      // Still pending: none of them consumed it…
      expect((await invitations(org.admin, 'pending')).map((i) => i.id)).toEqual([invitation.id]);

      // …and the invited address, in another A–Z case and verified, gets in.
      const grace = person('grace', { email: 'GRACE@Partner.example', email_verified: true });
      const member = await admitted(grace, org.slug, { role: 'member', source: 'invitation' });
      const [accepted] = await invitations(org.admin, 'accepted');
      expect(accepted).toMatchObject({ id: invitation.id, accepted_by: member.id });
    });

    it('an admin-role invitation makes the invitee an admin', async () => {
      const org = await organization('admin-invite');
      const invitation = await invite(org.admin, { email: 'lead@partner.example', role: 'admin' });
      expect(invitation).toMatchObject({ role: 'admin', status: 'pending' });

      const lead = person('lead', { email: 'lead@partner.example', email_verified: true });
      const member = await admitted(lead, org.slug, { role: 'admin', source: 'invitation' });
      const page = expectStatus(await as<MemberPage>(member, 'GET', '/api/tenant/members'), 200);
      expect(page.items.map((m) => [m.user_id, m.tenant_role, m.membership_source])).toEqual([
        [org.admin.id, 'admin', 'claim'],
        [member.id, 'admin', 'invitation'],
      ]);
    });

    it('an expired invitation admits nobody and lists as expired', async () => {
      const org = await organization('expired');
      const invitation = await invite(org.admin, {
        email: 'late@partner.example',
        expires_in_days: 1,
      });
      expect(Date.parse(invitation.expires_at) - Date.parse(invitation.created_at)).toBe(DAY_MS);
      await inTenant(db.owner, org.id, (runner) =>
        runner.query(
          `UPDATE tenant_invitations SET expires_at = now() - interval '1 minute' WHERE id = $1`,
          [invitation.id],
        ),
      );

      const late = person('late', { email: 'late@partner.example', email_verified: true });
      expectNotMember(await me(late, org.slug), org.slug);
      expect(await usersWithSubject(org.id, late.subject)).toBe(0);
      expect(await invitations(org.admin, 'expired')).toEqual([
        { ...invitation, status: 'expired', expires_at: expect.stringMatching(ISO_DATE) },
      ]);
      expect(await invitations(org.admin, 'pending')).toEqual([]);

      // A new invitation for the address replaces the expired one, and then admits.
      const renewed = await invite(org.admin, { email: 'late@partner.example' });
      expect(renewed.id).not.toBe(invitation.id);
      await admitted(late, org.slug, { role: 'member', source: 'invitation' });
    });

    it('a revoked invitation admits nobody; revoking it again is 404', async () => {
      const org = await organization('revoked');
      const invitation = await invite(org.admin, { email: 'gone@partner.example' });
      const revoked = await as(org.admin, 'DELETE', `/api/tenant/invitations/${invitation.id}`);
      expect(revoked.status).toBe(204);
      expect(revoked.body).toBeUndefined();

      const gone = person('gone', { email: 'gone@partner.example', email_verified: true });
      expectNotMember(await me(gone, org.slug), org.slug);
      expect(await usersWithSubject(org.id, gone.subject)).toBe(0);
      expect(await invitations(org.admin, 'revoked')).toEqual([
        { ...invitation, status: 'revoked', revoked_at: expect.stringMatching(ISO_DATE) },
      ]);

      const twice = await as(org.admin, 'DELETE', `/api/tenant/invitations/${invitation.id}`);
      expectError(twice, 404, 'Not Found', 'invitation_not_found', NO_INVITATION);
      const unknown = await as(org.admin, 'DELETE', `/api/tenant/invitations/${UNKNOWN_ID}`);
      expectError(unknown, 404, 'Not Found', 'invitation_not_found', NO_INVITATION);
      // Another tenant's open invitation is not this tenant's to revoke.
      const other = await organization('revoked-other');
      const theirs = await invite(other.admin, { email: 'theirs@partner.example' });
      const foreign = await as(org.admin, 'DELETE', `/api/tenant/invitations/${theirs.id}`);
      expectError(foreign, 404, 'Not Found', 'invitation_not_found', NO_INVITATION);
      expect((await invitations(other.admin, 'pending')).map((i) => i.id)).toEqual([theirs.id]);
    });
  });

  // ---- 2. listing -------------------------------------------------------------------------------

  it('lists members oldest first, page by page, filtered by role and source; admins only', async () => {
    const org = await organization('listing');
    const members = [org.admin];
    for (let i = 1; i <= 4; i++) members.push(await claimMember(org, `listing-${i}`));

    const ids: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    let first: MemberBody | undefined;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page: MemberPage = expectStatus(
        await as<MemberPage>(org.admin, 'GET', `/api/tenant/members?limit=2${query}`),
        200,
      );
      first ??= page.items[0];
      sizes.push(page.items.length);
      ids.push(...page.items.map((m) => m.user_id));
      cursor = page.next_cursor;
    } while (cursor !== null && sizes.length < 10);
    expect(sizes).toEqual([2, 2, 1]);
    expect(ids).toEqual(members.map((m) => m.id));
    expect(first).toEqual({
      user_id: org.admin.id,
      email: org.admin.email,
      display_name: `Name ${org.admin.subject}`,
      avatar_url: null,
      tenant_role: 'admin',
      membership_source: 'claim',
      auth_provider: 'jwt',
      joined_at: expect.stringMatching(ISO_DATE),
    });

    const admins = expectStatus(
      await as<MemberPage>(org.admin, 'GET', '/api/tenant/members?role=admin'),
      200,
    );
    expect(admins).toEqual({
      items: [expect.objectContaining({ user_id: org.admin.id })],
      next_cursor: null,
    });
    const regular = expectStatus(
      await as<MemberPage>(org.admin, 'GET', '/api/tenant/members?role=member'),
      200,
    );
    expect(regular.items.map((m) => m.user_id)).toEqual(members.slice(1).map((m) => m.id));
    const claims = expectStatus(
      await as<MemberPage>(org.admin, 'GET', '/api/tenant/members?membership_source=claim'),
      200,
    );
    expect(claims.items).toHaveLength(5);
    const invited = expectStatus(
      await as<MemberPage>(org.admin, 'GET', '/api/tenant/members?membership_source=invitation'),
      200,
    );
    expect(invited).toEqual({ items: [], next_cursor: null });

    const badCursor = await as(org.admin, 'GET', '/api/tenant/members?cursor=not-a-cursor');
    expectError(badCursor, 400, 'Bad Request', 'invalid_cursor', BAD_CURSOR);
    const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    expectError(
      await as(org.admin, 'GET', `/api/tenant/members?cursor=${forged}`),
      400,
      'Bad Request',
      'invalid_cursor',
      BAD_CURSOR,
    );

    // A member who is not an admin gets 403 on every admin route.
    const member = members[1];
    const adminRoutes: [string, string, unknown?][] = [
      ['GET', '/api/tenant/members'],
      ['PATCH', `/api/tenant/members/${members[2].id}`, { role: 'admin' }],
      ['DELETE', `/api/tenant/members/${members[2].id}`],
      ['POST', '/api/tenant/invitations', { email: 'someone@partner.example' }],
      ['GET', '/api/tenant/invitations'],
      ['DELETE', `/api/tenant/invitations/${UNKNOWN_ID}`],
      ['GET', '/api/tenant/domains'],
      ['POST', '/api/tenant/domains', { domain: 'people.test' }],
      ['DELETE', '/api/tenant/domains/people.test'],
      ['GET', '/api/audit-events'],
    ];
    for (const [method, path, body] of adminRoutes) {
      const reply = await as(member, method, path, body);
      expect([method, path, reply.status]).toEqual([method, path, 403]);
    }
    expectError(
      await as(member, 'GET', '/api/tenant/members'),
      403,
      'Forbidden',
      'tenant_admin_required',
      NOT_ADMIN,
    );
    // Nothing changed.
    expect(await membershipRow(org.id, members[2].id)).toEqual({
      tenant_role: 'member',
      membership_source: 'claim',
    });
    expect(await sql(org.id, 'SELECT id FROM tenant_invitations')).toEqual([]);
  });

  // ---- 3. roles ---------------------------------------------------------------------------------

  it('promotes and demotes members at once; the last admin cannot be demoted; unknown ids are 404', async () => {
    const org = await organization('roles');
    const member = await claimMember(org, 'roles-member');
    expectError(
      await as(member, 'GET', '/api/tenant/members'),
      403,
      'Forbidden',
      'tenant_admin_required',
      NOT_ADMIN,
    );

    const promoted = await as<MemberBody>(org.admin, 'PATCH', `/api/tenant/members/${member.id}`, {
      role: 'admin',
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body).toEqual({
      user_id: member.id,
      email: member.email,
      display_name: `Name ${member.subject}`,
      avatar_url: null,
      tenant_role: 'admin',
      membership_source: 'claim',
      auth_provider: 'jwt',
      joined_at: expect.stringMatching(ISO_DATE),
    });
    // In effect on the very next request (this replica dropped the cached user).
    const listed = expectStatus(await as<MemberPage>(member, 'GET', '/api/tenant/members'), 200);
    expect(listed.items.map((m) => m.tenant_role)).toEqual(['admin', 'admin']);
    expect((await admitted(member, org.slug, { role: 'admin', source: 'claim' })).id).toBe(
      member.id,
    );

    await promote(org.admin, member, 'member');
    expectError(
      await as(member, 'GET', '/api/tenant/members'),
      403,
      'Forbidden',
      'tenant_admin_required',
      NOT_ADMIN,
    );

    // The only admin demoting themselves.
    const self = await as(org.admin, 'PATCH', `/api/tenant/members/${org.admin.id}`, {
      role: 'member',
    });
    expectError(self, 409, 'Conflict', 'last_admin', LAST_ADMIN);
    expect(await activeAdmins(org.id)).toEqual([org.admin.id]);
    // Setting the role someone already has changes nothing.
    await promote(org.admin, org.admin, 'admin');

    const other = await organization('roles-other');
    for (const id of [UNKNOWN_ID, other.admin.id]) {
      const reply = await as(org.admin, 'PATCH', `/api/tenant/members/${id}`, { role: 'member' });
      expectError(reply, 404, 'Not Found', 'tenant_member_not_found', NO_MEMBER);
    }
    expect(await membershipRow(other.id, other.admin.id)).toEqual({
      tenant_role: 'admin',
      membership_source: 'claim',
    });
    const invalid = await as(org.admin, 'PATCH', `/api/tenant/members/${member.id}`, {
      role: 'owner',
    });
    expect(invalid.status).toBe(400);
    expect(await membershipRow(org.id, member.id)).toEqual({
      tenant_role: 'member',
      membership_source: 'claim',
    });
  });

  // ---- 4. removal -------------------------------------------------------------------------------

  it('removal ends the membership, hands boards to the admin, and only an invitation readmits', async () => {
    const org = await organization('removal');
    const bystander = await claimMember(org, 'removal-bystander');
    const member = await claimMember(org, 'removal-member', {
      email: `${uniqueMarker('removed')}@people.test`,
      email_verified: true,
    });
    const ownBoard = await createBoard(member);
    const adminBoard = await createBoard(org.admin);
    const added = await as(org.admin, 'POST', `/api/boards/${adminBoard}/members`, {
      user_id: member.id,
      role: 'editor',
    });
    expectStatus(added, 201);

    const removed = await as(org.admin, 'DELETE', `/api/tenant/members/${member.id}`);
    expect(removed.status).toBe(204);

    // Out at once, though the token's claim still lists the tenant.
    expectNotMember(await call(server, 'GET', '/api/auth/me', { token: member.token }), org.slug);
    expectNotMember(await as(member, 'GET', `/api/boards/${ownBoard}`), org.slug);

    const board = await boardOwner(org.admin, ownBoard);
    expect(board).toMatchObject({
      owner_id: org.admin.id,
      owner: { id: org.admin.id },
      my_role: 'owner',
    });
    const boardMembers = expectStatus(
      await as<BoardMemberList>(org.admin, 'GET', `/api/boards/${adminBoard}/members`),
      200,
    );
    expect(boardMembers.items.map((m) => m.user_id)).not.toContain(member.id);
    expect(
      await sql(org.id, 'SELECT id FROM board_members WHERE user_id = $1', [member.id]),
    ).toEqual([]);

    // The row stays, marked removed and demoted; the member list no longer shows it.
    expect(await membershipRow(org.id, member.id)).toEqual({
      tenant_role: 'member',
      membership_source: 'removed',
    });
    const page = expectStatus(await as<MemberPage>(org.admin, 'GET', '/api/tenant/members'), 200);
    expect(page.items.map((m) => m.user_id)).toEqual([org.admin.id, bystander.id]);
    // Removing them again: they are no member any more.
    expectError(
      await as(org.admin, 'DELETE', `/api/tenant/members/${member.id}`),
      404,
      'Not Found',
      'tenant_member_not_found',
      NO_MEMBER,
    );
    expectError(
      await as(org.admin, 'DELETE', `/api/tenant/members/${UNKNOWN_ID}`),
      404,
      'Not Found',
      'tenant_member_not_found',
      NO_MEMBER,
    );

    // A new invitation for their verified address readmits the same row.
    await invite(org.admin, { email: member.email });
    const back = await admitted(member, org.slug, { role: 'member', source: 'invitation' });
    expect(back.id).toBe(member.id);
    // What they owned stays with the admin.
    expect((await boardOwner(org.admin, ownBoard)).owner_id).toBe(org.admin.id);
  });

  // ---- 5. leaving -------------------------------------------------------------------------------

  it('leaving hands boards to the longest-standing other admin; the last admin cannot leave', async () => {
    const org = await organization('leave');
    const older = await claimMember(org, 'leave-older');
    const leaver = await claimMember(org, 'leave-member');
    const second = await claimMember(org, 'leave-second');
    await promote(org.admin, second);

    const leaverBoard = await createBoard(leaver);
    const left = await as(leaver, 'POST', '/api/tenant/leave');
    expect(left.status).toBe(204);
    expectNotMember(await as(leaver, 'GET', '/api/auth/me'), org.slug);
    expect((await boardOwner(org.admin, leaverBoard)).owner_id).toBe(org.admin.id);
    expect(await membershipRow(org.id, leaver.id)).toEqual({
      tenant_role: 'member',
      membership_source: 'removed',
    });

    // An admin leaving: their boards go to the other admin, though a member joined earlier.
    const adminBoard = await createBoard(org.admin);
    expect((await as(org.admin, 'POST', '/api/tenant/leave')).status).toBe(204);
    expectNotMember(await as(org.admin, 'GET', '/api/auth/me'), org.slug);
    expect((await boardOwner(second, adminBoard)).owner_id).toBe(second.id);
    expect(await activeAdmins(org.id)).toEqual([second.id]);

    // The last admin.
    expectError(
      await as(second, 'POST', '/api/tenant/leave'),
      409,
      'Conflict',
      'last_admin',
      LAST_ADMIN,
    );
    expectError(
      await as(second, 'DELETE', `/api/tenant/members/${second.id}`),
      409,
      'Conflict',
      'last_admin',
      LAST_ADMIN,
    );
    await admitted(second, org.slug, { role: 'admin', source: 'claim' });
    await admitted(older, org.slug, { role: 'member', source: 'claim' });
  });

  // ---- 6. concurrency ---------------------------------------------------------------------------

  it('two admins demoting or removing each other at once leave exactly one admin', async () => {
    const pair = async (label: string): Promise<[Org, Member]> => {
      const org = await organization(label);
      const second = await claimMember(org, `${label}-b`);
      await promote(org.admin, second);
      expect(await activeAdmins(org.id)).toHaveLength(2);
      // Both admitted once more, so both requests of the race start from the same (cached) state.
      await admitted(second, org.slug, { role: 'admin', source: 'claim' });
      await admitted(org.admin, org.slug, { role: 'admin', source: 'claim' });
      return [org, second];
    };
    const check = async (org: Org, a: Member, b: Member, statuses: number[], ok: number) => {
      // One of them wins; the other is refused (403: no admin any more, or no member; 409).
      expect(statuses.filter((s) => s === ok)).toHaveLength(1);
      expect(statuses.filter((s) => s !== ok).every((s) => s === 403 || s === 409)).toBe(true);
      const admins = await activeAdmins(org.id);
      expect(admins).toHaveLength(1);
      const survivor = admins[0] === a.id ? a : b;
      expect([a.id, b.id]).toContain(admins[0]);
      const listed = expectStatus(
        await as<MemberPage>(survivor, 'GET', '/api/tenant/members?role=admin'),
        200,
      );
      expect(listed.items.map((m) => m.user_id)).toEqual([survivor.id]);
    };

    /** Sends both requests at once, each round the other one first. */
    const race = async (
      round: number,
      label: string,
      request: (actor: Member, target: Member) => Promise<Reply<unknown>>,
      ok: number,
    ): Promise<void> => {
      const [org, b] = await pair(label);
      const a = org.admin;
      const [x, y] = round % 2 === 0 ? [a, b] : [b, a];
      const replies = await Promise.all([request(x, y), request(y, x)]);
      await check(
        org,
        a,
        b,
        replies.map((r) => r.status),
        ok,
      );
    };

    for (let round = 0; round < 5; round++) {
      await race(
        round,
        'race-demote',
        (actor, target) =>
          as(actor, 'PATCH', `/api/tenant/members/${target.id}`, { role: 'member' }),
        200,
      );
    }
    for (let round = 0; round < 4; round++) {
      await race(
        round,
        'race-remove',
        (actor, target) => as(actor, 'DELETE', `/api/tenant/members/${target.id}`),
        204,
      );
    }
  });

  // ---- 7. domains -------------------------------------------------------------------------------

  it('verified e-mail domains: exact domain, own mailbox, no public provider, one tenant each', async () => {
    const tag = uniqueMarker('d');
    const acme = `acme-${tag}.test`;
    const other = `other-${tag}.test`;
    const shared = `shared-${tag}.test`;
    const org = await organization('domains', { email: `boss@${acme}`, email_verified: true });

    const added = await as<DomainBody>(org.admin, 'POST', '/api/tenant/domains', { domain: acme });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      domain: acme,
      added_by: `jwt:${org.admin.subject}`,
      created_at: expect.stringMatching(ISO_DATE),
    });
    expectError(
      await as(org.admin, 'POST', '/api/tenant/domains', { domain: acme }),
      409,
      'Conflict',
      'domain_already_added',
      `${acme} is already one of this organization's domains.`,
    );

    // Newcomers with a verified address exactly at the domain join as members.
    const colleague = person('colleague', { email: `ann@${acme}`, email_verified: true });
    const joined = await admitted(colleague, org.slug, { role: 'member', source: 'domain' });
    const outsiders = [
      person('outsider', { email: `eve@sub.${acme}`, email_verified: true }),
      person('outsider', { email: `eve@${acme}.evil.test`, email_verified: true }),
      person('outsider', { email: `eve@${acme}` }),
      person('outsider', { email: `eve@${acme}`, email_verified: false }),
      person('outsider', { email: `eve@${acme}`, email_verified: 'true' }),
    ];
    for (const outsider of outsiders) {
      expectNotMember(await me(outsider, org.slug), org.slug);
      expect(await usersWithSubject(org.id, outsider.subject)).toBe(0);
    }

    // A tenant admin may add only their own verified e-mail's domain…
    expectError(
      await as(org.admin, 'POST', '/api/tenant/domains', { domain: other }),
      403,
      'Forbidden',
      'domain_not_proven',
      `You may add ${other} only while your own verified e-mail address is at ${other}; otherwise ask the platform admin.`,
    );
    const sameAdmin = (claims: Claims): Member => ({
      ...org.admin,
      token: hs256Token({ sub: org.admin.subject, tenant: org.slug, ...claims }),
    });
    const unverified = sameAdmin({ email: `boss@${other}`, email_verified: false });
    expectError(
      await as(unverified, 'POST', '/api/tenant/domains', { domain: other }),
      403,
      'Forbidden',
      'domain_not_proven',
      `You may add ${other} only while your own verified e-mail address is at ${other}; otherwise ask the platform admin.`,
    );
    // …never a public mail provider's, even with an address there…
    const gmail = sameAdmin({ email: 'boss@gmail.com', email_verified: true });
    expectError(
      await as(gmail, 'POST', '/api/tenant/domains', { domain: 'gmail.com' }),
      403,
      'Forbidden',
      'public_mail_domain',
      'gmail.com is a public mail provider: anyone can have an address there. Only the platform admin may add it.',
    );
    // …and never one another tenant holds.
    const rival = await createTenant(db.owner, uniqueMarker('domains-rival'));
    const given = await call<DomainBody>(server, 'POST', `/api/setup/tenant/${rival.id}/domains`, {
      token: platformAdmin,
      body: { domain: shared },
    });
    expect(expectStatus(given, 201)).toMatchObject({
      domain: shared,
      added_by: `jwt:${PLATFORM_ADMIN_SUBJECT}`,
    });
    const claimant = sameAdmin({ email: `boss@${shared}`, email_verified: true });
    expectError(
      await as(claimant, 'POST', '/api/tenant/domains', { domain: shared }),
      409,
      'Conflict',
      'domain_taken',
      `${shared} is held by another organization.`,
    );
    // A verified address at the rival's domain does not open this tenant.
    const rivalPerson = person('rival', { email: `joe@${shared}`, email_verified: true });
    expectNotMember(await me(rivalPerson, org.slug), org.slug);

    // The platform admin may give the tenant any domain.
    const byPlatform = await call<DomainBody>(
      server,
      'POST',
      `/api/setup/tenant/${org.id}/domains`,
      {
        token: platformAdmin,
        body: { domain: other },
      },
    );
    expect(expectStatus(byPlatform, 201).domain).toBe(other);
    const listed = expectStatus(await as<DomainList>(org.admin, 'GET', '/api/tenant/domains'), 200);
    expect(listed.items.map((d) => d.domain).sort()).toEqual([acme, other].sort());
    await admitted(person('other', { email: `kim@${other}`, email_verified: true }), org.slug, {
      role: 'member',
      source: 'domain',
    });

    // Removing a domain closes it to newcomers; who joined through it stays.
    expect((await as(org.admin, 'DELETE', `/api/tenant/domains/${acme}`)).status).toBe(204);
    const late = person('late', { email: `lou@${acme}`, email_verified: true });
    expectNotMember(await me(late, org.slug), org.slug);
    expect(await usersWithSubject(org.id, late.subject)).toBe(0);
    expect((await admitted(joined, org.slug, { role: 'member', source: 'domain' })).id).toBe(
      joined.id,
    );
    expectError(
      await as(org.admin, 'DELETE', `/api/tenant/domains/${acme}`),
      404,
      'Not Found',
      'domain_not_found',
      "This domain is not one of this organization's domains.",
    );
    const remaining = expectStatus(
      await as<DomainList>(org.admin, 'GET', '/api/tenant/domains'),
      200,
    );
    expect(remaining.items.map((d) => d.domain)).toEqual([other]);
  });

  // ---- 8. setup routes ----------------------------------------------------------------------------

  it('the platform admin lists, promotes and removes members of any tenant; others get 403', async () => {
    const tenant = await createTenant(db.owner, uniqueMarker('setup'));
    const staff = `staff-${uniqueMarker('d')}.test`;
    const base = `/api/setup/tenant/${tenant.id}`;
    const asPlatform = <T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
    ) => call<T>(server, method, `${base}${path}`, { token: platformAdmin, body });

    expectStatus(await asPlatform('POST', '/domains', { domain: staff }), 201);
    // A tenant whose members all joined through its domain: nobody is admin.
    const first = await admitted(
      person('setup-first', { email: `first@${staff}`, email_verified: true }),
      tenant.slug,
      { role: 'member', source: 'domain' },
    );
    const second = await admitted(
      person('setup-second', { email: `second@${staff}`, email_verified: true }),
      tenant.slug,
      { role: 'member', source: 'domain' },
    );
    expect(await activeAdmins(tenant.id)).toEqual([]);
    expectError(
      await as(first, 'GET', '/api/tenant/members'),
      403,
      'Forbidden',
      'tenant_admin_required',
      NOT_ADMIN,
    );

    const listed = expectStatus(await asPlatform<MemberPage>('GET', '/members'), 200);
    expect(listed.items.map((m) => [m.user_id, m.tenant_role, m.membership_source])).toEqual([
      [first.id, 'member', 'domain'],
      [second.id, 'member', 'domain'],
    ]);

    const promoted = await asPlatform<MemberBody>('PATCH', `/members/${first.id}`, {
      role: 'admin',
    });
    expect(expectStatus(promoted, 200)).toMatchObject({ user_id: first.id, tenant_role: 'admin' });
    expectStatus(await as<MemberPage>(first, 'GET', '/api/tenant/members'), 200);

    // Removed by the platform admin: their boards pass to the tenant's longest-standing admin.
    const board = await createBoard(second);
    expect((await asPlatform('DELETE', `/members/${second.id}`)).status).toBe(204);
    expectNotMember(await as(second, 'GET', '/api/auth/me'), tenant.slug);
    expect((await boardOwner(first, board)).owner_id).toBe(first.id);
    expect(await membershipRow(tenant.id, second.id)).toEqual({
      tenant_role: 'member',
      membership_source: 'removed',
    });
    expectError(
      await asPlatform('DELETE', `/members/${UNKNOWN_ID}`),
      404,
      'Not Found',
      'tenant_member_not_found',
      NO_MEMBER,
    );
    expectError(
      await asPlatform('PATCH', `/members/${first.id}`, { role: 'member' }),
      409,
      'Conflict',
      'last_admin',
      LAST_ADMIN,
    );

    // A tenant admin is no platform admin.
    const refused: [string, string, unknown?][] = [
      ['GET', '/members'],
      ['PATCH', `/members/${first.id}`, { role: 'member' }],
      ['DELETE', `/members/${first.id}`],
      ['POST', '/invitations', { email: 'x@partner.example' }],
      ['POST', '/domains', { domain: `x-${staff}` }],
    ];
    for (const [method, path, body] of refused) {
      const reply = await call(server, method, `${base}${path}`, { token: first.token, body });
      expectError(reply, 403, 'Forbidden', 'platform_admin_required', NOT_PLATFORM_ADMIN);
    }
    expect(await activeAdmins(tenant.id)).toEqual([first.id]);

    const unknown = `/api/setup/tenant/${UNKNOWN_ID}`;
    for (const [method, path, body] of [
      ['GET', '/members'],
      ['PATCH', `/members/${first.id}`, { role: 'member' }],
      ['DELETE', `/members/${first.id}`],
      ['GET', '/domains'],
    ] as [string, string, unknown?][]) {
      const reply = await call(server, method, `${unknown}${path}`, { token: platformAdmin, body });
      expectError(reply, 404, 'Not Found', 'tenant_not_found', 'Tenant not found.');
    }
  });

  // ---- 9. audit trail -----------------------------------------------------------------------------

  it('records role changes, removals, invitations, domains and joins in the audit trail', async () => {
    const domain = `audit-${uniqueMarker('d')}.test`;
    const org = await organization('audit', { email: `boss@${domain}`, email_verified: true });
    const promotedMember = await claimMember(org, 'audit-promoted');
    const removedMember = await claimMember(org, 'audit-removed');
    await promote(org.admin, promotedMember);
    expect((await as(org.admin, 'DELETE', `/api/tenant/members/${removedMember.id}`)).status).toBe(
      204,
    );
    const invitation = await invite(org.admin, { email: 'audit@partner.example', role: 'admin' });
    expectStatus(await as(org.admin, 'POST', '/api/tenant/domains', { domain }), 201);
    const invitee = await admitted(
      person('audit-invitee', { email: 'audit@partner.example', email_verified: true }),
      org.slug,
      { role: 'admin', source: 'invitation' },
    );

    const events = async (action: string): Promise<AuditEventBody[]> =>
      expectStatus(await as<AuditPage>(org.admin, 'GET', `/api/audit-events?action=${action}`), 200)
        .items;

    expect(await events('tenant.member.role_change')).toEqual([
      expect.objectContaining({
        actor_id: org.admin.id,
        action: 'tenant.member.role_change',
        target_type: 'member',
        target_id: promotedMember.id,
        outcome: 'success',
        details: { from: 'member', to: 'admin' },
      }),
    ]);
    expect(await events('tenant.member.remove')).toEqual([
      expect.objectContaining({
        actor_id: org.admin.id,
        target_id: removedMember.id,
        details: expect.objectContaining({
          role: 'member',
          membership_source: 'claim',
          receiver: org.admin.id,
        }),
      }),
    ]);
    expect(await events('tenant.invitation.create')).toEqual([
      expect.objectContaining({
        actor_id: org.admin.id,
        target_type: 'invitation',
        target_id: invitation.id,
        details: expect.objectContaining({ email: 'audit@partner.example', role: 'admin' }),
      }),
    ]);
    expect(await events('tenant.domain.add')).toEqual([
      expect.objectContaining({ actor_id: org.admin.id, target_type: 'domain', target_id: domain }),
    ]);
    const joins = await events('tenant.member.join');
    const joinSources = joins.map((e) => [e.target_id, e.details.membership_source]);
    expect(joinSources).toEqual(
      expect.arrayContaining([
        [org.admin.id, 'claim'],
        [promotedMember.id, 'claim'],
        [removedMember.id, 'claim'],
        [invitee.id, 'invitation'],
      ]),
    );
    expect(joins).toHaveLength(4);
    expect(joins.find((e) => e.target_id === invitee.id)?.details).toMatchObject({
      role: 'admin',
      invitation_id: invitation.id,
    });

    // Unfiltered, newest first: the trail holds every one of these actions.
    const all = expectStatus(
      await as<AuditPage>(org.admin, 'GET', '/api/audit-events?limit=100'),
      200,
    );
    expect(new Set(all.items.map((e) => e.action))).toEqual(
      new Set([
        'tenant.member.join',
        'tenant.member.role_change',
        'tenant.member.remove',
        'tenant.invitation.create',
        'tenant.domain.add',
      ]),
    );
  });
});
