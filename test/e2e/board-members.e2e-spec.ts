import { randomUUID } from 'node:crypto';
import { describeWithPostgres } from 'test/support/environment';
import {
  boardsApiSuite,
  exceptRequestId,
  expectErrorBody,
  ISO,
} from 'test/support/boards-api-suite';

/**
 * Board members (DESIGN.md §3–4, docs/tenancy.md "Tenants and users"): add, change role and remove, the
 * member list with public profile fields only, and users of another tenant answered like users
 * that do not exist.
 */

describeWithPostgres('boards API: members', () => {
  const suite = boardsApiSuite();
  const { api, tokens, ids, people, boardOf, listAll } = suite;

  it('lists members and owner with public profile fields only: no e-mail, no auth subject', async () => {
    const board = await boardOf(tokens.alice, { title: 'Profiles', is_public: true });
    for (const [name, role] of [
      ['bob', 'editor'],
      ['carol', 'viewer'],
    ] as const) {
      const added = await api<{
        user_id: string;
        role: string;
        user: object;
        invited_by: string;
        joined_at: string;
      }>({
        method: 'POST',
        path: `/api/boards/${board.id}/members`,
        token: tokens.alice,
        body: { user_id: ids[name], role },
      });
      expect(added.status).toBe(201);
      expect(added.body).toEqual({
        user_id: ids[name],
        role,
        user: { id: ids[name], display_name: people[name].name, avatar_url: null },
        invited_by: ids.alice,
        joined_at: expect.stringMatching(ISO),
      });
    }
    // As a member, and as a non-member of the public board (the tenant admin).
    for (const token of [tokens.carol, tokens.admin]) {
      const members = await api<{ items: { user: object }[]; owner: object }>({
        method: 'GET',
        path: `/api/boards/${board.id}/members`,
        token,
      });
      expect(members.status).toBe(200);
      expect(members.body.owner).toEqual({
        id: ids.alice,
        display_name: 'Alice Api',
        avatar_url: null,
      });
      expect(members.body.items.map((m) => Object.keys(m.user).sort())).toEqual([
        ['avatar_url', 'display_name', 'id'],
        ['avatar_url', 'display_name', 'id'],
      ]);
      for (const secret of [
        'email',
        'auth_subject',
        'subject',
        '@api.test',
        'api-alice',
        'api-bob',
        'api-carol',
      ]) {
        expect(members.text).not.toContain(secret);
      }
      const read = await api({ method: 'GET', path: `/api/boards/${board.id}`, token });
      for (const secret of ['email', 'auth_subject', '@api.test', 'api-alice'])
        expect(read.text).not.toContain(secret);
    }
  });

  it('adding a user of another tenant is 404 exactly like a user that does not exist', async () => {
    const board = await boardOf(tokens.alice, { title: 'No strangers' });
    const path = `/api/boards/${board.id}/members`;
    const foreign = await api({
      method: 'POST',
      path,
      token: tokens.alice,
      body: { user_id: suite.strangerId },
    });
    const missing = await api({
      method: 'POST',
      path,
      token: tokens.alice,
      body: { user_id: randomUUID() },
    });
    expectErrorBody(foreign, 404, 'user_not_found');
    expect(exceptRequestId(foreign)).toEqual(exceptRequestId(missing));
    expect(await listAll(tokens.alice, path)).toEqual([]);
  });

  it('add, change role, remove; adding twice is 409, the owner cannot be added, unknown member is 404', async () => {
    const board = await boardOf(tokens.alice, { title: 'Roster' });
    const path = `/api/boards/${board.id}/members`;
    expect(
      (await api({ method: 'POST', path, token: tokens.alice, body: { user_id: ids.bob } })).body,
    ).toMatchObject({
      role: 'viewer',
    });
    expectErrorBody(
      await api({ method: 'POST', path, token: tokens.alice, body: { user_id: ids.bob } }),
      409,
      'already_a_member',
    );
    expectErrorBody(
      await api({ method: 'POST', path, token: tokens.alice, body: { user_id: ids.alice } }),
      400,
      'owner_cannot_be_member',
    );
    const changed = await api({
      method: 'PATCH',
      path: `${path}/${ids.bob}`,
      token: tokens.alice,
      body: { role: 'admin' },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ user_id: ids.bob, role: 'admin' });
    expectErrorBody(
      await api({
        method: 'PATCH',
        path: `${path}/${ids.bob}`,
        token: tokens.alice,
        body: { role: 'owner' },
      }),
      400,
      'validation_failed',
    );
    expectErrorBody(
      await api({
        method: 'PATCH',
        path: `${path}/${ids.carol}`,
        token: tokens.alice,
        body: { role: 'viewer' },
      }),
      404,
      'board_member_not_found',
    );
    expect(
      (await api({ method: 'DELETE', path: `${path}/${ids.bob}`, token: tokens.alice })).status,
    ).toBe(204);
    expectErrorBody(
      await api({ method: 'DELETE', path: `${path}/${ids.bob}`, token: tokens.alice }),
      404,
      'board_member_not_found',
    );
    expect(await listAll(tokens.alice, path)).toEqual([]);
  });
});
